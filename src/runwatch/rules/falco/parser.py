"""The Falco condition grammar: text in, syntax tree out, as libsinsp's filter parser reads it.

The lexical rules are Falco's own (falcosecurity/libs, userspace/libsinsp/filter/parser.cpp):
a bare string is `[^()"'[:space:]=,]+` (so `runc:[1:CHILD]` and a lone `[` are values), a field is
`name.name[...]`, word operators need a blank after them (`contains `), and `not` needs a blank
or a `(`. The grammar:

    expr   := and ('or' and)*          and := not ('and' not)*       not := ('not')* check
    check  := '(' expr ')' | operand unary-op | operand binary-op value | identifier (a macro)
    operand:= field | transformer '(' operand ')'      transformer: tolower toupper b64 basename len
    value  := number | string | val(field) | transformer(...) | '(' string, ... ')' | list name
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNARY_OPERATORS = ("exists",)
NUMERIC_OPERATORS = ("<=", "<", ">=", ">")
STRING_OPERATORS = ("==", "=", "!=", "glob ", "iglob ", "contains ", "icontains ", "bcontains ",
                    "startswith ", "bstartswith ", "endswith ", "regex ")
LIST_OPERATORS = ("intersects", "in", "pmatch")
OPERATORS = tuple(op.strip() for op in
                  (*UNARY_OPERATORS, *NUMERIC_OPERATORS, *STRING_OPERATORS, *LIST_OPERATORS))
TRANSFORMERS = ("tolower", "toupper", "b64", "basename", "len")

_BLANK = re.compile(r"[ \t\b\r\n\v\f]*")
_NOT = re.compile(r"not[ \t\b\r\n\v\f]+")
_IDENTIFIER = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*")
_FIELD = re.compile(r"[a-zA-Z]+[a-zA-Z0-9_]*(?:\.[a-zA-Z]+[a-zA-Z0-9_]*)+")
_FIELD_ARG = re.compile(r"[^\]\[\"'\s]+")
_HEX = re.compile(r"0[xX][0-9a-zA-Z]+")
_NUMBER = re.compile(r"[+\-]?[0-9]+\.?[0-9]*(?:[eE][+\-][0-9]+)?")
_BARE = re.compile(r"[^()\"'\s=,]+")
_TRANSFORMER = re.compile(r"(tolower|toupper|b64|basename|len)\(")
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'"}


class ConditionSyntaxError(Exception):
    """A condition does not follow the grammar; `position` is an offset into the text."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field, with its argument when written (`proc.aname[2]` -> 'proc.aname', '2')."""

    name: str
    arg: str | None
    position: int

    @property
    def text(self) -> str:
        return self.name if self.arg is None else f"{self.name}[{self.arg}]"


@dataclass(frozen=True, slots=True)
class Transform:
    """A transformer applied to a field or another transformer; `val` only on the right."""

    name: str
    operand: FieldRef | Transform
    position: int

    @property
    def text(self) -> str:
        return f"{self.name}({self.operand.text})"


@dataclass(frozen=True, slots=True)
class Value:
    """One literal value, unquoted and unescaped."""

    text: str
    position: int


@dataclass(frozen=True, slots=True)
class ListValue:
    """A parenthesised list of values, or a list name written without parentheses."""

    items: tuple[str, ...]
    position: int


Operand = FieldRef | Transform


@dataclass(frozen=True, slots=True)
class Check:
    """`left op right`; right is None for `exists`."""

    left: Operand
    op: str
    right: Value | ListValue | Operand | None
    position: int


@dataclass(frozen=True, slots=True)
class MacroRef:
    name: str
    position: int


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Expr


@dataclass(frozen=True, slots=True)
class Const:
    """A condition already known true or false (after folding `evt.type` for one event type)."""

    value: bool


Expr = And | Or | Not | Check | MacroRef | Const


def unescape(text: str) -> str:
    """Falco's quoted-string escapes: \\\\ \\" \\' \\b \\f \\n \\r \\t and \\xHH."""
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", text[i + 2:i + 4]):
                out.append(chr(int(text[i + 2:i + 4], 16)))
                i += 4
                continue
        out.append(char)
        i += 1
    return "".join(out)


def read_list_item(item: str) -> str:
    """A list item as the condition would read it: a quoted item is unquoted (`'"(systemd)"'`)."""
    if len(item) >= 2 and item[0] in "\"'":
        parser = _Parser(item)
        try:
            token = parser.quoted()
        except ConditionSyntaxError:
            return item
        if token is not None and parser.pos == len(item):
            return token
    return item


def parse_condition(text: str) -> Expr:
    """Parse a whole condition; raises ConditionSyntaxError with the offset of the problem."""
    if not text.strip():
        raise ConditionSyntaxError("the condition is empty", 0)
    parser = _Parser(text)
    expr = parser.parse_or()
    parser.blank()
    if parser.pos != len(text):
        rest = text[parser.pos:parser.pos + 20]
        if rest.startswith(")"):
            raise ConditionSyntaxError("unbalanced parenthesis: this ')' closes nothing",
                                       parser.pos)
        raise ConditionSyntaxError(f"unexpected {rest!r} after {parser.last!r}; expected 'and', "
                                   f"'or' or the end of the condition", parser.pos)
    return expr


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.last = ""
        self.depth = 0

    # lexing
    def blank(self) -> bool:
        match = _BLANK.match(self.text, self.pos)
        assert match is not None
        moved = match.end() > self.pos
        self.pos = match.end()
        return moved

    def word(self, token: str) -> bool:
        if self.text.startswith(token, self.pos):
            self.pos += len(token)
            self.last = token
            return True
        return False

    def regex(self, pattern: re.Pattern[str]) -> str | None:
        match = pattern.match(self.text, self.pos)
        if match is None:
            return None
        self.pos = match.end()
        self.last = match.group(0)
        return self.last

    def one_of(self, tokens: tuple[str, ...]) -> str | None:
        for token in tokens:
            if self.word(token):
                return token.strip()
        return None

    def quoted(self) -> str | None:
        if self.pos >= len(self.text) or self.text[self.pos] not in "\"'":
            return None
        delimiter, start = self.text[self.pos], self.pos
        prev, i = "\\", self.pos
        while i < len(self.text):
            char = self.text[i]
            if char == delimiter and prev != "\\" and i > start:
                self.pos = i + 1
                self.last = self.text[start:self.pos]
                return unescape(self.text[start + 1:i])
            prev = char
            i += 1
        raise ConditionSyntaxError(f"unterminated string: no closing {delimiter}", start)

    def fail(self, message: str) -> ConditionSyntaxError:
        return ConditionSyntaxError(message, self.pos)

    # grammar
    def nest(self) -> None:
        self.depth += 1
        if self.depth > 1000:
            raise self.fail("the condition nests too deeply (more than 1000 levels)")

    def parse_or(self) -> Expr:
        self.nest()
        self.blank()
        children = [self.parse_and()]
        self.blank()
        while self.word("or"):
            children.append(self.after_keyword("or", self.parse_and))
            self.blank()
        self.depth -= 1
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Expr:
        self.nest()
        self.blank()
        children = [self.parse_not()]
        self.blank()
        while self.word("and"):
            children.append(self.after_keyword("and", self.parse_not))
            self.blank()
        self.depth -= 1
        return children[0] if len(children) == 1 else And(tuple(children))

    def after_keyword(self, keyword: str, parse: object) -> Expr:
        if self.blank():
            assert callable(parse)
            result: Expr = parse()
            return result
        if self.word("("):
            return self.parse_group_rest(self.pos - 1)
        if self.pos >= len(self.text):
            raise self.fail(f"the condition ends too early after '{keyword}'")
        raise self.fail(f"expected a blank or '(' after '{keyword}'")

    def parse_not(self) -> Expr:
        self.blank()
        negate = False
        while self.regex(_NOT) is not None:
            negate = not negate
        if self.word("not("):
            negate = not negate
            child = self.parse_group_rest(self.pos - 1)
        else:
            child = self.parse_check()
        return Not(child) if negate else child

    def parse_group_rest(self, opened_at: int) -> Expr:
        self.nest()
        self.blank()
        child = self.parse_or()
        self.blank()
        if not self.word(")"):
            raise ConditionSyntaxError(
                f"unbalanced parenthesis: expected ')' to close the '(' at column "
                f"{opened_at + 1}", self.pos)
        self.depth -= 1
        return child

    def parse_check(self) -> Expr:
        self.blank()
        start = self.pos
        if self.word("("):
            return self.parse_group_rest(start)
        name = self.regex(_FIELD)
        if name is not None:
            left: Operand = self.field_rest(name, start)
            return self.parse_condition(left, start)
        transformer = self.regex(_TRANSFORMER)
        if transformer is not None:
            left = self.transformer_rest(transformer[:-1], start)
            return self.parse_condition(left, start)
        identifier = self.regex(_IDENTIFIER)
        if identifier is not None:
            return MacroRef(identifier, start)
        if self.pos >= len(self.text):
            raise self.fail(f"the condition ends too early after {self.last!r}: expected a "
                            f"field check, a macro or '('")
        raise self.fail(f"expected a field check, a macro name or '(' at "
                        f"{self.text[self.pos:self.pos + 20]!r}")

    def field_rest(self, name: str, start: int) -> FieldRef:
        if not self.word("["):
            return FieldRef(name, None, start)
        arg = self.quoted()
        if arg is None:
            arg = self.regex(_FIELD_ARG)
        if arg is None:
            raise self.fail(f"expected an argument for {name}[...]: a quoted or bare string")
        if not self.word("]"):
            raise self.fail(f"expected ']' to close the argument of {name}")
        return FieldRef(name, arg, start)

    def transformer_rest(self, name: str, start: int) -> Transform:
        self.blank()
        inner_start = self.pos
        operand: Operand | None = None
        transformer = self.regex(_TRANSFORMER)
        if transformer is not None:
            operand = self.transformer_rest(transformer[:-1], inner_start)
        else:
            field = self.regex(_FIELD)
            if field is not None:
                operand = self.field_rest(field, inner_start)
        if operand is None:
            raise self.fail(f"expected a field or a transformer inside {name}(...)")
        self.blank()
        if not self.word(")"):
            raise self.fail(f"expected ')' to close {name}(...)")
        return Transform(name, operand, start)

    def parse_condition(self, left: Operand, start: int) -> Check:
        self.blank()
        if self.one_of(UNARY_OPERATORS) is not None:
            return Check(left, "exists", None, start)
        self.blank()
        op = self.one_of(NUMERIC_OPERATORS)
        if op is not None:
            return Check(left, op, self.numeric_value(), start)
        op = self.one_of(STRING_OPERATORS)
        if op is not None:
            return Check(left, "=" if op == "==" else op, self.string_value(), start)
        op = self.one_of(LIST_OPERATORS)
        if op is not None:
            return Check(left, op, self.list_value(), start)
        found = self.text[self.pos:self.pos + 15]
        raise self.fail(f"expected an operator after {left.text}, found {found!r}; operators: "
                        f"{', '.join(OPERATORS)}" if found else
                        f"expected an operator after {left.text}, found the end of the condition")

    def transformer_or_val(self) -> Operand | None:
        self.blank()
        start = self.pos
        if self.word("val("):
            self.blank()
            field = self.regex(_FIELD)
            if field is None:
                raise self.fail("expected a field inside val(...)")
            operand = self.field_rest(field, self.pos - len(field))
            self.blank()
            if not self.word(")"):
                raise self.fail("expected ')' to close val(...)")
            return Transform("val", operand, start)
        transformer = self.regex(_TRANSFORMER)
        if transformer is not None:
            return self.transformer_rest(transformer[:-1], start)
        return None

    def numeric_value(self) -> Value | Operand:
        operand = self.transformer_or_val()
        if operand is not None:
            return operand
        start = self.pos
        number = self.regex(_HEX) or self.regex(_NUMBER)
        if number is None:
            raise self.fail(f"expected a number after {self.last!r}")
        return Value(number, start)

    def string_value(self) -> Value | Operand:
        operand = self.transformer_or_val()
        if operand is not None:
            return operand
        value = self.plain_string()
        if value is None:
            raise self.fail(f"expected a value after {self.last!r}")
        return value

    def plain_string(self) -> Value | None:
        start = self.pos
        text = self.quoted()
        if text is None:
            text = self.regex(_BARE)
        return None if text is None else Value(text, start)

    def list_value(self) -> ListValue | Operand:
        self.blank()
        start = self.pos
        if self.word("("):
            items: list[str] = []
            self.blank()
            first = self.plain_string()
            if first is not None:
                items.append(first.text)
                self.blank()
                while self.word(","):
                    self.blank()
                    value = self.plain_string()
                    if value is None:
                        raise self.fail("expected a value after ',' in the list")
                    items.append(value.text)
                    self.blank()
            if not self.word(")"):
                raise ConditionSyntaxError(
                    f"unbalanced parenthesis: expected ')' to close the list opened at column "
                    f"{start + 1}", self.pos)
            return ListValue(tuple(items), start)
        operand = self.transformer_or_val()
        if operand is not None:
            return operand
        name = self.regex(_IDENTIFIER)
        if name is not None:
            return ListValue((name,), start)
        raise self.fail("expected a list '(a, b)', a list name, or a field with a transformer")


def walk(expr: Expr) -> list[Expr]:
    """Every node of a tree, parents before children."""
    out: list[Expr] = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, (And, Or)):
            stack.extend(reversed(node.children))
        elif isinstance(node, Not):
            stack.append(node.child)
    return out
