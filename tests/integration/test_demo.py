# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""hacking/demo.sh, the README's first command, as a newcomer sees it: short, successful, with next steps."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / "hacking" / "demo.sh"
MAX_LINES = 60
TIMEOUT_S = 900


def _run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("ANSIBLE_", "SAIL_")) and name != "PYTHONPATH"}
    return subprocess.run(
        ["bash", str(DEMO), *args],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_demo_is_short_succeeds_and_ends_with_next_steps() -> None:
    run = _run_demo()
    output = run.stdout
    lines = output.splitlines()

    assert run.returncode == 0, f"hacking/demo.sh exited {run.returncode}:\n{output}"
    assert len(lines) <= MAX_LINES, f"hacking/demo.sh printed {len(lines)} lines, more than {MAX_LINES}:\n{output}"
    assert "Preview listed" in output, f"the demo playbook's closing check did not report:\n{output}"
    # Each role run (a heading from playbooks/demo.yml) shows the role's own summary lines under it.
    for heading in ("1. Preview", "2. Clear", "3. Run again"):
        index = next((i for i, line in enumerate(lines) if line.startswith(heading)), None)
        assert index is not None, f"no heading {heading!r}:\n{output}"
        assert lines[index + 1].startswith("  ") and lines[index + 1].strip(), f"no summary under {heading!r}:\n{output}"

    stopped = re.search(r"^demo: stopped the emulator \(pid (\d+)\)$", output, re.MULTILINE)
    assert stopped, f"the demo does not say it stopped the emulator:\n{output}"
    assert not _alive(int(stopped.group(1))), "the emulator is still running after the demo"

    tail = output[stopped.end() :]
    assert "Next steps" in tail and "--keep-emulator" in tail, f"no next steps after the emulator stopped:\n{output}"
    assert len(re.findall(r"^\s+ansible localhost ", tail, re.MULTILINE)) == 3, f"expected three ad hoc commands:\n{tail}"
    for variable in ("SAIL_BASE_URL=", "SAIL_CLIENT_ID=", "SAIL_CLIENT_SECRET="):
        assert variable in tail, f"the next steps do not export {variable}:\n{tail}"


def test_demo_help_is_plain_usage() -> None:
    run = _run_demo("--help")

    assert run.returncode == 0, run.stdout
    assert run.stdout.startswith("usage: bash hacking/demo.sh"), run.stdout
    assert "--keep-emulator" in run.stdout
    assert not [line for line in run.stdout.splitlines() if line.lstrip().startswith("#")], run.stdout
