"""Parsing of `/loops` text and escaping of user text (property tests)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slackbot.core.errors import InvalidInput
from slackbot.core.parse import LOOPS_SUBCOMMANDS, escape, parse_loops_command, unescape


@given(st.text())
def test_escaped_text_has_no_markup_left(text: str) -> None:
    escaped = escape(text)
    assert "<" not in escaped and ">" not in escaped
    # every & starts one of the three entities we produce
    assert re.fullmatch(r"([^&]|&amp;|&lt;|&gt;)*", escaped, flags=re.DOTALL)


@given(st.text())
def test_unescape_undoes_escape(text: str) -> None:
    assert unescape(escape(text)) == text


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("<!channel> deploy", "&lt;!channel&gt; deploy"),
        ("ping <@U123>", "ping &lt;@U123&gt;"),
        ("R&D <3", "R&amp;D &lt;3"),
    ],
)
def test_mentions_and_broadcasts_are_neutralised(typed: str, shown: str) -> None:
    assert escape(typed) == shown


@pytest.mark.parametrize("sub", [s for s in LOOPS_SUBCOMMANDS if s.name not in {"history", "show"}])
def test_every_named_subcommand_parses(sub) -> None:
    parsed = parse_loops_command(f"  {sub.name.upper()}  some argument ")
    assert parsed.subcommand is sub
    assert parsed.argument == "some argument"


@pytest.mark.parametrize("text", ["", "   ", "list"])
def test_bare_loops_is_history(text: str) -> None:
    assert parse_loops_command(text).subcommand.name == "history"


@given(st.integers(min_value=1, max_value=999_999_999), st.booleans())
def test_a_number_shows_that_loop(number: int, hashed: bool) -> None:
    parsed = parse_loops_command(("#" if hashed else "") + str(number))
    assert parsed.subcommand.name == "show" and parsed.loop_number == number


def test_unknown_word_gets_a_suggestion() -> None:
    with pytest.raises(InvalidInput, match=r"Did you mean `/loops start`\?"):
        parse_loops_command("strat")


@given(st.text(min_size=1))
def test_parser_never_crashes_and_never_echoes_markup(text: str) -> None:
    try:
        parse_loops_command(text)
    except InvalidInput as refused:
        assert "<" not in refused.user_message and ">" not in refused.user_message
        assert len(refused.user_message) < 200
