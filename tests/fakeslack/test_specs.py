"""The vendored Slack schemas are the recorded ones, and the emulator reads exactly those."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from slackbot.fakeslack import User
from slackbot.fakeslack.params import (
    IMPLEMENTED_METHODS,
    METHODS_NEWER_THAN_THE_SPEC,
    SOURCES,
    WEB_API_SUBSET,
    cut_spec,
    extract_params,
    param_table,
    render_spec,
    specs_folder,
)

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "slackbot" / "fakeslack" / "specs"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def sources() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SPECS / SOURCES).read_text(encoding="utf-8"))["files"]
    return loaded


def test_every_vendored_file_has_the_recorded_hash(sources: dict[str, Any]) -> None:
    assert set(sources) == {"manifest.schema.1.0.0.json", "slack_events_api_async_v1.json", WEB_API_SUBSET}
    for name, entry in sources.items():
        assert sha256(SPECS / name) == entry["sha256"], f"{name} is not the file SOURCES.json records"
        if entry["vendored"] == "whole":
            assert entry["original_sha256"] == entry["sha256"], name
        assert entry["license"] == "MIT" and (SPECS / entry["license_file"]).is_file(), name
        assert entry["repository"].startswith("https://github.com/slackapi/"), name
        assert len(entry["commit"]) == 40, name


def test_the_folder_holds_nothing_unrecorded(sources: dict[str, Any]) -> None:
    licences = {entry["license_file"] for entry in sources.values()}
    assert {p.name for p in SPECS.iterdir()} == set(sources) | licences | {"README.md", SOURCES}


def test_the_readme_quotes_every_recorded_hash(sources: dict[str, Any]) -> None:
    readme = (SPECS / "README.md").read_text(encoding="utf-8")
    for name, entry in sources.items():
        assert f"## `{name}`" in readme
        for key in ("sha256", "original_sha256", "commit"):
            assert entry[key] in readme, f"README.md lacks the {key} of {name}"


def test_the_parameter_table_is_read_from_exactly_the_recorded_subset(sources: dict[str, Any]) -> None:
    table = param_table()
    assert table.sha256 == sources[WEB_API_SUBSET]["sha256"], "the fake obeys another file"
    assert Path(str(table.source)).resolve() == (SPECS / WEB_API_SUBSET).resolve()
    assert Path(str(specs_folder())).resolve() == SPECS.resolve()
    spec = json.loads((SPECS / WEB_API_SUBSET).read_bytes())
    assert {m: sorted(names) for m, names in table.names.items()} == extract_params(spec)


def test_the_subset_is_cut_from_the_implemented_methods(sources: dict[str, Any]) -> None:
    text = (SPECS / WEB_API_SUBSET).read_text(encoding="utf-8")
    spec = json.loads(text)
    assert render_spec(cut_spec(spec)) == text, "cutting again changes it: it is not what `cut` writes"
    assert sources[WEB_API_SUBSET]["methods"] == sorted(IMPLEMENTED_METHODS), (
        "IMPLEMENTED_METHODS changed: regenerate with `python -m slackbot.fakeslack.params cut ORIGINAL`"
    )
    described = set(IMPLEMENTED_METHODS) - set(METHODS_NEWER_THAN_THE_SPEC)
    assert set(spec["paths"]) == {"/" + m for m in described}
    assert spec["swagger"] == "2.0" and spec["info"]["version"] == "1.7.0"
    assert all(d.startswith("#/definitions/") for d in _refs(spec)), "only local references"
    assert {d.removeprefix("#/definitions/") for d in _refs(spec)} <= set(spec["definitions"])


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        own = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return own.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def test_a_name_in_the_subset_is_accepted_and_its_neighbour_is_not(client: WebClient, ana: User) -> None:
    assert "include_locale" in param_table().names["users.info"]
    assert client.users_info(user=ana.id, include_locale=True)["ok"]
    with pytest.raises(SlackApiError) as caught:
        client.users_info(user=ana.id, include_locales=True)
    assert caught.value.response["parameter"] == "include_locales"


def test_nothing_reads_slacks_files_from_outside_the_repository() -> None:
    # The sibling folder the specs used to come from, by relative path or built with pathlib's `/`
    # (written so that this pattern does not match itself).
    pattern = re.compile(r"\.\./shared|shared[/]slack-specs|/\s*[\"']shared[\"']")
    offenders = []
    for folder in ("slackbot", "tests", "bench"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in {".py", ".md", ".json", ".toml", ".ini", ".cfg", ".yml", ".txt"}:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            offenders += [f"{path.relative_to(ROOT)}: {m.group()}" for m in pattern.finditer(text)]
    assert offenders == []
