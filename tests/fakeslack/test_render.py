"""The demo's renderer shows mrkdwn as a person reads it."""

from __future__ import annotations

from slackbot.fakeslack.render import mrkdwn_to_text, render_message


def test_escapes_links_and_mentions_read_as_in_slack() -> None:
    assert mrkdwn_to_text("&lt;!channel&gt; R&amp;D") == "<!channel> R&D"
    assert mrkdwn_to_text("ask <@U123|ana> in <#C1|product>") == "ask @ana in #product"
    assert mrkdwn_to_text("see <https://example.com|the doc>") == "see the doc (https://example.com)"
    assert mrkdwn_to_text("<!here>") == "@here"


def test_a_message_renders_its_blocks_before_its_text() -> None:
    body = {
        "text": "fallback",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "a &amp; b"}}],
    }
    assert render_message(body) == ["a & b"]
    assert render_message({"text": "x &lt; y"}) == ["x < y"]
