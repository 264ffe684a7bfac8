"""Which parameter names each implemented Web API method accepts.

The names come from Slack's OpenAPI file (2020, in ``shared/slack-specs``), frozen into
``web_api_params.json`` beside this module by ``extract_params``; a test keeps the two equal.
Parameters Slack added later, and the files v2 methods the file lacks, are in ``EXTRA_PARAMS``
with the documentation page that names them. A name in neither is refused at request time
with ``fakeslack_unknown_parameter`` so a typo in the app fails loudly instead of being
silently ignored as Slack would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

IMPLEMENTED_METHODS: tuple[str, ...] = (
    "auth.test",
    "chat.delete",
    "chat.getPermalink",
    "chat.postEphemeral",
    "chat.postMessage",
    "chat.update",
    "conversations.history",
    "conversations.members",
    "conversations.open",
    "conversations.replies",
    "files.completeUploadExternal",
    "files.getUploadURLExternal",
    "users.info",
    "users.list",
    "views.open",
    "views.publish",
    "views.push",
    "views.update",
)

_DOCS = "https://docs.slack.dev/reference/methods/"

# method -> {parameter: the documentation page that names it}; all newer than the 2020 file.
EXTRA_PARAMS: dict[str, dict[str, str]] = {
    "chat.postMessage": {
        "metadata": _DOCS + "chat.postMessage#arg_metadata",
    },
    "chat.update": {
        "metadata": _DOCS + "chat.update#arg_metadata",
    },
    "conversations.history": {
        "include_all_metadata": _DOCS + "conversations.history#arg_include_all_metadata",
    },
    "conversations.replies": {
        "include_all_metadata": _DOCS + "conversations.replies#arg_include_all_metadata",
    },
    "views.open": {
        # slack_sdk's views_open always sends it, as null when unused.
        "interactivity_pointer": _DOCS + "views.open#arg_interactivity_pointer",
    },
    "views.push": {
        "interactivity_pointer": _DOCS + "views.push#arg_interactivity_pointer",
    },
    "files.getUploadURLExternal": {
        "filename": _DOCS + "files.getUploadURLExternal#arg_filename",
        "length": _DOCS + "files.getUploadURLExternal#arg_length",
        "alt_txt": _DOCS + "files.getUploadURLExternal#arg_alt_txt",
        "snippet_type": _DOCS + "files.getUploadURLExternal#arg_snippet_type",
    },
    "files.completeUploadExternal": {
        "files": _DOCS + "files.completeUploadExternal#arg_files",
        "channel_id": _DOCS + "files.completeUploadExternal#arg_channel_id",
        "channels": _DOCS + "files.completeUploadExternal#arg_channels",
        "initial_comment": _DOCS + "files.completeUploadExternal#arg_initial_comment",
        "thread_ts": _DOCS + "files.completeUploadExternal#arg_thread_ts",
        "blocks": _DOCS + "files.completeUploadExternal#arg_blocks",
    },
}

# Added by slack_sdk itself to every call: WebClient(team_id=...) puts team_id in default_params.
SDK_PARAMS: frozenset[str] = frozenset({"team_id", "token"})


def extract_params(
    spec: Mapping[str, Any], methods: Iterable[str] = IMPLEMENTED_METHODS
) -> dict[str, list[str]]:
    """``{method: sorted parameter names}`` the OpenAPI spec gives; [] for methods it lacks."""
    paths = spec.get("paths", {})
    out: dict[str, list[str]] = {}
    for method in sorted(methods):
        names: set[str] = set()
        for operation in paths.get("/" + method, {}).values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if isinstance(parameter, dict) and isinstance(parameter.get("name"), str):
                    names.add(parameter["name"])
        out[method] = sorted(names)
    return out


def render(params: Mapping[str, list[str]]) -> str:
    """The committed JSON text for ``params`` (stable, so a diff shows real changes)."""
    return json.dumps(params, indent=2, sort_keys=True) + "\n"


@cache
def spec_params() -> dict[str, frozenset[str]]:
    """The committed ``web_api_params.json``."""
    text = resources.files(__package__).joinpath("web_api_params.json").read_text(encoding="utf-8")
    raw: dict[str, list[str]] = json.loads(text)
    return {method: frozenset(names) for method, names in raw.items()}


def allowed_params(method: str) -> frozenset[str]:
    """Every name the fake accepts for ``method``."""
    return spec_params().get(method, frozenset()) | frozenset(EXTRA_PARAMS.get(method, {})) | SDK_PARAMS


def unknown_params(method: str, names: Iterable[str]) -> list[str]:
    """The names in ``names`` that ``method`` does not take, in the order given."""
    allowed = allowed_params(method)
    return [name for name in names if name not in allowed]


def main() -> None:  # pragma: no cover - a maintenance helper
    """Regenerate web_api_params.json: ``python -m slackbot.fakeslack.params SPEC OUT``."""
    import sys
    from pathlib import Path

    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    Path(sys.argv[2]).write_text(render(extract_params(spec)), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    main()
