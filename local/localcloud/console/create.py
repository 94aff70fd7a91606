"""The console's "Create stack" page data: what the ROS console does with a one-click link
(`.../stacks/create?templateUrl=...`), done by the local ROS itself.

    POST api/templates  {"url", "language"}       the form: the template read from its URL (the
                                                  local ROS's TemplateURL rules), validated, its
                                                  parameters grouped and labelled in the language
    POST api/stacks     {"name", "templateUrl",   CreateStack from the URL with those values, as
                         "parameters": {k: v}}    the account's root (the console's user)

Both are POSTs behind the guard with the console's header: a page on another site can make the
browser neither read a URL through the cloud nor create a stack. A ROS refusal (a URL that does
not answer, a value that breaks a constraint) is answered 400 with ROS's code and message, and
`parameter` when the message names one, so the page shows it beside its field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import yaml

from ..credentials import Principal
from ..ros import RosError
from ..template.interface import groups

MAX_BODY_BYTES = 1024 * 1024  # a form's values (keys in PEM are a few KB)
LANGUAGES = ("en", "zh-cn")
_NAMED = re.compile(r"Parameters\.([A-Za-z0-9]+)")


class CreateRefused(Exception):
    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(body.get("error"))
        self.status = status
        self.body = dict(body)


def read_json(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_BODY_BYTES:
        raise CreateRefused(413, {"error": f"the request is over {MAX_BODY_BYTES} bytes"})
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise CreateRefused(400, {"error": "send a JSON object"})
    return value


def template_form(cloud: Any, request: Mapping[str, Any]) -> dict[str, Any]:
    url = _text(request, "url")
    language = request.get("language") or "en"
    if language not in LANGUAGES:
        raise CreateRefused(400, {"error": f"language is one of {', '.join(LANGUAGES)}"})
    body = _ros(lambda: cloud.ros.read_template(url, _root(cloud)))
    summary = _ros(lambda: cloud.ros.stacks.validate(body))
    doc = yaml.safe_load(body)
    return {
        "templateUrl": url,
        "language": language,
        "description": summary["Description"],
        "region": cloud.account.region,
        "groups": [
            {"label": g.label, "fields": [asdict(f) for f in g.fields]}
            for g in groups(doc, language)
        ],
    }


def create_stack(cloud: Any, request: Mapping[str, Any]) -> dict[str, Any]:
    name = _text(request, "name")
    url = _text(request, "templateUrl")
    values = request.get("parameters") or {}
    if not isinstance(values, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in values.items()
    ):
        raise CreateRefused(400, {"error": "parameters is an object of strings"})
    body = _ros(lambda: cloud.ros.read_template(url, _root(cloud)))
    stack_id = _ros(lambda: cloud.ros.stacks.create(name, body, values))
    return {"stackId": stack_id, "name": name}


def _root(cloud: Any) -> Principal:
    account = cloud.account
    return Principal(account.access_key_id, account.access_key_secret, is_root=True)


def _ros(run: Any) -> Any:
    try:
        return run()
    except RosError as exc:
        named = _NAMED.search(exc.message)
        raise CreateRefused(
            400,
            {
                "error": exc.message,
                "code": exc.code,
                **({"parameter": named.group(1)} if named else {}),
            },
        ) from None


def _text(request: Mapping[str, Any], name: str) -> str:
    value = request.get(name)
    if not isinstance(value, str) or not value.strip():
        raise CreateRefused(400, {"error": f"{name} is required"})
    return value.strip()
