# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The task-status calls, with no server: input checked before any request."""

from __future__ import annotations

import pytest

from ansible_collections.sailpoint.isc.plugins.module_utils._client import validate_task_id
from ansible_collections.sailpoint.isc.plugins.module_utils._errors import IscConfigError


@pytest.mark.parametrize("task_id", ["pending-tasks", "PENDING-TASKS", "", " ", "a b", "a/b", "a?b", "a#b", "a%2Fb", "a..b", ".."])
def test_ids_that_are_not_one_path_segment_are_refused(task_id):
    with pytest.raises(IscConfigError) as caught:
        validate_task_id(task_id, option="ids")
    assert caught.value.option == "ids"
