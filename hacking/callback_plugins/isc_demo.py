# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# Used by hacking/demo.sh only (not shipped in the collection tarball).

"""A short stdout for the demo: what the playbook says, not every task it runs.

hacking/demo.sh enables it with ANSIBLE_CALLBACK_PLUGINS=<this directory> and ANSIBLE_STDOUT_CALLBACK=isc_demo.
It is the default callback with the ok, skipped and changed lines of each task left out. What still shows:

- the play banner and the recap;
- a heading for each task of the playbook that includes a role or prints a message;
- the messages of debug tasks (in roles too), and of the playbook's own assert tasks;
- every warning, deprecation, failure and unreachable host, with its task banner, as the default callback shows them.
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.callback.default import CallbackModule as DefaultCallback

DOCUMENTATION = r"""
name: isc_demo
type: stdout
short_description: The default callback without the ok, skipped and changed lines (sailpoint.isc demo)
description:
  - Used by hacking/demo.sh of the sailpoint.isc collection.
extends_documentation_fragment:
  - default_callback
  - result_format_callback
"""

DEBUG_ACTIONS = frozenset({"debug", "ansible.builtin.debug", "ansible.legacy.debug"})
ASSERT_ACTIONS = frozenset({"assert", "ansible.builtin.assert", "ansible.legacy.assert"})
INCLUDE_ROLE_ACTIONS = frozenset({"include_role", "ansible.builtin.include_role", "ansible.legacy.include_role"})


class CallbackModule(DefaultCallback):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "isc_demo"

    def set_options(self, task_keys: Any = None, var_options: Any = None, direct: Any = None) -> None:
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        # With both off, the default callback prints a task's banner only before something it shows.
        self.set_option("display_ok_hosts", False)
        self.set_option("display_skipped_hosts", False)

    def v2_playbook_on_task_start(self, task: Any, is_conditional: Any) -> None:
        super().v2_playbook_on_task_start(task, is_conditional)
        if task.action in INCLUDE_ROLE_ACTIONS and task._role is None:
            self._heading(task)

    def _heading(self, task: Any) -> None:
        self._display.display("")
        self._display.display(task.get_name().strip())

    def v2_playbook_on_include(self, included_file: Any) -> None:
        pass

    def v2_runner_on_ok(self, result: Any) -> None:
        self._handle_warnings_and_exception(result)
        action = result.task.action
        message = result.result.get("msg")
        if message is None:
            return
        in_playbook = result.task._role is None
        if action in DEBUG_ACTIONS or (action in ASSERT_ACTIONS and in_playbook):
            if in_playbook:
                self._heading(result.task)
            lines = message if isinstance(message, list) else str(message).splitlines()
            for line in lines:
                self._display.display(f"  {line}")

    def v2_runner_item_on_ok(self, result: Any) -> None:
        self._handle_warnings_and_exception(result)

    def v2_runner_item_on_skipped(self, result: Any) -> None:
        self._handle_warnings_and_exception(result)

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._handle_warnings_and_exception(result)
