# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection in the tools users judge it by: ansible-doc, the generated docs, ansible-galaxy, ansible-builder.

Every command runs with a hermetic environment (no inherited ANSIBLE_*/SAIL_* variables, an empty ansible.cfg,
a private ANSIBLE_HOME) so that only the collection under test can be found.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from conftest import executable
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKOUT_COLLECTIONS = REPO_ROOT / ".build" / "collections"
COMMAND_TIMEOUT_S = 600

# What the demo playbook clears: tasks pending for longer than its demo_older_than (6h).
DEMO_OLDER_THAN = timedelta(hours=6)

# ansible-core's own noise, not about this collection: `ansible-doc -t role` on 2.21 warns about its internal
# ansible._protomatter collection for any role (https://github.com/ansible/ansible/issues/85689, fixed by PR 86815).
CORE_NOISE = re.compile(r"^\[WARNING\]: Collection at '[^']*/ansible/_internal/ansible_collections/ansible/_protomatter' does not have a MANIFEST\.json")

REQUIRED_MEMBERS = (
    "MANIFEST.json",
    "FILES.json",
    "README.md",
    "meta/runtime.yml",
    "meta/ee-requirements.txt",
    "meta/execution-environment.yml",
    "plugins/modules/task_status.py",
    "plugins/modules/task_status_info.py",
    "plugins/lookup/pending_tasks.py",
    "roles/clear_stuck_tasks/meta/argument_specs.yml",
    "playbooks/demo.yml",
    "playbooks/clear_stuck_tasks_all_tenants.yml",
    "docs/plugins/index.rst",
    "meta/extensions.yml",
    "extensions/eda/plugins/event_source/task_events.py",
    "extensions/eda/rulebooks/clear_stuck_tasks.yml",
)

# (description, predicate on a member path) - none of these may reach the Galaxy tarball.
FORBIDDEN_MEMBERS = (
    ("test output", lambda parts: parts[:2] == ("tests", "output")),
    ("the emulator", lambda parts: parts[:2] == ("tests", "emulator")),
    ("a virtual environment", lambda parts: any(part.startswith(".venv") for part in parts)),
    ("the .build tree", lambda parts: ".build" in parts),
    ("benchmarks", lambda parts: parts[0] == "bench"),
    ("byte code", lambda parts: "__pycache__" in parts or parts[-1].endswith(".pyc")),
    ("tool caches", lambda parts: bool({".pytest_cache", ".ruff_cache", ".hypothesis", ".git"} & set(parts))),
    ("a nested tarball", lambda parts: parts[-1].endswith(".tar.gz")),
)

# Junk a developer's checkout really has; planted in a copy of the tree to prove build_ignore drops it.
DECOYS = (
    "tests/output/junit/python3.11-units.xml",
    ".venv/pyvenv.cfg",
    ".venv-2.21/pyvenv.cfg",
    ".build/ansible-home/galaxy_cache/api.json",
    "bench/results.json",
    "plugins/modules/__pycache__/task_status.cpython-311.pyc",
    ".pytest_cache/README.md",
    ".hypothesis/examples/x",
    "sailpoint-isc-0.9.0.tar.gz",
)


def _hermetic_env(work_dir: Path, collections_path: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("ANSIBLE_", "SAIL_")) and name != "PYTHONPATH"}
    config = work_dir / "ansible.cfg"
    if not config.exists():
        work_dir.mkdir(parents=True, exist_ok=True)
        config.write_text("[defaults]\n", encoding="utf-8")
    env.update(
        {
            "ANSIBLE_CONFIG": str(config),
            "ANSIBLE_HOME": str(work_dir / "ansible-home"),
            "ANSIBLE_COLLECTIONS_PATH": str(collections_path),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_DEPRECATION_WARNINGS": "true",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
        }
    )
    env.update(extra or {})
    return env


def _run(command: list[str], env: Mapping[str, str], cwd: Path, expect_rc: int | None = 0) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(command, env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False)
    if expect_rc is not None and completed.returncode != expect_rc:
        pytest.fail(
            f"{' '.join(command)}\nexited {completed.returncode}, expected {expect_rc}\n--- stdout ---\n{completed.stdout}\n--- stderr ---\n{completed.stderr}",
            pytrace=False,
        )
    return completed


def _ensure_checkout_link() -> None:
    link = CHECKOUT_COLLECTIONS / "ansible_collections" / "sailpoint" / "isc"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO_ROOT, target_is_directory=True)


def _build(source: Path, output_dir: Path, work_dir: Path) -> Path:
    """``ansible-galaxy collection build`` of ``source``; returns the tarball."""
    output_dir.mkdir(parents=True, exist_ok=True)
    # Collections path = an empty dir: building must not depend on what is installed.
    env = _hermetic_env(work_dir, work_dir / "no-collections")
    _run([executable("ansible-galaxy"), "collection", "build", "--output-path", str(output_dir), str(source)], env, work_dir)
    tarballs = sorted(output_dir.glob("sailpoint-isc-*.tar.gz"))
    assert len(tarballs) == 1, f"expected one sailpoint-isc tarball in {output_dir}, found {[t.name for t in tarballs]}"
    return tarballs[0]


def _members(tarball: Path) -> set[str]:
    with tarfile.open(tarball) as archive:
        return {member.name.removeprefix("./").rstrip("/") for member in archive.getmembers()}


def _forbidden(members: set[str]) -> list[str]:
    return sorted(f"{name} ({what})" for name in members for what, matches in FORBIDDEN_MEMBERS if matches(tuple(Path(name).parts)))


def _galaxy_version() -> str:
    return yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))["version"]


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Galaxy tarball built from this checkout, as CI and a release would build it."""
    work = tmp_path_factory.mktemp("build")
    return _build(REPO_ROOT, work / "dist", work)


@pytest.fixture(scope="module")
def installed(tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A collections dir (holding ansible_collections/) with the tarball installed by ansible-galaxy."""
    work = tmp_path_factory.mktemp("install")
    install_dir = work / "collections"
    # ANSIBLE_COLLECTIONS_PATH must be the install dir itself: if the checkout's symlink were visible,
    # ansible-galaxy would answer "Nothing to do ... already installed" and install nothing.
    env = _hermetic_env(work, install_dir)
    _run(
        [executable("ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "-p", str(install_dir), str(tarball)],
        env,
        work,
    )
    installed_root = install_dir / "ansible_collections" / "sailpoint" / "isc"
    assert (installed_root / "MANIFEST.json").is_file(), f"ansible-galaxy installed nothing into {install_dir}"
    assert not installed_root.is_symlink()
    return install_dir


# --- (a) ansible-doc ----------------------------------------------------------------------------------------


def _cores() -> list[pytest.param]:
    """ansible-doc of the baseline core (this venv) and of ansible-core 2.21 when hacking/sanity.sh made .venv-2.21."""
    params = [pytest.param(executable("ansible-doc"), id="core-current")]
    newer = REPO_ROOT / ".venv-2.21" / "bin" / "ansible-doc"
    params.append(
        pytest.param(
            str(newer),
            id="core-2.21",
            marks=pytest.mark.skipif(not newer.exists(), reason=f"{newer} does not exist (hacking/sanity.sh 2.21 creates it)"),
        )
    )
    return params


@pytest.mark.parametrize("ansible_doc", _cores())
@pytest.mark.parametrize(
    ("plugin_args", "fqcn"),
    [
        pytest.param(["sailpoint.isc.task_status"], "sailpoint.isc.task_status", id="module-task_status"),
        pytest.param(["sailpoint.isc.task_status_info"], "sailpoint.isc.task_status_info", id="module-task_status_info"),
        pytest.param(["-t", "lookup", "sailpoint.isc.pending_tasks"], "sailpoint.isc.pending_tasks", id="lookup-pending_tasks"),
        pytest.param(["-t", "role", "sailpoint.isc.clear_stuck_tasks"], "sailpoint.isc.clear_stuck_tasks", id="role-clear_stuck_tasks"),
    ],
)
def test_ansible_doc_renders_without_warnings(ansible_doc: str, plugin_args: list[str], fqcn: str, tmp_path: Path) -> None:
    _ensure_checkout_link()
    env = _hermetic_env(tmp_path, CHECKOUT_COLLECTIONS)

    completed = _run([ansible_doc, *plugin_args], env, tmp_path)

    problems = [
        line for line in completed.stderr.splitlines() if ("[WARNING]" in line or "[DEPRECATION" in line or "[ERROR]" in line) and not CORE_NOISE.search(line)
    ]
    assert not problems, f"ansible-doc {' '.join(plugin_args)} printed:\n" + "\n".join(problems)
    assert fqcn in completed.stdout

    as_json = _run([ansible_doc, "--json", *plugin_args], env, tmp_path)
    rendered = json.loads(as_json.stdout)[fqcn]
    if "role" in plugin_args:
        assert rendered["entry_points"]["main"]["version_added"] == "1.0.0"
        assert rendered["entry_points"]["main"]["options"], "the role's main entry point documents no options"
    else:
        assert rendered["doc"]["version_added"] == "1.0.0"
        assert rendered["doc"]["version_added_collection"] == "sailpoint.isc"
        assert rendered["examples"].strip(), "no EXAMPLES"
        assert rendered["return"], "no RETURN"


def _tested_cores() -> dict[str, Version]:
    """The ansible-core versions the test command runs: the pins of .venv, .venv-importer and .venv-2.21."""
    pin = re.compile(r"\bansible-core==([0-9][0-9.]*[0-9])")
    found = {}
    for path in ("requirements/dev.txt", "requirements/importer.txt", "hacking/sanity.sh"):
        versions = {Version(text) for text in pin.findall((REPO_ROOT / path).read_text(encoding="utf-8"))}
        assert len(versions) == 1, f"{path}: expected one ansible-core pin, found {sorted(map(str, versions))}"
        found[path] = versions.pop()
    return found


def test_requires_ansible_matches_the_tested_cores() -> None:
    """meta/runtime.yml admits every ansible-core the tests run, and starts at the oldest of them."""
    spec = SpecifierSet(yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text(encoding="utf-8"))["requires_ansible"])
    tested = _tested_cores()
    assert {path: str(version) for path, version in tested.items() if version not in spec} == {}
    oldest = min(tested.values())
    assert Version(f"{oldest.major}.{oldest.minor}.0") in spec
    assert Version(f"{oldest.major}.{oldest.minor - 1}.99") not in spec, f"{spec} admits ansible-core older than the oldest tested ({oldest})"


# --- (b) generated docs ---------------------------------------------------------------------------------------


def test_generated_docs_are_fresh() -> None:
    completed = subprocess.run(
        ["bash", str(REPO_ROOT / "hacking" / "docs.sh"), "--check"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, f"hacking/docs.sh --check failed:\n{completed.stdout}\n{completed.stderr}"
    assert "is up to date" in completed.stdout
    for page in ("index.rst", "task_status_module.rst", "task_status_info_module.rst", "pending_tasks_lookup.rst", "clear_stuck_tasks_role.rst"):
        assert (REPO_ROOT / "docs" / "plugins" / page).is_file(), f"docs/plugins/{page} missing"


# --- (c) ansible-galaxy build, install, and the demo from the installed copy -----------------------------------


def test_tarball_has_what_users_need_and_nothing_else(tarball: Path) -> None:
    members = _members(tarball)

    assert tarball.name == f"sailpoint-isc-{_galaxy_version()}.tar.gz"
    missing = [name for name in REQUIRED_MEMBERS if name not in members]
    assert not missing, f"missing from {tarball.name}: {missing}"
    assert not _forbidden(members), f"must not be in {tarball.name}: {_forbidden(members)}"


def test_build_ignore_drops_developer_junk(tmp_path: Path) -> None:
    """A copy of the tree with the junk a working checkout accumulates: none of it reaches the tarball."""
    source = tmp_path / "src" / "ansible_collections" / "sailpoint" / "isc"
    shutil.copytree(
        REPO_ROOT,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(".venv*", ".build", ".git", "__pycache__", ".*_cache", ".hypothesis", "*.tar.gz"),
    )
    for decoy in DECOYS:
        path = source / decoy
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("decoy\n", encoding="utf-8")

    members = _members(_build(source, tmp_path / "dist", tmp_path))

    assert not _forbidden(members), f"build_ignore let these through: {_forbidden(members)}"
    assert "plugins/modules/task_status.py" in members


def test_installed_copy_is_found_by_ansible(installed: Path, tmp_path: Path) -> None:
    env = _hermetic_env(tmp_path, installed)

    completed = _run([executable("ansible-galaxy"), "collection", "list", "sailpoint.isc", "--format", "yaml"], env, tmp_path)

    listed = yaml.safe_load(completed.stdout)
    assert listed == {str(installed / "ansible_collections"): {"sailpoint.isc": {"version": _galaxy_version()}}}


def test_event_source_loads_from_installed_copy(installed: Path, tmp_path: Path) -> None:
    """ansible-rulebook runs a source by path (runpy): the installed copy must find its own module_utils that way."""
    source = installed / "ansible_collections" / "sailpoint" / "isc" / "extensions" / "eda" / "plugins" / "event_source" / "task_events.py"
    code = "import runpy, sys; module = runpy.run_path(sys.argv[1]); print(module['IscClient'].__module__, callable(module['main']))"
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    completed = _run([sys.executable, "-c", code, str(source)], env, tmp_path)
    assert completed.stdout.split() == ["ansible_collections.sailpoint.isc.plugins.module_utils._client", "True"]
    import_path = _run([sys.executable, "-c", "import runpy, sys; runpy.run_path(sys.argv[1]); print(sys.path[0])", str(source)], env, tmp_path)
    assert import_path.stdout.strip() == str(installed)


def test_demo_runs_from_installed_copy(installed: Path, emulator, run_playbook) -> None:
    emulator.reset(seed="demo")
    now = emulator.tenant.now()
    before = emulator.tenant.tasks()
    pending = {task["id"]: task for task in before if task["completionStatus"] is None and not task["_expired"]}
    stuck = {task_id for task_id, task in pending.items() if now - _timestamp(task["created"]) > DEMO_OLDER_THAN}
    recent = set(pending) - stuck
    assert stuck and recent, "the demo seed must have both stuck and recent pending tasks for this test to mean anything"
    demo = installed / "ansible_collections" / "sailpoint" / "isc" / "playbooks" / "demo.yml"

    run = run_playbook(demo, env={"ANSIBLE_COLLECTIONS_PATH": str(installed)})

    assert "failed" not in run.statuses(), run.output
    after = {task["id"]: task for task in emulator.tenant.tasks()}
    assert {task_id for task_id in stuck if after[task_id]["completionStatus"] is None} == set(), "stuck tasks left pending"
    assert {task_id for task_id in recent if after[task_id]["completionStatus"] is not None} == set(), "recent tasks were cleared"
    patched = {entry["path"].rsplit("/", 1)[-1] for entry in emulator.tenant.request_log() if entry["method"] == "PATCH"}
    assert patched == stuck


def _timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


# --- (d, e) execution environment -----------------------------------------------------------------------------


def test_builder_introspect_lists_exactly_the_collection_needs(installed: Path, tmp_path: Path) -> None:
    env = _hermetic_env(tmp_path, installed)

    completed = _run([executable("ansible-builder"), "introspect", "--sanitize", str(installed)], env, tmp_path)

    data = yaml.safe_load(completed.stdout)
    ours = [line for line in data["python"] if line.endswith("# from collection sailpoint.isc")]
    names = sorted(re.match(r"[A-Za-z0-9._-]+", line).group(0).lower() for line in ours)
    assert names == ["jsonpatch", "requests"], data
    assert data["python"] == ours, "introspect found Python requirements of something else"
    assert not data.get("system"), data


@pytest.mark.parametrize("name", ["execution-environment.yml", "decision-environment.yml"])
def test_builder_create_makes_a_build_context(tmp_path: Path, name: str) -> None:
    definition = REPO_ROOT / "docs" / name
    assert definition.is_file(), f"docs/{name} is missing"
    spec = yaml.safe_load(definition.read_text(encoding="utf-8"))
    context = tmp_path / "context"
    env = _hermetic_env(tmp_path, tmp_path / "no-collections")

    # No container engine is used by `create`; the file name is fixed so the result does not depend on
    # whether docker or podman happens to be installed.
    _run(
        [executable("ansible-builder"), "create", "-f", str(definition), "--context", str(context), "--output-filename", "Containerfile"],
        env,
        REPO_ROOT,
    )

    containerfile = context / "Containerfile"
    assert containerfile.is_file(), sorted(str(p.relative_to(context)) for p in context.rglob("*"))
    text = containerfile.read_text(encoding="utf-8")
    assert spec["images"]["base_image"]["name"] in text
    assert "ansible-galaxy" in text, text
    galaxy_requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text(encoding="utf-8"))
    assert "sailpoint.isc" in [entry["name"] for entry in galaxy_requirements["collections"]], galaxy_requirements
