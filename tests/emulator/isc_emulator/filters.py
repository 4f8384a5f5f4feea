"""The ISC collection `filters` grammar: tokenizer, parser, per-version validation and evaluation.

Grammar (sailpoint-task-api.md section 2; `not` binds tighter than `and`, which binds tighter than `or`):

    expr  := or_e ;  or_e := and_e ("or" and_e)* ;  and_e := unary ("and" unary)*
    unary := "not" unary | "(" expr ")" | cmp
    cmp   := field op value | field ("in"|"ca") list | "pr" field | field "isnull"
    op    := eq|ne|gt|ge|lt|le|co|sw ;  list := "(" value ("," value)* ")"
    value := "quoted string" | number | true | false | datetime

Operators are lower case only. The whole grammar parses; which field/operator pairs a version accepts is
checked separately (`validate`), so an unsupported pair gets a message naming it rather than a syntax error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from .versions import COMPLETION_STATUSES, TASK_DEFINITION_TYPES, ApiVersion

VALUE_OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le", "co", "sw")
LIST_OPERATORS = ("in", "ca")
ALL_OPERATORS = (*VALUE_OPERATORS, *LIST_OPERATORS, "pr", "isnull")
KEYWORDS = frozenset({"and", "or", "not", *ALL_OPERATORS})

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")
_NUMBER = re.compile(r"-?\d+(\.\d+)?\Z")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})\Z")
_BARE_STOP = frozenset(' \t\r\n(),"')

FilterValue = str | int | float | bool | datetime


class FilterError(ValueError):
    """A filter that cannot be parsed, or that this API version does not support (answered with 400)."""


@dataclass(frozen=True)
class Comparison:
    field: str
    operator: str
    values: tuple[FilterValue, ...] = ()


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


Node = Comparison | Not | And | Or


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", ",", "string", "number", "bool", "datetime", "word", "end"
    text: str
    position: int
    value: FilterValue | None = None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    length = len(text)
    while index < length:
        char = text[index]
        if char.isspace():
            index += 1
        elif char in "(),":
            tokens.append(_Token(char, char, index))
            index += 1
        elif char == '"':
            start = index
            index += 1
            chars: list[str] = []
            while True:
                if index >= length:
                    raise FilterError(f"Invalid filter: unterminated string starting at position {start}")
                char = text[index]
                if char == "\\":
                    if index + 1 >= length:
                        raise FilterError(f"Invalid filter: dangling backslash at position {index}")
                    chars.append(text[index + 1])
                    index += 2
                elif char == '"':
                    index += 1
                    break
                else:
                    chars.append(char)
                    index += 1
            tokens.append(_Token("string", text[start:index], start, "".join(chars)))
        else:
            start = index
            while index < length and text[index] not in _BARE_STOP:
                index += 1
            word = text[start:index]
            tokens.append(_classify_bare(word, start))
    tokens.append(_Token("end", "", length))
    return tokens


def _classify_bare(word: str, position: int) -> _Token:
    if word in ("true", "false"):
        return _Token("bool", word, position, word == "true")
    if _NUMBER.match(word):
        return _Token("number", word, position, float(word) if "." in word else int(word))
    if _DATETIME.match(word):
        try:
            moment = datetime.fromisoformat(word.replace("Z", "+00:00"))
        except ValueError as exc:
            raise FilterError(f"Invalid filter: bad date-time {word!r} at position {position}") from exc
        return _Token("datetime", word, position, moment)
    if _IDENTIFIER.match(word):
        return _Token("word", word, position)
    raise FilterError(f"Invalid filter: unexpected {word!r} at position {position}")


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def _advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _is_word(self, word: str) -> bool:
        return self.current.kind == "word" and self.current.text == word

    def _fail(self, expected: str) -> FilterError:
        token = self.current
        found = "end of filter" if token.kind == "end" else repr(token.text)
        return FilterError(f"Invalid filter: expected {expected} at position {token.position}, found {found}")

    def parse(self) -> Node:
        if self.current.kind == "end":
            raise FilterError("Invalid filter: the filter is empty")
        node = self._or()
        if self.current.kind != "end":
            raise self._fail("'and', 'or' or end of filter")
        return node

    def _or(self) -> Node:
        operands = [self._and()]
        while self._is_word("or"):
            self._advance()
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def _and(self) -> Node:
        operands = [self._unary()]
        while self._is_word("and"):
            self._advance()
            operands.append(self._unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def _unary(self) -> Node:
        if self._is_word("not"):
            self._advance()
            return Not(self._unary())
        if self.current.kind == "(":
            self._advance()
            node = self._or()
            if self.current.kind != ")":
                raise self._fail("')'")
            self._advance()
            return node
        return self._comparison()

    def _field(self) -> str:
        token = self.current
        if token.kind != "word" or token.text in KEYWORDS:
            raise self._fail("a field name")
        self._advance()
        return token.text

    def _comparison(self) -> Node:
        if self._is_word("pr"):
            self._advance()
            return Comparison(self._field(), "pr")
        field_name = self._field()
        token = self.current
        if token.kind != "word":
            raise self._fail("an operator")
        operator = token.text
        if operator not in ALL_OPERATORS or operator == "pr":
            hint = " (operators are lower case)" if operator.lower() in ALL_OPERATORS else ""
            raise FilterError(f"Invalid filter: unknown operator {operator!r} at position {token.position}{hint}; operators: {', '.join(ALL_OPERATORS)}")
        self._advance()
        if operator == "isnull":
            return Comparison(field_name, operator)
        if operator in LIST_OPERATORS:
            return Comparison(field_name, operator, self._value_list())
        return Comparison(field_name, operator, (self._value(),))

    def _value(self) -> FilterValue:
        token = self.current
        if token.kind not in ("string", "number", "bool", "datetime"):
            raise self._fail("a value (a quoted string, number, true, false or date-time)")
        self._advance()
        assert token.value is not None
        return token.value

    def _value_list(self) -> tuple[FilterValue, ...]:
        if self.current.kind != "(":
            raise self._fail("'(' starting a list of values")
        self._advance()
        values = [self._value()]
        while self.current.kind == ",":
            self._advance()
            values.append(self._value())
        if self.current.kind != ")":
            raise self._fail("',' or ')'")
        self._advance()
        return tuple(values)


def parse(text: str) -> Node:
    """Parse a filter expression; raise FilterError (with the position) when it is not valid syntax."""
    return _Parser(text).parse()


def comparisons(node: Node) -> list[Comparison]:
    if isinstance(node, Comparison):
        return [node]
    if isinstance(node, Not):
        return comparisons(node.operand)
    return [found for operand in node.operands for found in comparisons(operand)]


_ENUMERATED_FIELDS: dict[str, tuple[str, ...]] = {
    "completionStatus": COMPLETION_STATUSES,
    "type": TASK_DEFINITION_TYPES,
}


def validate(node: Node, version: ApiVersion) -> None:
    """Refuse field/operator pairs and values that `version` does not support."""
    for comparison in comparisons(node):
        allowed_operators = version.filter_fields.get(comparison.field)
        if allowed_operators is None:
            raise FilterError(
                f"Filtering on field {comparison.field!r} is not supported by {version.name}; supported fields: {', '.join(version.filter_fields)}"
            )
        if comparison.operator not in allowed_operators:
            supported = ", ".join(op for op in ("eq", "in", "isnull") if op in allowed_operators)
            raise FilterError(
                f"Operator {comparison.operator!r} is not supported for field {comparison.field!r} in {version.name}; supported operators: {supported}"
            )
        for value in comparison.values:
            if not isinstance(value, str):
                raise FilterError(f"Field {comparison.field!r} takes quoted string values, got {value!r}")
            known = _ENUMERATED_FIELDS.get(comparison.field)
            if known is not None and value.upper() not in known:
                raise FilterError(f"Error converting Enumerated string ({comparison.field}) value ({value}); possible values: {', '.join(known)}")


Record = TypeVar("Record")
Predicate = Callable[[Record], bool]


def compile_filter(node: Node, getters: Mapping[str, Callable[[Record], str | None]]) -> Callable[[Record], bool]:
    """Turn a validated filter into a predicate; strings compare case-insensitively."""
    if isinstance(node, And):
        parts = [compile_filter(operand, getters) for operand in node.operands]
        return lambda record: all(part(record) for part in parts)
    if isinstance(node, Or):
        parts = [compile_filter(operand, getters) for operand in node.operands]
        return lambda record: any(part(record) for part in parts)
    if isinstance(node, Not):
        inner = compile_filter(node.operand, getters)
        return lambda record: not inner(record)
    getter = getters[node.field]
    if node.operator == "isnull":
        return lambda record: getter(record) is None
    wanted = frozenset(str(value).casefold() for value in node.values)
    if node.operator in ("eq", "in"):

        def matches(record: Record) -> bool:
            actual = getter(record)
            return actual is not None and actual.casefold() in wanted

        return matches
    raise FilterError(f"Operator {node.operator!r} cannot be evaluated")


def quote(value: str) -> str:
    """A filter string literal for `value`, escaping backslashes and double quotes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _render_value(value: FilterValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def render(node: Node) -> str:
    """Serialise a filter tree, with parentheses around every compound operand (parses back to an equal tree)."""
    if isinstance(node, And | Or):
        joiner = " and " if isinstance(node, And) else " or "
        return joiner.join(_render_operand(operand) for operand in node.operands)
    if isinstance(node, Not):
        return "not " + _render_operand(node.operand)
    if node.operator == "pr":
        return f"pr {node.field}"
    if node.operator == "isnull":
        return f"{node.field} isnull"
    if node.operator in LIST_OPERATORS:
        return f"{node.field} {node.operator} ({', '.join(_render_value(v) for v in node.values)})"
    return f"{node.field} {node.operator} {_render_value(node.values[0])}"


def _render_operand(node: Node) -> str:
    return render(node) if isinstance(node, Comparison) else f"({render(node)})"
