# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Documented examples that read ISC timestamps run as written, against every timestamp form a tenant may serve.

The examples are read from the plugins' EXAMPLES (not copied here): every play, or top-level task, whose text
parses a timestamp (``to_datetime``, ``strptime``) runs against the emulator with only ``base_url`` pointed at it.
The tenant holds the tasks the example asks about: one with no progress for 3 hours and one that started 5 hours
ago but progressed a minute ago, so the timestamp condition is true for one and false for the other.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_FILES = ("plugins/modules/task_status_info.py", "plugins/modules/task_status.py", "plugins/lookup/pending_tasks.py")
TIMESTAMP_WORDS = ("to_datetime", "strptime")
TIMESTAMP_FIELDS = ("created", "modified", "launched", "completed")
# The forms the emulator's timestamp_form setting serves (tests/emulator/README.md), and what each looks like.
FORMS = {
    "z-millis": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"),
    "offset-micros": re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00:00"),
    "z-seconds": re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"),
}
TASK_KEYS = ("block", "rescue", "always")


@dataclass(frozen=True)
class Example:
    file: str
    name: str
    play: dict[str, Any]


def _examples_text(relative: str) -> str:
    tree = ast.parse((REPO_ROOT / relative).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(target, ast.Name) and target.id == "EXAMPLES" for target in node.targets):
            return str(ast.literal_eval(node.value))
    raise AssertionError(f"{relative} has no EXAMPLES")


def _reads_timestamps(item: Any) -> bool:
    text = yaml.safe_dump(item)
    return any(word in text for word in TIMESTAMP_WORDS)


def timestamp_examples() -> list[Example]:
    """Each play (or top-level task, for EXAMPLES that are a task list) that parses timestamps, as a play to run."""
    found = []
    for relative in EXAMPLE_FILES:
        for item in yaml.safe_load(_examples_text(relative)) or []:
            if not _reads_timestamps(item):
                continue
            play = item if "hosts" in item else {"name": item.get("name", "example"), "hosts": "localhost", "gather_facts": False, "tasks": [item]}
            found.append(Example(relative, str(item.get("name", "example")), play))
    return found


EXAMPLES = timestamp_examples()


def _walk(tasks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for task in tasks or []:
        yield task
        for key in TASK_KEYS:
            yield from _walk(task.get(key) or [])


def _module_args(task: dict[str, Any]) -> dict[str, Any]:
    for key, value in task.items():
        if key.startswith("sailpoint.isc.") and isinstance(value, dict):
            return value
    return {}


def _literal(value: Any) -> str | None:
    return value if isinstance(value, str) and "{{" not in value else None


def referenced(play: dict[str, Any]) -> dict[str, str | None]:
    """The task id, source id and task type the example's module calls name literally (None where none)."""
    task_ids, source_ids, types = [], [], []
    for task in _walk(play.get("tasks", [])):
        args = _module_args(task)
        task_ids += [value for value in [_literal(args.get("id")), *map(_literal, args.get("ids") or [])] if value]
        filters = args.get("filters") if isinstance(args.get("filters"), dict) else {}
        source_ids += [value for value in [_literal(filters.get("sourceId"))] if value]
        types += [value for value in [_literal(filters.get("type"))] if value]
    return {"task_id": next(iter(task_ids), None), "source_id": next(iter(source_ids), None), "type": next(iter(types), None)}


def pointed_at(play: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The play with every module_defaults ``base_url`` (play, block or task level) replaced by the emulator's URL."""

    def repoint(item: dict[str, Any]) -> None:
        for defaults in (item.get("module_defaults") or {}).values():
            if isinstance(defaults, dict) and "base_url" in defaults:
                defaults["base_url"] = base_url

    play = yaml.safe_load(yaml.safe_dump(play))
    repoint(play)
    for task in _walk(play.get("tasks", [])):
        repoint(task)
    return play


def seed(emulator: Any, names: dict[str, str | None]) -> tuple[str, str]:
    """A pending task with no progress for 3 hours and one that progressed a minute ago: (stale id, fresh id)."""
    from isc_emulator.records import format_timestamp  # noqa: PLC0415 - the emulator is a test dependency

    tenant = emulator.tenant
    common: dict[str, Any] = {"completion_status": None, "source_id": names["source_id"]}
    if names["type"]:
        common["definition_type"] = names["type"]
    stale = tenant.add_task(task_id=names["task_id"], age_s=3 * 3600 + 60, **common)
    fresh = tenant.add_task(
        age_s=5 * 3600,
        modified=format_timestamp(tenant.now() - timedelta(minutes=1)),
        progress="In progress (40%)",
        percentComplete=40,
        **common,
    )
    return stale["id"], fresh["id"]


def test_some_example_reads_timestamps() -> None:
    """The selection below is not empty: at least the task_status_info example parses timestamps."""
    assert any(example.file.endswith("task_status_info.py") for example in EXAMPLES), [example.name for example in EXAMPLES]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: f"{Path(example.file).stem}:{example.name.replace(' ', '_')}")
def test_example_selects_only_the_stale_task(emulator: Any, run_playbook: Any, tmp_path: Path, example: Example, form: str) -> None:
    emulator.tenant.configure(timestamp_form=form)
    stale_id, fresh_id = seed(emulator, referenced(example.play))
    playbook = tmp_path / "example.yml"
    playbook.write_text(yaml.safe_dump([pointed_at(example.play, emulator.url)], sort_keys=False), encoding="utf-8")
    run = run_playbook(playbook)
    assert "failed" not in run.statuses(), run.output

    served = [task for record in run.records for task in record["result"].get("tasks") or [] if isinstance(task, dict)]
    assert {task["id"] for task in served} >= {stale_id, fresh_id}, "the example must have read both seeded tasks"
    for task in served:
        for name in TIMESTAMP_FIELDS:
            if task.get(name) is not None:
                assert FORMS[form].fullmatch(task[name]), f"{name} {task[name]!r} reached the play not in {form}"

    tasks = list(_walk(example.play["tasks"]))
    # The module's own older_than selection, where the example uses it, must agree with the template's.
    for task in tasks:
        if "older_than" in _module_args(task):
            assert [found["id"] for found in run.result(task["name"])["tasks"]] == [stale_id], task["name"]
    timestamp_tasks = [task for task in tasks if _reads_timestamps({key: value for key, value in task.items() if key not in TASK_KEYS})]
    assert timestamp_tasks
    for task in timestamp_tasks:
        if "loop" not in task:
            pytest.fail(f"{task['name']!r}: only looped timestamp conditions can be judged here; extend this test", pytrace=False)
        items = run.result(task["name"])["results"]
        assert sorted(item["item"]["id"] for item in items) == sorted([stale_id, fresh_id]), task["name"]
        assert [item["item"]["id"] for item in items if not item.get("skipped")] == [stale_id], task["name"]
