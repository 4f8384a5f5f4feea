# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Lists typed by hand: YAML lists or comma-separated text."""

from __future__ import annotations

import pytest

from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError
from ansible_collections.sailpoint.isc.plugins.plugin_utils._option_values import word_list


@pytest.mark.parametrize(("value", "words"), [(None, []), ("", []), (" a, b ,,c ", ["a", "b", "c"]), (["a ", " b"], ["a", "b"]), (("x",), ["x"])])
def test_a_list_or_comma_separated_text(value, words):
    assert word_list("types", value) == words


@pytest.mark.parametrize(("value", "problem"), [(["a", " "], "an entry of the list is empty"), ({"a": 1}, "expected a list, got dict"), (3, "got int")])
def test_what_is_not_a_list_of_words_is_refused_naming_the_option(value, problem):
    with pytest.raises(IscConfigError) as caught:
        word_list("clear_stuck_tasks_types", value)
    assert caught.value.option == "clear_stuck_tasks_types" and problem in str(caught.value)
