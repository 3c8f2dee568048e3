"""The condition grammar as libsinsp reads it: precedence, strings, field arguments, errors."""

from __future__ import annotations

import re

import pytest

from runwatch.rules.falco.parser import And, Check, ConditionSyntaxError, FieldRef, ListValue, \
    MacroRef, Not, Or, Transform, Value, parse_condition, read_list_item


def test_and_binds_tighter_than_or_and_not_tighter_than_and() -> None:
    tree = parse_condition("a or not b and c")
    assert tree == Or((MacroRef("a", 0), And((Not(MacroRef("b", 9)), MacroRef("c", 15)))))


def test_repeated_not_cancels_and_not_accepts_a_parenthesis() -> None:
    assert parse_condition("not not a") == MacroRef("a", 8)
    assert isinstance(parse_condition("not(a)"), Not)
    assert isinstance(parse_condition("a and(b or c)"), And)


def test_words_starting_with_keywords_are_identifiers() -> None:
    tree = parse_condition("notify and android or order")
    assert tree == Or((And((MacroRef("notify", 0), MacroRef("android", 11))),
                       MacroRef("order", 22)))


def test_bare_strings_keep_brackets_and_colons() -> None:
    check = parse_condition("proc.pname in (runc:[0:PARENT], runc:[1:CHILD], [)")
    assert isinstance(check, Check)
    assert check.right == ListValue(("runc:[0:PARENT]", "runc:[1:CHILD]", "["), 14)
    single = parse_condition("proc.name = [")
    assert isinstance(single, Check) and single.right == Value("[", 12)


def test_quoted_strings_are_unescaped() -> None:
    check = parse_condition(r'''proc.cmdline = "sh -c \"id\" 'x'"''')
    assert isinstance(check, Check) and isinstance(check.right, Value)
    assert check.right.text == "sh -c \"id\" 'x'"
    check = parse_condition(r"fd.name contains '\x41\n'")
    assert isinstance(check, Check) and isinstance(check.right, Value)
    assert check.right.text == "A\n"


def test_field_arguments_numbers_and_quoted() -> None:
    check = parse_condition("proc.aname[2]=sshd")
    assert isinstance(check, Check) and check.left == FieldRef("proc.aname", "2", 0)
    check = parse_condition("container.label['my label'] = x")
    assert isinstance(check, Check) and check.left == FieldRef("container.label", "my label", 0)
    check = parse_condition("container.mount.dest[/proc*] exists")
    assert isinstance(check, Check) and check.left == FieldRef("container.mount.dest", "/proc*", 0)


def test_word_operators_need_a_blank_but_symbols_do_not() -> None:
    check = parse_condition("fd.typechar='f'")
    assert isinstance(check, Check) and check.op == "=" and check.right == Value("f", 12)
    check = parse_condition("fd.num>=0")
    assert isinstance(check, Check) and check.op == ">=" and check.right == Value("0", 8)
    check = parse_condition("evt.type in(open,openat)")
    assert isinstance(check, Check) and check.right == ListValue(("open", "openat"), 11)
    with pytest.raises(ConditionSyntaxError):
        parse_condition("proc.name contains\"x\"")


def test_transformers_on_the_left_and_val_on_the_right() -> None:
    check = parse_condition("tolower(basename(proc.exepath)) = val(proc.name)")
    assert isinstance(check, Check)
    assert check.left == Transform("tolower", Transform("basename",
                                   FieldRef("proc.exepath", None, 17), 8), 0)
    assert check.right == Transform("val", FieldRef("proc.name", None, 38), 34)
    with pytest.raises(ConditionSyntaxError, match="unexpected"):
        parse_condition("val(proc.name) = x")


def test_a_list_name_may_follow_in_without_parentheses() -> None:
    check = parse_condition("proc.name in shell_binaries")
    assert isinstance(check, Check) and check.right == ListValue(("shell_binaries",), 13)


def test_numeric_operators_take_numbers_only() -> None:
    check = parse_condition("proc.duration <= 5e+9")
    assert isinstance(check, Check) and check.right == Value("5e+9", 17)
    check = parse_condition("user.uid < 0x10")
    assert isinstance(check, Check) and check.right == Value("0x10", 11)
    with pytest.raises(ConditionSyntaxError, match="expected a number"):
        parse_condition("user.uid < ten")


@pytest.mark.parametrize(("text", "message", "position"), [
    ("", "the condition is empty", 0),
    ("(a and b", "expected ')' to close the '(' at column 1", 8),
    ("a and b)", "this ')' closes nothing", 7),
    ("proc.name in (a, b", "expected ')' to close the list", 18),
    ("proc.name = 'open", "unterminated string", 12),
    ("a and", "the condition ends too early", 5),
    ("a b", "unexpected 'b' after 'a'", 2),
    ("proc.name", "found the end of the condition", 9),
])
def test_syntax_errors_say_what_and_where(text: str, message: str, position: int) -> None:
    with pytest.raises(ConditionSyntaxError, match=re.escape(message)) as info:
        parse_condition(text)
    assert info.value.position == position


def test_list_items_in_quotes_are_read_as_the_condition_would() -> None:
    assert read_list_item('"(systemd)"') == "(systemd)"
    assert read_list_item('"sh -c node -e \\"x\\""') == 'sh -c node -e "x"'
    assert read_list_item("plain") == "plain"
    assert read_list_item('"unterminated') == '"unterminated'
