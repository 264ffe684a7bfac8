"""A stateful fake of Slack over real HTTP on loopback, for tests and ``python -m slackbot demo``.

``FakeSlack`` serves the Web API (as slack_sdk's ``WebClient`` calls it), upload URLs and
response_urls; ``SlackSender`` plays Slack towards the app with signed commands, events and
interaction payloads. It follows Slack's documented behaviour, not the app's wishes.
"""

from .faults import Fault
from .sender import Reply, SlackSender, sign
from .server import FakeSlack
from .state import Call, Channel, File, Message, ResponsePost, User, View

__all__ = [
    "Call",
    "Channel",
    "FakeSlack",
    "Fault",
    "File",
    "Message",
    "Reply",
    "ResponsePost",
    "SlackSender",
    "User",
    "View",
    "sign",
]
