# Copyright: sailpoint.isc contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The plugins' and the role's documentation markup renders cleanly.

Ansible's markup macros end at the first ``)``, so ``C(query())`` renders as "`query(')" followed by a stray
")". Nothing else notices: ansible-doc, antsibull-docs and ansible-test all accept it. This test reads the
documentation three ways (as ansible-doc prints it, as antsibull-docs-parser parses it, and as the generated
docs/plugins/*.rst show it) and fails on literals with unbalanced brackets or quotes, empty literals, and
macros left unrendered. ``test_the_check_catches_a_broken_macro`` proves the check fails on such a sentence.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from conftest import executable

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMAND_TIMEOUT_S = 300

# ansible-doc invocations: one per plugin type, every plugin of that type at once.
DOCUMENTED = {
    "module": ["sailpoint.isc.task_status", "sailpoint.isc.task_status_info"],
    "lookup": ["sailpoint.isc.pending_tasks"],
    "role": ["sailpoint.isc.clear_stuck_tasks"],
}

# A macro the renderer did not replace: C(, O(, V(, E(, M(, I(, B(, U(, L(, P(, R(, RV( not part of a word.
LEFTOVER_MACRO = re.compile(r"(?<![A-Za-z0-9_])(?:RV|[BCEILMOPRUV])\(")
# ansible-doc's text rendering of C(), O(), V(), E(), RV(): `text'
TEXT_LITERAL = re.compile(r"`([^`']*)'")
RST_LITERAL = re.compile(r":literal:`((?:[^`\\]|\\.)*)`")
# ansible-doc prints attribute names as `check_mode:` (backquote on both sides): not markup from the docs.
ATTRIBUTE_NAME = re.compile(r"`[A-Za-z0-9_]+:`")
# A line in ansible-doc's text output that opens a section such as "EXAMPLES:" or "RETURN VALUES:".
TEXT_SECTION = re.compile(r"^[A-Z][A-Z ]+:")


def literal_problems(content: str) -> list[str]:
    """What is wrong with one rendered literal's text: empty, or a "(" never closed (the macro was cut short).

    A lone "{" or "[" is a fine literal (C({) documents a JSON string); a lone "(" is what C(f()) leaves.
    """
    problems = []
    if not content.strip():
        problems.append("empty literal")
    if content.count("(") > content.count(")"):
        problems.append("unclosed (")
    return problems


def text_problems(text: str) -> list[str]:
    """Broken markup in ansible-doc's text output (EXAMPLES left out: it is YAML, not markup)."""
    kept, in_examples = [], False
    for line in text.splitlines():
        if TEXT_SECTION.match(line):
            in_examples = line.startswith("EXAMPLES:")
        if not in_examples:
            kept.append(line)
    body = ATTRIBUTE_NAME.sub("", "\n".join(kept))
    found = []
    for match in TEXT_LITERAL.finditer(body):
        found += [f"{problem}: `{match.group(1)}'" for problem in literal_problems(match.group(1))]
    rest = TEXT_LITERAL.sub("", body)
    found += [f"backquote without a closing quote: {_around(rest, m.start())}" for m in re.finditer("`", rest)]
    found += [f"macro left unrendered: {_around(body, m.start())}" for m in LEFTOVER_MACRO.finditer(body)]
    return found


def rst_problems(text: str) -> list[str]:
    """Broken markup in a generated RST page: literals, and macros outside code blocks."""
    found = []
    for match in RST_LITERAL.finditer(text):
        content = re.sub(r"\\(.)", r"\1", match.group(1))
        found += [f"{problem}: {match.group(0)}" for problem in literal_problems(content)]
    prose = []
    in_code, indent = False, 0
    for line in text.splitlines():
        if line.lstrip().startswith((".. code-block::", ".. code::")) or line.rstrip().endswith("::"):
            in_code, indent = True, len(line) - len(line.lstrip())
            continue
        if in_code and line.strip() and len(line) - len(line.lstrip()) <= indent:
            in_code = False
        if not in_code:
            prose.append(line)
    body = "\n".join(prose)
    # RST literals and links may hold anything; a macro in the prose around them is what went wrong.
    body = re.sub(r"``.*?``|:[a-z-]+:`(?:[^`\\]|\\.)*`|`[^`]*`_", "", body)
    found += [f"macro left unrendered: {_around(body, m.start())}" for m in LEFTOVER_MACRO.finditer(body)]
    return found


def parser_problems(doc: object, where: str = "") -> list[str]:
    """Parse every documentation string with antsibull-docs-parser: parse errors and broken literal parts."""
    from antsibull_docs_parser import dom
    from antsibull_docs_parser.parser import Context, parse

    literal_types = {dom.PartType.CODE, dom.PartType.OPTION_NAME, dom.PartType.OPTION_VALUE, dom.PartType.ENV_VARIABLE, dom.PartType.RETURN_VALUE}
    found = []
    for path, text in _markup_strings(doc, where):
        try:
            paragraphs = parse(text, Context(), errors="exception", strict=True)
        except ValueError as exc:
            found.append(f"{path}: {exc}")
            continue
        for part in (part for paragraph in paragraphs for part in paragraph):
            if part.type not in literal_types:
                continue
            content = getattr(part, "text", None) or getattr(part, "name", None) or getattr(part, "value", None) or ""
            found += [f"{path}: {problem} in {part.source or content!r}" for problem in literal_problems(content)]
    return found


def _markup_strings(doc: object, path: str) -> Iterator[tuple[str, str]]:
    """The strings of a documentation tree that hold markup: descriptions, short descriptions, notes, ..."""
    if isinstance(doc, Mapping):
        for key, value in doc.items():
            child = f"{path}.{key}" if path else str(key)
            if key in ("description", "short_description", "details", "notes", "requirements", "deprecated", "seealso"):
                yield from _strings(value, child)
            elif key not in ("examples", "sample", "default", "choices", "filename", "plainexamples"):
                yield from _markup_strings(value, child)
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _markup_strings(value, f"{path}[{index}]")


def _strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key in ("description", "details", "why", "alternative"):
                yield from _strings(item, f"{path}.{key}")


def _around(text: str, index: int) -> str:
    return repr(text[max(0, index - 30) : index + 40])


def _ansible_doc(collections: Path, work: Path, plugin_type: str, names: list[str], as_json: bool = False) -> str:
    work.mkdir(parents=True, exist_ok=True)
    (work / "ansible.cfg").write_text("[defaults]\n", encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("ANSIBLE_", "SAIL_")) and name != "PYTHONPATH"}
    env.update(
        {
            "ANSIBLE_CONFIG": str(work / "ansible.cfg"),
            "ANSIBLE_HOME": str(work / "ansible-home"),
            "ANSIBLE_COLLECTIONS_PATH": str(collections),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
        }
    )
    command = [executable("ansible-doc"), "-t", plugin_type, *(["--json"] if as_json else []), *names]
    completed = subprocess.run(command, env=env, cwd=work, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False)
    assert completed.returncode == 0, f"{' '.join(command)} exited {completed.returncode}:\n{completed.stdout}\n{completed.stderr}"
    for name in names:
        assert name in completed.stdout, f"{' '.join(command)} did not document {name}:\n{completed.stdout}"
    return completed.stdout


def _checkout_collections() -> Path:
    collections = REPO_ROOT / ".build" / "collections"
    link = collections / "ansible_collections" / "sailpoint" / "isc"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO_ROOT, target_is_directory=True)
    return collections


@pytest.mark.parametrize("plugin_type", sorted(DOCUMENTED))
def test_ansible_doc_text_has_no_broken_markup(plugin_type: str, tmp_path: Path) -> None:
    text = _ansible_doc(_checkout_collections(), tmp_path, plugin_type, DOCUMENTED[plugin_type])

    assert "`" in text, "ansible-doc printed no literal at all: the check below would prove nothing"
    problems = text_problems(text)
    assert not problems, f"ansible-doc -t {plugin_type} shows broken markup:\n" + "\n".join(problems)


@pytest.mark.parametrize("plugin_type", sorted(DOCUMENTED))
def test_documentation_parses_cleanly(plugin_type: str, tmp_path: Path) -> None:
    pytest.importorskip("antsibull_docs_parser", reason="antsibull-docs-parser (requirements/dev.txt) is not installed")
    docs = json.loads(_ansible_doc(_checkout_collections(), tmp_path, plugin_type, DOCUMENTED[plugin_type], as_json=True))

    strings = len(list(_markup_strings(docs, "")))
    assert strings > 10, f"found only {strings} documentation strings in ansible-doc --json: the walk is broken"
    problems = parser_problems(docs)
    assert not problems, "antsibull-docs-parser finds broken markup:\n" + "\n".join(problems)


def test_generated_rst_has_no_broken_markup() -> None:
    pages = sorted((REPO_ROOT / "docs" / "plugins").glob("*.rst"))
    assert len(pages) >= 5, f"docs/plugins/ has {len(pages)} pages (run hacking/docs.sh)"

    problems = [f"{page.name}: {problem}" for page in pages for problem in rst_problems(page.read_text(encoding="utf-8"))]
    assert not problems, "docs/plugins/ shows broken markup (fix the plugin docs, then run hacking/docs.sh):\n" + "\n".join(problems)


def test_the_check_catches_a_broken_macro(tmp_path: Path) -> None:
    """The sentence that once shipped, put back into a copy of the lookup: every check above reports it."""
    broken = "Use C(query()) or C(wantlist=true) to always get a list; C(lookup()) alone turns a single task into a dict."
    copy = tmp_path / "collections" / "ansible_collections" / "sailpoint" / "isc"
    for part in ("plugins", "meta"):
        shutil.copytree(REPO_ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    lookup = copy / "plugins" / "lookup" / "pending_tasks.py"
    source = lookup.read_text(encoding="utf-8")
    patched = re.sub(r"^notes:\n", f"notes:\n  - {broken}\n", source, count=1, flags=re.MULTILINE)
    assert patched != source, "the lookup's DOCUMENTATION has no top-level 'notes:' to add the broken sentence to"
    lookup.write_text(patched, encoding="utf-8")
    names = DOCUMENTED["lookup"]

    text = _ansible_doc(tmp_path / "collections", tmp_path / "text", "lookup", names)
    assert "`query(')" in text, "ansible-doc no longer renders C(query()) as `query(') - update this test's example"
    assert any("`query('" in problem for problem in text_problems(text)), text_problems(text)
    assert not any("`query('" in problem for problem in text_problems(text.replace("`query(')", "`query()'")))

    if not shutil.which("antsibull-docs-parser") and not _importable("antsibull_docs_parser"):
        pytest.skip("antsibull-docs-parser is not installed: only the ansible-doc text check was proven")
    docs = json.loads(_ansible_doc(tmp_path / "collections", tmp_path / "json", "lookup", names, as_json=True))
    assert any("query(" in problem for problem in parser_problems(docs)), parser_problems(docs)


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


@pytest.mark.parametrize(
    ("rst", "expected"),
    [
        ("Use :literal:`query(`\\ ) or :literal:`wantlist=true`.", "unclosed ("),
        ("An empty :literal:`` literal.", "empty literal"),
        ("Set C(foo to bar.", "macro left unrendered"),
    ],
    ids=["unbalanced", "empty", "leftover-macro"],
)
def test_the_rst_check_catches_broken_markup(rst: str, expected: str) -> None:
    assert any(expected in problem for problem in rst_problems(rst)), rst_problems(rst)
    assert not rst_problems("Use the :literal:`query` function, or :literal:`lookup(..., wantlist=true)`.")
