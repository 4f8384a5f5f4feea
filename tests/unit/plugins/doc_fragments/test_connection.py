# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The connection doc fragment must say exactly what the one options table declares."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ansible_collections.sailpoint.isc.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.sailpoint.isc.plugins.module_utils._options import CONNECTION_OPTIONS

DESCRIPTIONS = yaml.safe_load((Path(__file__).resolve().parents[4] / "hacking" / "connection_options.yml").read_text(encoding="utf-8"))
MODULE_DOC = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
PLUGIN_DOC = yaml.safe_load(ModuleDocFragment.PLUGINS)["options"]


def test_both_fragment_parts_document_every_option_and_nothing_else():
    names = {option.name for option in CONNECTION_OPTIONS}
    assert set(MODULE_DOC) == names
    assert set(PLUGIN_DOC) == names


@pytest.mark.parametrize("option", CONNECTION_OPTIONS, ids=lambda option: option.name)
def test_fragment_matches_table(option):
    for documented in (MODULE_DOC[option.name], PLUGIN_DOC[option.name]):
        assert documented["type"] == option.type
        assert documented.get("default") == option.default
        assert tuple(documented.get("choices") or ()) == (option.choices or ())
    assert PLUGIN_DOC[option.name]["env"] == [{"name": option.env}]
    assert PLUGIN_DOC[option.name]["vars"] == [{"name": "sail_" + option.name}]
    assert f"E({option.env})" in " ".join(MODULE_DOC[option.name]["description"])
    assert DESCRIPTIONS[option.name], "every option is described in hacking/connection_options.yml"
    assert PLUGIN_DOC[option.name]["description"] == DESCRIPTIONS[option.name]
    assert MODULE_DOC[option.name]["description"][: len(DESCRIPTIONS[option.name])] == DESCRIPTIONS[option.name]
