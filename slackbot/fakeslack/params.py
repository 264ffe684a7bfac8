"""Which parameter names each implemented Web API method accepts.

The names come from Slack's OpenAPI (Swagger 2.0) file of October 2020, vendored cut down to the
methods implemented here as ``specs/slack_web_openapi_v2.subset.json`` (``specs/README.md`` says
where it came from and how it was cut; ``specs/SOURCES.json`` records its SHA-256). The table is
read from that file when first needed, so the file the tests check is the file the fake obeys.
Parameters Slack added later, and the methods the file lacks, are in ``EXTRA_PARAMS`` with the
documentation page that names them. A name in neither is refused at request time with
``fakeslack_unknown_parameter`` so a typo in the app fails loudly instead of being silently
ignored as Slack would.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

IMPLEMENTED_METHODS: tuple[str, ...] = (
    "apps.connections.open",
    "auth.test",
    "chat.delete",
    "chat.getPermalink",
    "chat.postEphemeral",
    "chat.postMessage",
    "chat.update",
    "conversations.history",
    "conversations.info",
    "conversations.list",
    "conversations.members",
    "conversations.open",
    "conversations.replies",
    "files.completeUploadExternal",
    "files.getUploadURLExternal",
    "oauth.v2.access",
    "users.info",
    "users.list",
    "views.open",
    "views.publish",
    "views.push",
    "views.update",
)

_DOCS = "https://docs.slack.dev/reference/methods/"

# Implemented methods the 2020 file does not describe at all: Socket Mode (2021) and files v2 (2022).
METHODS_NEWER_THAN_THE_SPEC: dict[str, str] = {
    "apps.connections.open": _DOCS + "apps.connections.open",
    "files.completeUploadExternal": _DOCS + "files.completeUploadExternal",
    "files.getUploadURLExternal": _DOCS + "files.getUploadURLExternal",
}

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
    "oauth.v2.access": {
        # Token rotation (2021): a refresh token is exchanged for a new pair with these.
        "grant_type": _DOCS + "oauth.v2.access#arg_grant_type",
        "refresh_token": _DOCS + "oauth.v2.access#arg_refresh_token",
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


SPECS = "specs"  # the folder beside this module holding the vendored files
WEB_API_SUBSET = "slack_web_openapi_v2.subset.json"
SOURCES = "SOURCES.json"

# Top-level keys of the Swagger document kept whole in the subset: what makes it a document.
_KEPT_KEYS = ("basePath", "externalDocs", "host", "info", "schemes", "securityDefinitions", "swagger", "tags")


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


def _refs(node: Any) -> set[str]:
    """The ``#/definitions/<name>`` names a piece of the document points at."""
    if isinstance(node, dict):
        found = set()
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                match = re.fullmatch(r"#/definitions/(.+)", value)
                if match:
                    found.add(match.group(1))
            else:
                found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(item) for item in node)) if node else set()
    return set()


def cut_spec(spec: Mapping[str, Any], methods: Iterable[str] = IMPLEMENTED_METHODS) -> dict[str, Any]:
    """The Swagger document with only these methods' paths and the definitions they refer to.

    A projection: every key kept is kept whole, so cutting the subset again changes nothing.
    """
    paths = spec.get("paths", {})
    kept_paths = {f"/{m}": paths[f"/{m}"] for m in sorted(methods) if f"/{m}" in paths}
    definitions = spec.get("definitions", {})
    wanted: set[str] = set()
    todo = _refs(kept_paths)
    while todo:
        name = todo.pop()
        if name in wanted or name not in definitions:
            continue
        wanted.add(name)
        todo |= _refs(definitions[name])
    out: dict[str, Any] = {key: spec[key] for key in _KEPT_KEYS if key in spec}
    out["definitions"] = {name: definitions[name] for name in sorted(wanted)}
    out["paths"] = kept_paths
    return out


def render_spec(spec: Mapping[str, Any]) -> str:
    """Formatted exactly as the original: sorted keys, 4 spaces, ASCII, no final newline."""
    return json.dumps(spec, indent=4, sort_keys=True)


def sha256(data: bytes) -> str:
    """Hex SHA-256, as SOURCES.json records it."""
    return hashlib.sha256(data).hexdigest()


def specs_folder() -> Traversable:
    """``slackbot/fakeslack/specs`` as installed (package data, also in a wheel)."""
    return resources.files(__package__).joinpath(SPECS)


@dataclass(frozen=True)
class ParamTable:
    """The parameter names per method, and exactly which bytes they were read from."""

    source: Traversable
    sha256: str
    names: Mapping[str, frozenset[str]]


@cache
def param_table() -> ParamTable:
    """Read the vendored Web API subset once; the hash lets a test prove which file it was."""
    source = specs_folder().joinpath(WEB_API_SUBSET)
    data = source.read_bytes()
    spec = json.loads(data)
    names = {method: frozenset(found) for method, found in extract_params(spec).items()}
    return ParamTable(source=source, sha256=sha256(data), names=names)


def spec_params() -> Mapping[str, frozenset[str]]:
    """``{method: names}`` from the vendored subset of Slack's OpenAPI file."""
    return param_table().names


def allowed_params(method: str) -> frozenset[str]:
    """Every name the fake accepts for ``method``."""
    return spec_params().get(method, frozenset()) | frozenset(EXTRA_PARAMS.get(method, {})) | SDK_PARAMS


def unknown_params(method: str, names: Iterable[str]) -> list[str]:
    """The names in ``names`` that ``method`` does not take, in the order given."""
    allowed = allowed_params(method)
    return [name for name in names if name not in allowed]


def regenerate(original: Path, specs: Path) -> dict[str, Any]:
    """Cut ``original`` into ``specs/`` and record both hashes in SOURCES.json; returns that entry.

    Run it after adding a method to IMPLEMENTED_METHODS, with the original file downloaded from
    the repository and commit SOURCES.json names (it warns when the original is another file).
    """
    raw = original.read_bytes()
    text = render_spec(cut_spec(json.loads(raw)))
    (specs / WEB_API_SUBSET).write_text(text, encoding="utf-8")
    sources_path = specs / SOURCES
    sources = json.loads(sources_path.read_text(encoding="utf-8"))
    entry: dict[str, Any] = sources["files"][WEB_API_SUBSET]
    if entry.get("original_sha256") not in (None, sha256(raw)):
        print(
            f"warning: {original} is not the recorded original "
            f"(sha256 {sha256(raw)}, recorded {entry['original_sha256']}); update README.md too",
            file=sys.stderr,
        )
    entry["original_sha256"] = sha256(raw)
    entry["sha256"] = sha256(text.encode("utf-8"))
    entry["methods"] = sorted(IMPLEMENTED_METHODS)
    sources_path.write_text(json.dumps(sources, indent=2) + "\n", encoding="utf-8")
    return entry


def main(argv: Sequence[str] | None = None) -> int:  # pragma: no cover - a maintenance helper
    """``python -m slackbot.fakeslack.params cut ORIGINAL``: regenerate the vendored subset."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] != "cut":
        print("usage: python -m slackbot.fakeslack.params cut ORIGINAL_OPENAPI_JSON", file=sys.stderr)
        return 2
    specs = Path(__file__).resolve().parent / SPECS
    entry = regenerate(Path(args[1]), specs)
    print(f"{WEB_API_SUBSET}: sha256 {entry['sha256']} (original {entry['original_sha256']})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
