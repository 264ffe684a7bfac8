"""Installing through the OAuth flow, against the emulator's authorize page and oauth.v2.access.

The browser's part is played with plain HTTP: open /slack/install, press Add to Slack (our
link, which sets the state cookie and redirects to the emulator's authorize page), where the
emulator presses Allow for the workspace's first person, and come back to /slack/oauth_redirect
with the cookie.
"""

from __future__ import annotations

import html
import http.client
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from slackbot.fakeslack import FakeSlack
from tests.support.bot import Bot, BotFactory


@dataclass
class Page:
    status: int
    headers: dict[str, str]
    body: str


def get(url: str, cookie: str | None = None) -> Page:
    """One GET, redirects not followed (as the test plays the browser step by step)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = connection.getresponse()
    page = Page(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode())
    connection.close()
    return page


def oauth_bot(make_bot: BotFactory, fake: FakeSlack, **overrides: Any) -> Bot:
    bot = make_bot(
        slack_bot_token=None,
        slack_client_id=fake.client_id,
        slack_client_secret=fake.client_secret,
        **overrides,
    )
    fake.state.oauth.redirect_url = f"{bot.server.url}/slack/oauth_redirect"
    return bot


def start_install(bot: Bot, query: str = "") -> tuple[str, str]:
    """The install page, Add to Slack pressed: (Slack's authorize link, the state cookie)."""
    page = get(f"{bot.server.url}/slack/install{query}")
    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Add to Slack" in page.body
    assert "set-cookie" not in page.headers  # no state for a page only read
    link = re.search(r'<a href="([^"]+)"><img alt="Add to Slack"', page.body)
    assert link is not None, page.body
    pressed = get(urljoin(f"{bot.server.url}/slack/install", html.unescape(link.group(1))))
    assert pressed.status == 302, pressed.body
    cookie = pressed.headers["set-cookie"].split(";", 1)[0]
    return pressed.headers["location"], cookie


def allow(link: str) -> str:
    """Slack's consent page, Allow pressed: where the browser is sent next."""
    page = get(link)
    assert page.status == 302, page.body
    return page.headers["location"]


def install(bot: Bot) -> Page:
    link, cookie = start_install(bot)
    return get(allow(link), cookie)
