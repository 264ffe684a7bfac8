"""Several workspaces on one FakeSlack server: the same user ids in each, and nothing crossing over.

An app distributed with OAuth meets workspaces whose people share ids (``U0001ANA`` here and
there); these tests prove the emulator keeps them apart over real HTTP, so the app's own
multi-workspace tests can trust that a leak is the app's.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import parse_qs, urlencode, urlsplit
from urllib.request import Request, urlopen

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slackbot.fakeslack import FakeSlack, SlackSender, User

from .conftest import FakeClock, Receiver

REDIRECT = "https://loops.example/slack/oauth_redirect"


@pytest.fixture
def other(fake: FakeSlack) -> FakeSlack:
    return fake.add_workspace("T0OTHER", "other-demo", "Other Demo")


@pytest.fixture
def other_client(other: FakeSlack) -> WebClient:
    return WebClient(token=other.bot_token, base_url=other.api_url)


@pytest.fixture
def other_ana(other: FakeSlack) -> User:
    return other.add_user("ana", tz="Asia/Tokyo")


def get(url: str) -> tuple[int, dict[str, str], str]:
    """One GET, redirects not followed: the test reads where the authorize page sends the browser."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
    response = connection.getresponse()
    headers = {k.lower(): v for k, v in response.getheaders()}
    body = response.read().decode()
    connection.close()
    return response.status, headers, body


def add_to_slack_link(fake: FakeSlack) -> str:
    """What an app's install page links to: no team, as Bolt's InstallProvider builds it."""
    query = urlencode({"client_id": fake.client_id, "scope": "chat:write,users:read", "state": "st4te"})
    return f"{fake.base_url}oauth/v2/authorize?{query}"


def allow(link: str) -> dict[str, str]:
    """The authorize page with Allow pressed: the redirect's query."""
    status, headers, body = get(link)
    assert status == 302, body
    location = headers["location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(fake: FakeSlack, **params: str) -> dict[str, object]:
    answer = WebClient(base_url=fake.api_url).oauth_v2_access(
        client_id=fake.client_id, client_secret=fake.client_secret, **params
    )
    assert isinstance(answer.data, dict)
    return answer.data


# ---------------------------------------------------------------- one server, shared app


def test_a_hosted_workspace_shares_the_server_and_the_app(fake: FakeSlack, other: FakeSlack) -> None:
    assert (other.base_url, other.api_url) == (fake.base_url, fake.api_url)
    assert other.signing_secret == fake.signing_secret
    assert (other.app_id, other.verification_token) == (fake.app_id, fake.verification_token)
    assert (other.client_id, other.client_secret) == (fake.client_id, fake.client_secret)
    assert other.faults is fake.faults
    assert other.state.oauth is fake.state.oauth
    assert (other.team_id, other.team_domain) == ("T0OTHER", "other-demo")
    assert other.bot_token != fake.bot_token
    assert fake.workspaces == [fake, other] and other.workspaces == [fake, other]
    assert fake.workspace("T0OTHER") is other and other.primary is fake
    with pytest.raises(ValueError, match="already hosted"):
        fake.add_workspace("T0OTHER", "again", "Again")


def test_people_get_the_same_ids_in_each_workspace_and_each_token_sees_its_own(
    fake: FakeSlack, other: FakeSlack, client: WebClient, other_client: WebClient, ana: User, other_ana: User
) -> None:
    assert ana.id == other_ana.id == "U0001ANA"
    fake.add_user("ben")
    mine = client.users_info(user=ana.id)["user"]
    theirs = other_client.users_info(user=ana.id)["user"]
    assert (mine["team_id"], mine["tz"]) == (fake.team_id, "Europe/Berlin")
    assert (theirs["team_id"], theirs["tz"]) == ("T0OTHER", "Asia/Tokyo")
    names = {m["name"] for m in other_client.users_list()["members"]}
    assert "ben" not in names and "ana" in names
    assert other_client.auth_test()["team_id"] == "T0OTHER"
    assert client.auth_test()["team_id"] == fake.team_id
    other.update_user(ana.id, tz="Europe/Lisbon")
    assert fake.user(ana.id).tz == "Europe/Berlin"


def test_a_token_of_one_workspace_cannot_read_or_reach_the_other(
    fake: FakeSlack, other: FakeSlack, client: WebClient, other_client: WebClient, ana: User, other_ana: User
) -> None:
    channel = fake.add_channel("product", members=[ana.id])
    other_channel = other.add_channel("product", members=[other_ana.id])
    assert channel.id == other_channel.id  # same id, different channels
    client.chat_postMessage(channel=channel.id, text="ours only")
    client.chat_postMessage(channel=ana.id, text="hello ana of Loops Demo")
    other_client.chat_postMessage(channel=other_ana.id, text="hello ana of Other Demo")

    assert other_client.conversations_history(channel=channel.id)["messages"] == []
    assert [m.text for m in other.messages()] == ["hello ana of Other Demo"]
    assert [m.text for m in fake.messages()] == ["ours only", "hello ana of Loops Demo"]
    assert other.dm_channel_id(ana.id) == fake.dm_channel_id(ana.id)
    dm = other_client.conversations_history(channel=other.dm_channel_id(ana.id))["messages"]
    assert [m["text"] for m in dm] == ["hello ana of Other Demo"]
    with pytest.raises(SlackApiError) as caught:
        other_client.conversations_history(channel=fake.add_channel("secret").id)
    assert caught.value.response["error"] == "channel_not_found"


def test_calls_are_recorded_in_the_workspace_of_their_token(
    fake: FakeSlack, other: FakeSlack, client: WebClient, other_client: WebClient
) -> None:
    client.auth_test()
    other_client.auth_test()
    other_client.users_list()
    with pytest.raises(SlackApiError):
        WebClient(token="xoxb-nobody", base_url=fake.api_url).auth_test()
    with pytest.raises(SlackApiError):
        WebClient(base_url=fake.api_url).auth_test()
    assert [(c.method, (c.response or {}).get("error")) for c in fake.calls()] == [
        ("auth.test", None),
        ("auth.test", "invalid_auth"),
        ("auth.test", "not_authed"),
    ]
    assert [c.method for c in other.calls()] == ["auth.test", "users.list"]
    assert other.wait_for(lambda f: f.calls("users.list"))


def test_revoking_a_token_is_per_workspace(
    fake: FakeSlack, other: FakeSlack, client: WebClient, other_client: WebClient
) -> None:
    other.revoke_token(other.bot_token)
    with pytest.raises(SlackApiError) as caught:
        other_client.auth_test()
    assert caught.value.response["error"] == "token_revoked"
    assert client.auth_test()["ok"] is True
    assert [c.method for c in other.calls()] == ["auth.test"]


def test_faults_and_rate_limits_are_the_servers(
    fake: FakeSlack, other_client: WebClient, other: FakeSlack
) -> None:
    fake.faults.add(method="auth.test", kind="error", error="account_inactive", times=1)
    with pytest.raises(SlackApiError) as caught:
        other_client.auth_test()
    assert caught.value.response["error"] == "account_inactive"
    assert [c.fault for c in other.calls()] == ["error"] and fake.calls() == []
    fake.rate_limits = True
    assert other.rate_limits is True


def test_a_channels_posting_bucket_is_its_workspaces(
    fake: FakeSlack, client: WebClient, other_client: WebClient, ana: User, other_ana: User
) -> None:
    fake.rate_limits = True
    for _ in range(3):  # the burst
        client.chat_postMessage(channel=ana.id, text="burst")
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel=ana.id, text="one too many")
    assert caught.value.response.status_code == 429
    assert other_client.chat_postMessage(channel=other_ana.id, text="same DM id, other workspace")["ok"]


# ---------------------------------------------------------------- OAuth into another workspace


def test_authorize_with_team_installs_into_that_workspace(
    fake: FakeSlack, other: FakeSlack, ana: User, other_ana: User
) -> None:
    fake.state.oauth.redirect_url = REDIRECT  # app-level: good for every workspace
    other.add_user("ben")
    link = add_to_slack_link(fake)
    got = allow(other.authorize_link(link))
    assert got["state"] == "st4te"
    installed = exchange(fake, code=got["code"])
    assert installed["team"] == {"id": "T0OTHER", "name": "Other Demo"}
    assert installed["authed_user"] == {"id": other_ana.id}
    token = str(installed["access_token"])
    assert WebClient(token=token, base_url=fake.api_url).auth_test()["team_id"] == "T0OTHER"
    assert [c.method for c in other.calls()] == ["oauth.v2.access", "auth.test"]
    assert fake.calls() == []
    assert token in other.state.tokens and token not in fake.state.tokens

    # Appending Slack's `team` to the app's own link by hand works the same.
    again = exchange(fake, code=allow(link + "&team=T0OTHER")["code"])
    assert again["team"] == {"id": "T0OTHER", "name": "Other Demo"}
    # No team: the primary, as before.
    home = exchange(fake, code=allow(link)["code"])
    assert home["team"] == {"id": fake.team_id, "name": fake.state.team_name}
    assert home["authed_user"] == {"id": ana.id}


def test_the_emulators_team_parameter_and_an_unknown_team(
    fake: FakeSlack, other: FakeSlack, other_ana: User
) -> None:
    fake.state.oauth.redirect_url = REDIRECT
    link = add_to_slack_link(fake)
    assert exchange(fake, code=allow(link + "&fakeslack_team=T0OTHER")["code"])["team"] == {
        "id": "T0OTHER",
        "name": "Other Demo",
    }
    status, _, body = get(link + "&team=T0NOWHERE")
    assert status == 400, body
    fake.state.oauth.deny_next = True  # set on the primary, pressed in the other workspace
    assert allow(other.authorize_link(link)) == {"error": "access_denied", "state": "st4te"}


def test_a_code_cannot_be_redeemed_by_another_workspace(
    fake: FakeSlack, other: FakeSlack, other_ana: User
) -> None:
    fake.state.oauth.redirect_url = REDIRECT
    code = allow(other.authorize_link(add_to_slack_link(fake)))["code"]
    assert fake.state.exchange_code(code, None) == {"ok": False, "error": "invalid_code"}
    assert exchange(fake, code=code)["team"] == {"id": "T0OTHER", "name": "Other Demo"}


def test_a_refresh_token_refreshes_in_its_own_workspace(
    fake: FakeSlack, other: FakeSlack, clock: FakeClock, ana: User, other_ana: User
) -> None:
    oauth = fake.state.oauth
    oauth.redirect_url = REDIRECT
    oauth.token_rotation = True
    oauth.expires_in = 3600
    installed = exchange(fake, code=allow(other.authorize_link(add_to_slack_link(fake)))["code"])
    assert installed["team"] == {"id": "T0OTHER", "name": "Other Demo"}
    clock.advance(3601)
    old = WebClient(token=str(installed["access_token"]), base_url=fake.api_url)
    with pytest.raises(SlackApiError) as caught:
        old.auth_test()
    assert caught.value.response["error"] == "token_expired"

    refreshed = exchange(fake, grant_type="refresh_token", refresh_token=str(installed["refresh_token"]))
    assert refreshed["team"] == {"id": "T0OTHER", "name": "Other Demo"}
    assert refreshed["scope"] == "chat:write,users:read"  # the other workspace's grant
    new = WebClient(token=str(refreshed["access_token"]), base_url=fake.api_url)
    assert new.auth_test()["team_id"] == "T0OTHER"
    assert [c.method for c in other.calls()] == [
        "oauth.v2.access",
        "auth.test",
        "oauth.v2.access",
        "auth.test",
    ]
    assert fake.calls() == []
    with pytest.raises(SlackApiError) as spent:
        exchange(fake, grant_type="refresh_token", refresh_token=str(installed["refresh_token"]))
    assert spent.value.response["error"] == "invalid_refresh_token"
    assert [c.method for c in fake.calls()] == ["oauth.v2.access"], "an unknown refresh token: the primary's"


# ---------------------------------------------------------------- response_urls, uploads, the sender


def post_json(url: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    request = Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})  # noqa: S310
    with urlopen(request, timeout=10) as response:  # noqa: S310 - the fake on loopback
        answer: dict[str, object] = json.loads(response.read())
        return response.status, answer


def test_a_response_url_posts_into_the_workspace_that_minted_it(
    fake: FakeSlack, other: FakeSlack, ana: User, other_ana: User
) -> None:
    theirs = other.state.mint_response_url(other_ana.id, other.dm_channel_id(other_ana.id))
    ours = fake.state.mint_response_url(ana.id, fake.dm_channel_id(ana.id))
    assert post_json(theirs.url, {"text": "for Other Demo", "response_type": "in_channel"}) == (
        200,
        {"ok": True},
    )
    assert post_json(ours.url, {"text": "for Loops Demo", "response_type": "in_channel"}) == (
        200,
        {"ok": True},
    )
    assert [m.text for m in other.messages()] == ["for Other Demo"]
    assert [m.text for m in fake.messages()] == ["for Loops Demo"]
    assert other.response_url_posts() == [{"text": "for Other Demo", "response_type": "in_channel"}]
    assert fake.response_url_posts(theirs.url) == []


def test_uploads_land_in_the_workspace_that_reserved_the_file(
    fake: FakeSlack, other: FakeSlack, client: WebClient, other_client: WebClient, ana: User, other_ana: User
) -> None:
    ours = fake.add_channel("product", members=[ana.id])
    theirs = other.add_channel("product", members=[other_ana.id])
    other_client.files_upload_v2(channel=theirs.id, content=b"theirs", filename="a.txt")
    client.files_upload_v2(channel=ours.id, content=b"ours", filename="a.txt")
    (their_file,) = other.files()
    (our_file,) = fake.files()
    assert their_file.id == our_file.id  # ids count per workspace
    assert (their_file.data, our_file.data) == (b"theirs", b"ours")


def test_a_sender_of_a_hosted_workspace_sends_as_that_workspace(
    other: FakeSlack, receiver: Receiver, other_ana: User
) -> None:
    sender = SlackSender(other, app_url=receiver.url)
    receiver.reply_json({"response_type": "ephemeral", "text": "got it"})
    reply = sender.command(other_ana.id, "/loops", "help")
    assert reply.status == 200 and receiver.last.valid_signature
    form = receiver.last.form()
    assert (form["team_id"], form["team_domain"], form["user_id"]) == ("T0OTHER", "other-demo", other_ana.id)
    assert form["token"] == other.verification_token
    assert [m.text for m in other.ephemeral_for(other_ana.id)] == ["got it"]
    status, _ = post_json(form["response_url"], {"text": "later"})
    assert status == 200
    assert other.response_url_posts(form["response_url"]) == [{"text": "later"}]
