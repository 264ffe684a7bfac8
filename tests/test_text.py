"""User text as messages show it: escaped, then shortened; never cut inside an escape."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from slackbot.blocks.text import shown
from slackbot.core.parse import unescape

NOTE = " _(shortened here; all "


@given(st.text(alphabet=st.sampled_from("a&<> é"), max_size=400), st.integers(min_value=10, max_value=300))
def test_shown_text_is_escaped_then_kept_within_its_limit(text: str, limit: int) -> None:
    result = shown(text, limit)
    body = result.split(NOTE)[0]
    assert len(body) <= limit
    assert "<" not in body and ">" not in body
    if NOTE in result:
        kept = body.removesuffix("…")
        assert text.startswith(unescape(kept)), "only the end is cut, and never inside an escape"
        assert f"all {len(text):,} characters are kept" in result
    else:
        assert unescape(result) == text


def test_ampersands_are_counted_after_escaping() -> None:
    result = shown("&" * 700, 700)
    assert result.startswith("&amp;" * 139) and "all 700 characters are kept" in result
