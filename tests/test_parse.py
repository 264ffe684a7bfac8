"""Parsing of `/loops` text and escaping of user text (property tests)."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from slackbot.core.parse import (
    LOOPS_SUBCOMMANDS,
    Answer,
    ChannelRef,
    escape,
    parse_answer,
    parse_channel,
    parse_loops_command,
    unescape,
)


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


def test_unknown_word_gets_the_help_with_a_suggestion() -> None:
    parsed = parse_loops_command("strat")
    assert parsed.subcommand.name == "help"
    assert parsed.not_understood is not None
    assert "I didn't understand `/loops strat`" in parsed.not_understood
    assert "Did you mean `/loops start`?" in parsed.not_understood
    assert parse_loops_command("help").not_understood is None


@given(st.text(min_size=1))
def test_parser_never_crashes_and_never_echoes_markup(text: str) -> None:
    parsed = parse_loops_command(text)
    if parsed.not_understood is not None:
        assert "<" not in parsed.not_understood and ">" not in parsed.not_understood
        assert len(parsed.not_understood) < 200


# Thread replies to the morning prompt: what's broken, `for: …` for whom, the rest evidence.


@pytest.mark.parametrize(
    ("typed", "what", "for_whom", "evidence"),
    [
        (
            "Checkout times out on slow networks — for: mobile shoppers",
            "Checkout times out on slow networks",
            "mobile shoppers",
            None,
        ),
        ("Checkout times out—for: mobile shoppers", "Checkout times out", "mobile shoppers", None),
        ("Checkout times out – for: mobile shoppers", "Checkout times out", "mobile shoppers", None),
        ("Search is slow (for whom: everyone)", "Search is slow", "everyone", None),
        ("Search is slow [for: everyone]", "Search is slow", "everyone", None),
        ("Search is slow {for: everyone}", "Search is slow", "everyone", None),
        ("Search is slow ([for: everyone]).", "Search is slow", "everyone", None),
        ("Search is slow (for: everyone", "Search is slow", "everyone", None),
        ("Login broken, for: admins", "Login broken", "admins", None),
        ("Login broken - for whom: admins.", "Login broken", "admins", None),
        ("Login broken; for: admins", "Login broken", "admins", None),
        ("Login broken: For Whom : admins", "Login broken", "admins", None),
        ("Login broken / for: admins", "Login broken", "admins", None),
        ("Login broken | for: admins", "Login broken", "admins", None),
        ("Login broken... for: admins", "Login broken", "admins", None),
        ("for: admins", "", "admins", None),
        ("(for: admins)", "", "admins", None),
        ("FOR WHOM: admins", "", "admins", None),
        ("Login broken for:", "Login broken", None, None),
        ("Payments fail (on iOS 17) for: EU users", "Payments fail (on iOS 17)", "EU users", None),
        (
            "Exports time out for: finance (monthly close)",
            "Exports time out",
            "finance (monthly close)",
            None,
        ),
        (
            "Exports time out (for: finance (monthly close))",
            "Exports time out",
            "finance (monthly close)",
            None,
        ),
        (
            "Exports time out\nfor: finance\nthe 504s start at 9am",
            "Exports time out",
            "finance",
            "the 504s start at 9am",
        ),
        (
            "Exports time out\nthe 504s start at 9am\n— for: finance",
            "Exports time out",
            "finance",
            "the 504s start at 9am",
        ),
        (
            "Exports time out\nthe 504s start at 9am, for: finance\nsince Monday",
            "Exports time out",
            "finance",
            "the 504s start at 9am\nsince Monday",
        ),
        ("Sign-up e-mails bounce — for: new users", "Sign-up e-mails bounce", "new users", None),
        ("Deploys &lt;v2&gt; fail — for: ops &amp; SRE", "Deploys <v2> fail", "ops & SRE", None),
        (
            "Deploys are stuck :scream: — for: everyone :fire:",
            "Deploys are stuck :scream:",
            "everyone :fire:",
            None,
        ),
        ("Deploys are stuck 😱 — for: everyone 🔥", "Deploys are stuck 😱", "everyone 🔥", None),
        ("Waiting for approvals, for: reviewers", "Waiting for approvals", "reviewers", None),
        # a bracketed for whom may come first, or sit in the middle of what
        ("[for: web] — Search is slow", "Search is slow", "web", None),
        ("Search is slow (for: everyone), since Monday.", "Search is slow since Monday", "everyone", None),
        ("(for: CLI users) -v is ignored", "-v is ignored", "CLI users", None),
        # no `for:` at all: nothing is trimmed
        ("Login is broken —\n  since the upgrade  ", "Login is broken —", None, "since the upgrade"),
        ("", "", None, None),
    ],
)
def test_answer_examples(typed: str, what: str, for_whom: str | None, evidence: str | None) -> None:
    assert parse_answer(typed) == Answer(what=what, for_whom=for_whom, evidence=evidence)


_OPENING = {"(": ")", "[": "]", "{": "}"}
# What people type between parts; the test's own list, not the parser's.
_SEPARATOR_CHARS = set("-‐‑‒–—―−.…,;:/\\|")
_LABEL = re.compile(r"(?i)\bfor(?:\s+whom)?\s*:")
_EMOJI_END = re.compile(r":[\w+'-]+:$")
_EMOJI_START = re.compile(r"^:[\w+'-]+:")


def _words(text: str) -> list[str]:
    return [word.lower() for word in re.findall(r"[^\W_]+", text)]


def _balanced(text: str) -> bool:
    expected: list[str] = []
    for char in text:
        if char in _OPENING:
            expected.append(_OPENING[char])
        elif char in _OPENING.values() and (not expected or expected.pop() != char):
            return False
    return not expected


def _one_line(text: str) -> bool:
    return "".join(text.splitlines()) == text


def _ends_with_separator(text: str) -> bool:
    if not text or _EMOJI_END.search(text):  # `:fire:` ends in a colon that is part of the emoji
        return False
    return text[-1].isspace() or text[-1] in _SEPARATOR_CHARS or text[-1] in _OPENING


def _starts_with_separator(text: str) -> bool:
    if not text or _EMOJI_START.search(text):
        return False
    return text[0].isspace() or text[0] in _SEPARATOR_CHARS


def _nothing_lost(typed: str, answer: Answer) -> bool:
    """The typed words are what + evidence, with the label and for whom's words in one place."""
    words = _words(typed)
    kept = _words(answer.what) + _words(answer.evidence or "")
    who = _words(answer.for_whom or "")
    labels = (["for"], ["for", "whom"]) if who else ([], ["for"], ["for", "whom"])
    return any(
        kept[:at] + label + who + kept[at:] == words for label in labels for at in range(len(kept) + 1)
    )


_atoms = st.one_of(
    st.text(st.characters(categories=("L", "N")), min_size=1, max_size=8),
    st.sampled_from(
        ["iOS", "17", "e-mails", "Sign-up", "R&D", "<v2>", "&", ":fire:", "🔥", "C++", "don't", "v1.2"]
    ),
)
_joiners = st.sampled_from([" ", "", ", ", " - ", " — ", " / ", ": ", "; ", " & "])
# Something a person types as what, for whom or evidence: brackets balanced, no separator at either end.
_parts = st.recursive(
    _atoms,
    lambda inner: st.one_of(
        st.builds(
            lambda opener, text: opener + text + _OPENING[opener], st.sampled_from("([{"), inner | st.just("")
        ),
        st.builds(lambda left, joiner, right: left + joiner + right, inner, _joiners, inner),
    ),
    max_leaves=6,
)
_labels = st.sampled_from(["for:", "for whom:", "For:", "FOR WHOM:", "for :", "For  whom :", "for whom :"])
_before_label = st.sampled_from(
    [" ", " — ", " – ", " - ", " -- ", ", ", "; ", ": ", " / ", " | ", ". ", "... ", "—", ","]
)
_openers = st.sampled_from(["", "", "(", " (", "[", "{", "([", "[ (", " ( "])


class _Reply:
    """A reply as typed, and the answer its parts make."""

    def __init__(self, typed: str, expected: Answer) -> None:
        self.typed, self.expected = typed, expected

    def __repr__(self) -> str:
        return f"_Reply({self.typed!r})"


@st.composite
def _replies(draw: st.DrawFn) -> _Reply:
    """A reply built from typed parts joined by the separators people put between them."""
    what = draw(st.just("") | _parts)
    who = draw(_parts)
    openers = draw(_openers)
    before = (
        draw(_before_label) + openers if what else draw(st.sampled_from(["", " ", "— "])) + openers.strip()
    )
    closed = bool(openers) and draw(st.booleans())
    rest = draw(_parts) if closed and draw(st.booleans()) else ""
    if closed:
        closers = [_OPENING[opener] for opener in reversed(openers.replace(" ", ""))]
        after = draw(st.sampled_from(["", " "])).join(closers) + draw(st.sampled_from(["", ".", " "]))
        if rest:  # `Search is slow (for: everyone), since Monday`
            after += draw(st.sampled_from([" ", ", ", " — ", "; ", " - "])) + rest
    else:
        after = draw(st.sampled_from(["", "", ".", " ", "...", " —", ",", ";"]))
    label_line = draw(st.sampled_from(["", " ", "  "])).join([draw(_labels), who]) + after
    evidence = draw(st.lists(_parts, max_size=3))
    padding = draw(st.sampled_from(["", " ", "  "]))
    if what and draw(st.booleans()):  # `for:` on a line of its own
        head = what + "\n" + before.lstrip()
        lines = [what, rest, *evidence]
    else:
        head = what + before
        lines = [" ".join(part for part in (what, rest) if part), *evidence]
    typed = head + label_line + "".join(f"\n{padding}{line}{padding}" for line in evidence)
    label = _LABEL.search(typed)
    assume(label is not None and label.start() == len(head))  # the label is the one we put there
    lines = [line for line in lines if line]
    expected = Answer(what=lines[0] if lines else "", for_whom=who, evidence="\n".join(lines[1:]) or None)
    return _Reply(typed, expected)


_fragments = (
    st.text(max_size=6)
    | st.sampled_from(["for:", "for whom:", "FOR :", " — ", " - ", ", ", "\n", ":fire:", "&lt;", "&amp;"])
    | st.sampled_from(["(", ")", "[", "]", "{", "}", "Search is slow", "everyone", "code 500", "e-mails"])
)
_messy = st.lists(_fragments, max_size=12).map("".join)


@settings(max_examples=300)
@given(_replies())
def test_what_has_no_separator_at_either_end(reply: _Reply) -> None:
    what = parse_answer(escape(reply.typed)).what
    assert not _ends_with_separator(what) and not _starts_with_separator(what)


@given(st.text().filter(_one_line), st.text(" -–—.,;:/|([{"), _labels, st.text().filter(_one_line))
def test_separators_before_the_label_are_trimmed_from_any_what(
    head: str, seam: str, label: str, who: str
) -> None:
    typed = head + seam + label + who
    found = _LABEL.search(typed)
    assume(found is not None and found.start() == len(head + seam))
    answer = parse_answer(escape(typed))
    assert not _ends_with_separator(answer.what) and answer.what == answer.what.strip()
    assert not _ends_with_separator(answer.for_whom or "")


@given(st.text() | _messy)
def test_any_reply_reads_as_trimmed_lines(typed: str) -> None:
    answer = parse_answer(typed)
    assert answer.what == answer.what.strip() and _one_line(answer.what)
    assert answer.for_whom is None or (
        answer.for_whom == answer.for_whom.strip() != "" and _one_line(answer.for_whom)
    )
    for line in answer.evidence.split("\n") if answer.evidence else []:
        assert line == line.strip() != "" and _one_line(line)


@settings(max_examples=300)
@given(_replies())
def test_brackets_stay_balanced(reply: _Reply) -> None:
    """Every part typed is balanced; the brackets typed around for whom go as a pair or not at all."""
    answer = parse_answer(escape(reply.typed))
    assert _balanced(answer.what) and _balanced(answer.for_whom or "")


@settings(max_examples=300)
@given(_replies())
def test_nothing_typed_is_lost(reply: _Reply) -> None:
    assert _nothing_lost(reply.typed, parse_answer(escape(reply.typed)))


@given(st.text() | _messy)
def test_nothing_typed_is_lost_from_any_reply(typed: str) -> None:
    assert _nothing_lost(unescape(typed), parse_answer(typed))


@settings(max_examples=300)
@given(_replies())
def test_what_and_for_whom_round_trip(reply: _Reply) -> None:
    """What, for whom and evidence come back exactly as typed, without the separators between them."""
    answer = parse_answer(escape(reply.typed))
    assert answer == reply.expected


@given(
    st.from_regex(r"[CG][A-Z0-9]{8,12}", fullmatch=True),
    st.text(alphabet="abcdefghij-_0123456789", max_size=20),
)
def test_a_channel_mention_or_id_is_read_as_its_id(channel_id: str, name: str) -> None:
    assert parse_channel(f"<#{channel_id}|{name}>") == ChannelRef(id=channel_id)
    assert parse_channel(f"<#{channel_id}>") == ChannelRef(id=channel_id)
    assert parse_channel(f"  {channel_id} ") == ChannelRef(id=channel_id)


@given(st.from_regex(r"[a-z0-9][a-z0-9_\-]{0,40}", fullmatch=True))
def test_a_channel_name_needs_its_hash(name: str) -> None:
    assert parse_channel(f"#{name}") == ChannelRef(name=name)
    assert parse_channel(f"#{name.upper()}") == ChannelRef(name=name)


@given(st.text(max_size=60))
def test_anything_else_is_no_channel_and_never_raises(typed: str) -> None:
    found = parse_channel(typed)
    if found is not None:
        assert found.off or found.id or found.name
        if found.name is not None:
            assert typed.strip().startswith("#")


def test_off_turns_the_digest_off() -> None:
    assert parse_channel(" Off ") == ChannelRef(off=True)
    assert parse_channel("#") is None
    assert parse_channel("general") is None, "a bare word could be a typo of anything"
