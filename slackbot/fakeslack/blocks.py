"""Block Kit validation, so a message or view Slack would refuse is refused here too.

Limits come from Slack's Block Kit reference (docs.slack.dev/reference/block-kit/...). Error
strings copy the shape Slack answers with: ``<what> [json-pointer:/blocks/0/text/text]``, e.g.
``must be less than 3001 characters`` and ``no more than 50 items allowed``, which Slack's
own answers show; the wording of the rarer ones is ours.

Not modelled: the undocumented total-size limit (``msg_blocks_too_long``), rich_text
internals, and the content of confirm dialogs beyond their text lengths.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100

_COMMON_BLOCKS = {
    "section",
    "divider",
    "image",
    "actions",
    "context",
    "header",
    "input",
    "rich_text",
    "video",
}
SURFACE_BLOCKS: dict[str, set[str]] = {
    # Input blocks work in messages too since April 2021; file, markdown and table only there.
    "message": _COMMON_BLOCKS | {"file", "markdown", "table"},
    "modal": set(_COMMON_BLOCKS),
    "home": set(_COMMON_BLOCKS),
}

_SELECTS = {
    "static_select",
    "external_select",
    "users_select",
    "conversations_select",
    "channels_select",
    "multi_static_select",
    "multi_external_select",
    "multi_users_select",
    "multi_conversations_select",
    "multi_channels_select",
}
_INTERACTIVE = _SELECTS | {
    "button",
    "checkboxes",
    "datepicker",
    "datetimepicker",
    "overflow",
    "radio_buttons",
    "timepicker",
    "workflow_button",
}
ACCESSORY_ELEMENTS = (_INTERACTIVE - {"datetimepicker"}) | {"image"}
ACTIONS_ELEMENTS = _INTERACTIVE | {"rich_text_input"}
INPUT_ELEMENTS = (
    _SELECTS | {"checkboxes", "datepicker", "datetimepicker", "radio_buttons", "timepicker"}
) | {
    "plain_text_input",
    "email_text_input",
    "url_text_input",
    "number_input",
    "rich_text_input",
    "file_input",
}

_BLOCK_KEYS: dict[str, set[str]] = {
    "section": {"type", "block_id", "text", "fields", "accessory", "expand"},
    "divider": {"type", "block_id"},
    "header": {"type", "block_id", "text"},
    "image": {"type", "block_id", "image_url", "slack_file", "alt_text", "title"},
    "actions": {"type", "block_id", "elements"},
    "context": {"type", "block_id", "elements"},
    "input": {"type", "block_id", "label", "element", "dispatch_action", "hint", "optional"},
    "rich_text": {"type", "block_id", "elements"},
    "video": {
        "type",
        "block_id",
        "alt_text",
        "author_name",
        "description",
        "provider_icon_url",
        "provider_name",
        "title",
        "title_url",
        "thumbnail_url",
        "video_url",
    },
    "file": {"type", "block_id", "external_id", "source"},
    "markdown": {"type", "block_id", "text"},
    "table": {"type", "block_id", "rows", "column_settings"},
}

_SELECT_COMMON = {"type", "action_id", "placeholder", "confirm", "focus_on_load"}
_ELEMENT_KEYS: dict[str, set[str]] = {
    "button": {"type", "text", "action_id", "url", "value", "style", "confirm", "accessibility_label"},
    "static_select": _SELECT_COMMON | {"options", "option_groups", "initial_option"},
    "multi_static_select": _SELECT_COMMON
    | {"options", "option_groups", "initial_options", "max_selected_items"},
    "external_select": _SELECT_COMMON | {"initial_option", "min_query_length"},
    "multi_external_select": _SELECT_COMMON | {"initial_options", "min_query_length", "max_selected_items"},
    "users_select": _SELECT_COMMON | {"initial_user"},
    "multi_users_select": _SELECT_COMMON | {"initial_users", "max_selected_items"},
    "conversations_select": _SELECT_COMMON
    | {"initial_conversation", "default_to_current_conversation", "response_url_enabled", "filter"},
    "multi_conversations_select": _SELECT_COMMON
    | {"initial_conversations", "default_to_current_conversation", "max_selected_items", "filter"},
    "channels_select": _SELECT_COMMON | {"initial_channel", "response_url_enabled"},
    "multi_channels_select": _SELECT_COMMON | {"initial_channels", "max_selected_items"},
    "overflow": {"type", "action_id", "options", "confirm"},
    "datepicker": {"type", "action_id", "initial_date", "confirm", "focus_on_load", "placeholder"},
    "timepicker": {
        "type",
        "action_id",
        "initial_time",
        "confirm",
        "focus_on_load",
        "placeholder",
        "timezone",
    },
    "datetimepicker": {"type", "action_id", "initial_date_time", "confirm", "focus_on_load"},
    "checkboxes": {"type", "action_id", "options", "initial_options", "confirm", "focus_on_load"},
    "radio_buttons": {"type", "action_id", "options", "initial_option", "confirm", "focus_on_load"},
    "plain_text_input": {
        "type",
        "action_id",
        "placeholder",
        "initial_value",
        "multiline",
        "min_length",
        "max_length",
        "dispatch_action_config",
        "focus_on_load",
    },
    "email_text_input": {
        "type",
        "action_id",
        "initial_value",
        "dispatch_action_config",
        "focus_on_load",
        "placeholder",
    },
    "url_text_input": {
        "type",
        "action_id",
        "initial_value",
        "dispatch_action_config",
        "focus_on_load",
        "placeholder",
    },
    "number_input": {
        "type",
        "action_id",
        "is_decimal_allowed",
        "initial_value",
        "min_value",
        "max_value",
        "dispatch_action_config",
        "focus_on_load",
        "placeholder",
    },
    "rich_text_input": {
        "type",
        "action_id",
        "initial_value",
        "dispatch_action_config",
        "focus_on_load",
        "placeholder",
    },
    "file_input": {"type", "action_id", "filetypes", "max_files"},
    "image": {"type", "image_url", "slack_file", "alt_text"},
    "workflow_button": {"type", "text", "workflow", "action_id", "style", "accessibility_label"},
}

_MODAL_KEYS = {
    "type",
    "title",
    "blocks",
    "close",
    "submit",
    "private_metadata",
    "callback_id",
    "clear_on_close",
    "notify_on_close",
    "external_id",
    "submit_disabled",
}
_HOME_KEYS = {"type", "blocks", "private_metadata", "callback_id", "external_id"}


def _too_long(limit: int) -> str:
    return f"must be less than {limit + 1} characters"


class _Checker:
    """Walks one surface and collects Slack-style error strings."""

    def __init__(self, surface: str) -> None:
        self.surface = surface
        self.errors: list[str] = []
        self.block_ids: set[str] = set()

    def err(self, message: str, pointer: str) -> None:
        self.errors.append(f"{message} [json-pointer:{pointer}]")

    # ------------------------------------------------------------ primitives

    def keys(self, obj: dict[str, Any], allowed: Iterable[str], pointer: str) -> None:
        allowed_set = set(allowed)
        for key in obj:
            if key not in allowed_set:
                self.err(f"invalid additional property: {key}", pointer)

    def string(
        self,
        obj: dict[str, Any],
        key: str,
        pointer: str,
        *,
        limit: int | None = None,
        required: bool = False,
    ) -> str | None:
        if key not in obj or obj[key] is None:
            if required:
                self.err(f"missing required field: {key}", pointer)
            return None
        value = obj[key]
        if not isinstance(value, str):
            self.err("must be a string", f"{pointer}/{key}")
            return None
        if limit is not None and len(value) > limit:
            self.err(_too_long(limit), f"{pointer}/{key}")
        return value

    def text(
        self,
        obj: dict[str, Any],
        key: str,
        pointer: str,
        *,
        limit: int,
        plain_only: bool = False,
        required: bool = False,
    ) -> None:
        if key not in obj or obj[key] is None:
            if required:
                self.err(f"missing required field: {key}", pointer)
            return
        self.text_object(obj[key], f"{pointer}/{key}", limit=limit, plain_only=plain_only)

    def text_object(self, value: Any, pointer: str, *, limit: int, plain_only: bool = False) -> None:
        if not isinstance(value, dict):
            self.err("must be an object", pointer)
            return
        kind = value.get("type")
        allowed = {"plain_text"} if plain_only else {"plain_text", "mrkdwn"}
        if kind not in allowed:
            self.err("failed to match all allowed schemas", pointer)
            self.err("must be a valid enum value", f"{pointer}/type")
            return
        self.keys(
            value,
            {"type", "text", "emoji"} if kind == "plain_text" else {"type", "text", "verbatim"},
            pointer,
        )
        text = value.get("text")
        if not isinstance(text, str):
            self.err("missing required field: text", pointer)
            return
        if len(text) > limit:
            self.err("failed to match all allowed schemas", pointer)
            self.err(_too_long(limit), f"{pointer}/text")
        elif not text:
            self.err("must be more than 0 characters", f"{pointer}/text")

    def items(self, value: Any, pointer: str, *, most: int, least: int = 1) -> list[Any]:
        if not isinstance(value, list):
            self.err("must be an array", pointer)
            return []
        if len(value) > most:
            self.err(f"no more than {most} items allowed", pointer)
        elif len(value) < least:
            self.err(f"must provide at least {least} items", pointer)
        return value

    # ------------------------------------------------------------ blocks

    def blocks(self, value: Any, pointer: str, *, most: int) -> None:
        for index, block in enumerate(self.items(value, pointer, most=most, least=0)):
            self.block(block, f"{pointer}/{index}")

    def block(self, block: Any, pointer: str) -> None:
        if not isinstance(block, dict):
            self.err("must be an object", pointer)
            return
        kind = block.get("type")
        if not isinstance(kind, str) or kind not in _BLOCK_KEYS:
            self.err(f"unsupported type: {kind}", f"{pointer}/type")
            return
        if kind not in SURFACE_BLOCKS[self.surface]:
            self.err(f"block type {kind} is not allowed in {self.surface} surfaces", f"{pointer}/type")
            return
        self.keys(block, _BLOCK_KEYS[kind], pointer)
        block_id = self.string(block, "block_id", pointer, limit=255)
        if block_id is not None:
            if block_id in self.block_ids:
                self.err(f"duplicate block_id: {block_id}", f"{pointer}/block_id")
            self.block_ids.add(block_id)
        getattr(self, f"block_{kind}", self.block_lenient)(block, pointer)

    def block_lenient(self, block: dict[str, Any], pointer: str) -> None:
        """Blocks whose insides are not checked (rich_text, video, file, table)."""

    def block_section(self, block: dict[str, Any], pointer: str) -> None:
        if "text" not in block and "fields" not in block:
            self.err("missing required field: text", pointer)
        self.text(block, "text", pointer, limit=3000)
        if "fields" in block:
            fields = self.items(block["fields"], f"{pointer}/fields", most=10)
            for index, item in enumerate(fields):
                self.text_object(item, f"{pointer}/fields/{index}", limit=2000)
        if "accessory" in block:
            self.element(block["accessory"], f"{pointer}/accessory", ACCESSORY_ELEMENTS, set())

    def block_header(self, block: dict[str, Any], pointer: str) -> None:
        self.text(block, "text", pointer, limit=150, plain_only=True, required=True)

    def block_image(self, block: dict[str, Any], pointer: str) -> None:
        if "image_url" not in block and "slack_file" not in block:
            self.err("missing required field: image_url", pointer)
        self.string(block, "image_url", pointer, limit=3000)
        self.string(block, "alt_text", pointer, limit=2000, required=True)
        self.text(block, "title", pointer, limit=2000, plain_only=True)

    def block_actions(self, block: dict[str, Any], pointer: str) -> None:
        seen: set[str] = set()
        for index, element in enumerate(self.items(block.get("elements"), f"{pointer}/elements", most=25)):
            self.element(element, f"{pointer}/elements/{index}", ACTIONS_ELEMENTS, seen)

    def block_context(self, block: dict[str, Any], pointer: str) -> None:
        for index, element in enumerate(self.items(block.get("elements"), f"{pointer}/elements", most=10)):
            where = f"{pointer}/elements/{index}"
            if isinstance(element, dict) and element.get("type") == "image":
                self.element(element, where, {"image"}, set())
            else:
                self.text_object(element, where, limit=3000)

    def block_input(self, block: dict[str, Any], pointer: str) -> None:
        self.text(block, "label", pointer, limit=2000, plain_only=True, required=True)
        self.text(block, "hint", pointer, limit=2000, plain_only=True)
        if "element" not in block:
            self.err("missing required field: element", pointer)
            return
        self.element(block["element"], f"{pointer}/element", INPUT_ELEMENTS, set())

    def block_markdown(self, block: dict[str, Any], pointer: str) -> None:
        self.string(block, "text", pointer, limit=12000, required=True)

    # ------------------------------------------------------------ elements

    def element(self, element: Any, pointer: str, allowed: set[str], seen_action_ids: set[str]) -> None:
        if not isinstance(element, dict):
            self.err("must be an object", pointer)
            return
        kind = element.get("type")
        if not isinstance(kind, str) or kind not in _ELEMENT_KEYS:
            self.err(f"unsupported type: {kind}", f"{pointer}/type")
            return
        if kind not in allowed:
            self.err(f"element type {kind} is not allowed here", f"{pointer}/type")
            return
        if kind == "file_input" and self.surface != "modal":
            self.err("element type file_input is only allowed in modals", f"{pointer}/type")
        self.keys(element, _ELEMENT_KEYS[kind], pointer)
        action_id = self.string(element, "action_id", pointer, limit=255)
        if action_id is not None:
            # action_id "should be unique among all other action_ids in the containing block"
            if action_id in seen_action_ids:
                self.err(f"duplicate action_id: {action_id}", f"{pointer}/action_id")
            seen_action_ids.add(action_id)
        self.text(element, "placeholder", pointer, limit=150, plain_only=True)
        if "confirm" in element:
            self.confirm(element["confirm"], f"{pointer}/confirm")
        check = getattr(self, f"element_{kind}", None)
        if check is not None:
            check(element, pointer)

    def element_button(self, element: dict[str, Any], pointer: str) -> None:
        self.text(element, "text", pointer, limit=75, plain_only=True, required=True)
        self.string(element, "value", pointer, limit=2000)
        self.string(element, "url", pointer, limit=3000)
        self.string(element, "accessibility_label", pointer, limit=75)
        style = element.get("style")
        if style is not None and style not in ("primary", "danger"):
            self.err("must be a valid enum value", f"{pointer}/style")

    def element_workflow_button(self, element: dict[str, Any], pointer: str) -> None:
        self.text(element, "text", pointer, limit=75, plain_only=True, required=True)

    def options(self, element: dict[str, Any], pointer: str, *, most: int, least: int, plain: bool) -> None:
        if "options" not in element:
            return
        for index, option in enumerate(
            self.items(element["options"], f"{pointer}/options", most=most, least=least)
        ):
            self.option(option, f"{pointer}/options/{index}", plain=plain)

    def option(self, option: Any, pointer: str, *, plain: bool) -> None:
        if not isinstance(option, dict):
            self.err("must be an object", pointer)
            return
        self.keys(option, {"text", "value", "description", "url"}, pointer)
        self.text(option, "text", pointer, limit=75, plain_only=plain, required=True)
        self.string(option, "value", pointer, limit=150, required=True)
        self.text(option, "description", pointer, limit=75, plain_only=plain)
        self.string(option, "url", pointer, limit=3000)

    def _static(self, element: dict[str, Any], pointer: str) -> None:
        if "options" not in element and "option_groups" not in element:
            self.err("missing required field: options", pointer)
        self.options(element, pointer, most=100, least=1, plain=True)
        if "option_groups" in element:
            groups = self.items(element["option_groups"], f"{pointer}/option_groups", most=100)
            for gi, group in enumerate(groups):
                where = f"{pointer}/option_groups/{gi}"
                if not isinstance(group, dict):
                    self.err("must be an object", where)
                    continue
                self.text(group, "label", where, limit=75, plain_only=True, required=True)
                for oi, option in enumerate(self.items(group.get("options"), f"{where}/options", most=100)):
                    self.option(option, f"{where}/options/{oi}", plain=True)

    element_static_select = _static
    element_multi_static_select = _static

    def element_overflow(self, element: dict[str, Any], pointer: str) -> None:
        if "options" not in element:
            self.err("missing required field: options", pointer)
        self.options(element, pointer, most=5, least=1, plain=True)

    def element_checkboxes(self, element: dict[str, Any], pointer: str) -> None:
        if "options" not in element:
            self.err("missing required field: options", pointer)
        self.options(element, pointer, most=10, least=1, plain=False)

    element_radio_buttons = element_checkboxes

    def element_plain_text_input(self, element: dict[str, Any], pointer: str) -> None:
        for key in ("min_length", "max_length"):
            value = element.get(key)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                self.err("must be an integer", f"{pointer}/{key}")
            elif value > 3000:
                self.err("must be less than or equal to 3000", f"{pointer}/{key}")
            elif value < (1 if key == "max_length" else 0):
                self.err("must be greater than 0", f"{pointer}/{key}")
        self.string(element, "initial_value", pointer, limit=3000)

    def element_number_input(self, element: dict[str, Any], pointer: str) -> None:
        if not isinstance(element.get("is_decimal_allowed"), bool):
            self.err("missing required field: is_decimal_allowed", pointer)

    def element_image(self, element: dict[str, Any], pointer: str) -> None:
        if "image_url" not in element and "slack_file" not in element:
            self.err("missing required field: image_url", pointer)
        self.string(element, "image_url", pointer, limit=3000)
        self.string(element, "alt_text", pointer, required=True)

    def confirm(self, value: Any, pointer: str) -> None:
        if not isinstance(value, dict):
            self.err("must be an object", pointer)
            return
        self.keys(value, {"title", "text", "confirm", "deny", "style"}, pointer)
        self.text(value, "title", pointer, limit=100, plain_only=True, required=True)
        self.text(value, "text", pointer, limit=300, required=True)
        self.text(value, "confirm", pointer, limit=30, plain_only=True, required=True)
        self.text(value, "deny", pointer, limit=30, plain_only=True, required=True)


def validate_message_blocks(blocks: Any) -> list[str]:
    """Errors for a message's ``blocks`` (chat.*, response_url, command acks); [] when valid."""
    checker = _Checker("message")
    checker.blocks(blocks, "/blocks", most=MESSAGE_BLOCK_LIMIT)
    return checker.errors


def validate_view(view: Any) -> list[str]:
    """Errors for a modal or Home tab view object; [] when valid."""
    checker = _Checker("modal")
    if not isinstance(view, dict):
        checker.err("must be an object", "/view")
        return checker.errors
    kind = view.get("type")
    if kind not in ("modal", "home"):
        checker.err("failed to match all allowed schemas", "/view")
        checker.err("must be a valid enum value", "/view/type")
        return checker.errors
    checker.surface = kind
    checker.keys(view, _MODAL_KEYS if kind == "modal" else _HOME_KEYS, "/view")
    if "blocks" not in view:
        checker.err("missing required field: blocks", "/view")
    else:
        checker.blocks(view["blocks"], "/view/blocks", most=VIEW_BLOCK_LIMIT)
    checker.string(view, "private_metadata", "/view", limit=3000)
    checker.string(view, "callback_id", "/view", limit=255)
    checker.string(view, "external_id", "/view", limit=255)
    if kind == "modal":
        checker.text(view, "title", "/view", limit=24, plain_only=True, required=True)
        checker.text(view, "close", "/view", limit=24, plain_only=True)
        checker.text(view, "submit", "/view", limit=24, plain_only=True)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(
            isinstance(b, dict) and b.get("type") == "input" for b in blocks
        )
        if has_input and not view.get("submit"):
            # "submit is required when an input block is within the blocks array"
            checker.err("missing required field: submit", "/view")
    if checker.errors:
        checker.errors.insert(0, "failed to match all allowed schemas [json-pointer:/view]")
    return checker.errors


def interactive_elements(blocks: list[Any]) -> list[tuple[str | None, dict[str, Any]]]:
    """Every interactive element with its block's block_id, in reading order."""
    found: list[tuple[str | None, dict[str, Any]]] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        block_id = block.get("block_id")
        candidates: list[Any] = []
        if block.get("type") == "actions":
            candidates = list(block.get("elements") or [])
        elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
            candidates = [block["accessory"]]
        elif block.get("type") == "input" and isinstance(block.get("element"), dict):
            candidates = [block["element"]]
        for element in candidates:
            if (
                isinstance(element, dict)
                and element.get("type") in _ELEMENT_KEYS
                and element.get("type") != "image"
            ):
                found.append((block_id if isinstance(block_id, str) else None, element))
    return found


def fill_ids(blocks: list[Any], make_id: Callable[[], str]) -> list[Any]:
    """Copy of ``blocks`` with the block_id/action_id Slack generates where the app gave none."""
    filled: list[Any] = []
    for block in blocks:
        if not isinstance(block, dict):
            filled.append(block)
            continue
        copy = dict(block)
        if "block_id" not in copy and copy.get("type") not in ("divider",):
            copy["block_id"] = make_id()
        for key in ("elements", "accessory", "element"):
            if key == "elements" and copy.get("type") == "actions" and isinstance(copy.get(key), list):
                copy[key] = [_with_action_id(e, make_id) for e in copy[key]]
            elif key in ("accessory", "element") and isinstance(copy.get(key), dict):
                copy[key] = _with_action_id(copy[key], make_id)
        filled.append(copy)
    return filled


def _with_action_id(element: Any, make_id: Callable[[], str]) -> Any:
    if not isinstance(element, dict) or element.get("type") == "image" or "action_id" in element:
        return element
    return {**element, "action_id": make_id()}


def _all_options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        if isinstance(group, dict):
            options.extend(o for o in group.get("options") or [] if isinstance(o, dict))
    return options


def _option(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """The option a person picked, given by its value (or as a whole option object)."""
    if isinstance(value, dict):
        return value
    if element.get("type") in ("external_select", "multi_external_select"):
        return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
    for option in _all_options(element):
        if option.get("value") == value:
            return {k: option[k] for k in ("text", "value", "description") if k in option}
    raise ValueError(f"{element.get('type')} {element.get('action_id')!r} has no option with value {value!r}")


_STATE_KEYS = {
    "users_select": ("selected_user", "initial_user"),
    "multi_users_select": ("selected_users", "initial_users"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "channels_select": ("selected_channel", "initial_channel"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "datetimepicker": ("selected_date_time", "initial_date_time"),
}


def element_state(element: dict[str, Any], value: Any) -> dict[str, Any]:
    """One entry of ``view.state.values`` as Slack reports it for this element.

    ``value`` is what the person entered (None: untouched, so the initial value stands).
    Options are named by their ``value``; multi-selects and checkboxes take a list.
    """
    kind = str(element.get("type"))
    state: dict[str, Any] = {"type": kind}
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        state["value"] = str(value) if value is not None else element.get("initial_value")
    elif kind in ("static_select", "external_select", "radio_buttons"):
        state["selected_option"] = (
            _option(element, value) if value is not None else element.get("initial_option")
        )
    elif kind in ("multi_static_select", "multi_external_select", "checkboxes"):
        if value is None:
            state["selected_options"] = list(element.get("initial_options") or [])
        else:
            picked = value if isinstance(value, list) else [value]
            state["selected_options"] = [_option(element, v) for v in picked]
    elif kind in _STATE_KEYS:
        key, initial = _STATE_KEYS[kind]
        multi = kind.startswith("multi_")
        if value is None:
            state[key] = element.get(initial) if not multi else list(element.get(initial) or [])
        else:
            state[key] = (value if isinstance(value, list) else [value]) if multi else value
        if kind == "timepicker" and element.get("timezone"):
            state["timezone"] = element["timezone"]
    elif kind == "rich_text_input":
        if value is None:
            state["rich_text_value"] = element.get("initial_value")
        elif isinstance(value, dict):
            state["rich_text_value"] = value
        else:
            state["rich_text_value"] = {
                "type": "rich_text",
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": str(value)}]}
                ],
            }
    elif kind == "file_input":
        state["files"] = list(value or [])
    else:
        state["value"] = value
    return state


def is_empty_state(state: dict[str, Any]) -> bool:
    """True when a required input has nothing in it (Slack will not let the person submit)."""
    for key, value in state.items():
        if key in ("type", "timezone"):
            continue
        if value not in (None, "", [], {}):
            return False
    return True
