"""Our signature check agrees with slack_sdk's where that one works, and never raises."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier

from slackbot.fakeslack.sender import sign
from slackbot.web import signed_by_slack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@given(body=st.text(max_size=200), skew=st.integers(min_value=-400, max_value=400))
def test_agrees_with_slack_sdk_on_text_bodies(body: str, skew: int) -> None:
    now = int(time.time())
    verifier = SignatureVerifier(SECRET)
    timestamp = str(now + skew)
    signature = verifier.generate_signature(timestamp=timestamp, body=body)
    assert signature is not None
    ours = signed_by_slack(SECRET.encode(), body.encode(), timestamp, signature, now=now)
    assert ours == verifier.is_valid(body=body, timestamp=timestamp, signature=signature)
    assert ours == (abs(skew) <= 300)


TIMESTAMPS = st.one_of(
    st.text(max_size=12),
    st.text(max_size=6000),
    st.text(alphabet="0123456789", min_size=11, max_size=6000),
    st.integers(min_value=4290, max_value=4400).map(lambda n: "1" * n),
)


@given(raw=st.binary(max_size=100), timestamp=TIMESTAMPS, signature=st.text(max_size=70))
def test_anything_else_is_refused_without_raising(raw: bytes, timestamp: str, signature: str) -> None:
    assert signed_by_slack(SECRET.encode(), raw, timestamp, signature, now=time.time()) is False


@given(raw=st.binary(max_size=100), timestamp=TIMESTAMPS)
def test_a_correct_signature_over_any_odd_timestamp_is_refused(raw: bytes, timestamp: str) -> None:
    """Signed as Slack signs, so only the timestamp can refuse it: never by raising."""
    signature = sign(SECRET, timestamp, raw)
    assert signed_by_slack(SECRET.encode(), raw, timestamp, signature, now=time.time()) is False


def test_a_tampered_body_is_refused() -> None:
    now = int(time.time())
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=str(now), body="text=help")
    assert signature is not None
    assert signed_by_slack(SECRET.encode(), b"text=help", str(now), signature, now=now)
    assert not signed_by_slack(SECRET.encode(), b"text=hel", str(now), signature, now=now)
