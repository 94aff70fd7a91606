"""Contract tests: one guard in front of the local cloud's own routes (`/_localcloud/*`: the admin
endpoint and the console), on raw sockets against the shared cloud. A foreign `Host` (DNS
rebinding) gets 403 on every route; a request that changes something is refused with 403 when it
comes from another origin, or is a cross-site "simple" request (text/plain, a form post), before
its body is read, and changes nothing. The cloud's own tools (no Origin, JSON) and the console
(its origin, its header) pass."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from localcloud.guard import SameSiteGuard
from localcloud.httpshell import HttpRequest
from tests import rawhttp

USER = "2088000000000077"
# Every route that changes something: method, path, a body its own tool would send.
CHANGES = [
    ("POST", "/_localcloud/faults", {"service": "sts", "kind": "refuse"}),
    ("DELETE", "/_localcloud/faults", None),
    ("POST", "/_localcloud/clock", {"advance": 3600}),
    ("POST", "/_localcloud/alipay/identity", {"mode": "open_id"}),
    ("POST", "/_localcloud/api/users", None),
    ("POST", f"/_localcloud/api/users/{USER}/auth-code", None),
    ("POST", f"/_localcloud/api/users/{USER}/session", None),
    ("POST", "/_localcloud/api/state", None),
    ("DELETE", "/_localcloud/api/state", None),
    # the Create stack page: no stack made, nor a URL read through the cloud, from another site
    ("POST", "/_localcloud/api/stacks", {"name": "guarded", "templateUrl": "oss://b/t.yml"}),
    ("POST", "/_localcloud/api/templates", {"url": "oss://b/t.yml"}),
]
READS = [
    "/_localcloud/health",
    "/_localcloud/faults",
    "/_localcloud/alipay",
    "/_localcloud/console/",
    "/_localcloud/console/app.js",
    "/_localcloud/api/overview",
    "/_localcloud/api/users",
    "/_localcloud/api/state",
]


def send(
    cloud: Any,
    method: str,
    path: str,
    *headers: str,
    body: bytes = b"",
    host: str | None = None,
    announce: int | None = None,
) -> tuple[int, bytes]:
    """A raw request to the FC port; (status, body). `announce` sends that Content-Length but
    only the headers: an answer then proves the body was never waited for."""
    port = cloud.fc.endpoint.rsplit(":", 1)[1]
    length = len(body) if announce is None else announce
    head = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host or '127.0.0.1:' + port}",
        f"Content-Length: {length}",
        *headers,
    ]
    data = ("\r\n".join(head) + "\r\n\r\n").encode() + (b"" if announce is not None else body)
    answer, _ = rawhttp.exchange("127.0.0.1", int(port), data, wait=10)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 "), answer
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def state_of(cloud: Any) -> dict[str, Any]:
    """What the routes above could change."""
    with cloud.alipay.database.transaction() as conn:
        users = conn.execute("SELECT COUNT(*) FROM users").fetchone()[0]
        codes = conn.execute("SELECT COUNT(*) FROM auth_codes").fetchone()[0]
    return {
        "faults": cloud.faults.active(),
        "clock_ahead": cloud.clock.now() - time.time() > 60,
        "identity": [a.to_dict() for a in cloud.alipay.apps.all()],
        "users": users,
        "codes": codes,
        "tables": cloud.tablestore.core.catalog.names(),
        "stacks": [(s.id, s.status) for s in cloud.ros.stacks.list()],
    }


@pytest.fixture
def cloud(local_cloud: Any) -> Any:
    local_cloud.faults.clear()
    return local_cloud


def body_bytes(value: Any) -> bytes:
    return b"" if value is None else json.dumps(value).encode()


@pytest.mark.parametrize("method, path, body", CHANGES)
def test_a_cross_site_text_plain_request_is_refused_and_changes_nothing(cloud, method, path, body):
    before = state_of(cloud)
    status, answer = send(
        cloud,
        method,
        path,
        "Origin: http://attacker.example",
        "Content-Type: text/plain;charset=UTF-8",
        body=body_bytes(body),
    )
    assert status == 403 and "cross-site" in json.loads(answer)["error"]
    assert state_of(cloud) == before


@pytest.mark.parametrize("path", [p for m, p, _ in CHANGES if m == "POST"])
@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", None],
)
def test_a_post_a_page_could_send_cross_site_is_refused_before_its_body_is_read(
    cloud, path, content_type
):
    before = state_of(cloud)
    # No Origin (as an old browser or a privacy extension may send it), a form's content type.
    kind = () if content_type is None else (f"Content-Type: {content_type}",)
    status, answer = send(cloud, "POST", path, *kind, announce=100_000)
    assert status == 403 and "X-Localcloud-Console" in json.loads(answer)["error"]
    assert state_of(cloud) == before


@pytest.mark.parametrize("method, path, body", CHANGES)
def test_json_from_another_origin_is_refused(cloud, method, path, body):
    before = state_of(cloud)
    status, _ = send(
        cloud,
        method,
        path,
        "Origin: http://127.0.0.1:1",
        "Content-Type: application/json",
        "X-Localcloud-Console: 1",
        body=body_bytes(body),
    )
    assert status == 403
    assert state_of(cloud) == before


@pytest.mark.parametrize("path", READS + [p for _, p, _ in CHANGES])
@pytest.mark.parametrize("host", ["rebind.attacker.example:{port}", "127.0.0.1:1", "127.0.0.1", ""])
def test_a_foreign_host_is_refused_on_every_route(cloud, path, host):
    port = cloud.fc.endpoint.rsplit(":", 1)[1]
    method = next((m for m, p, _ in CHANGES if p == path), "GET")
    before = state_of(cloud)
    status, answer = send(
        cloud,
        method,
        path,
        "Content-Type: application/json",
        "X-Localcloud-Console: 1",
        host=host.format(port=port) or " ",
    )
    assert status == 403 and "is not this cloud's address" in json.loads(answer)["error"]
    assert state_of(cloud) == before


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "LOCALHOST"])
def test_loopback_names_with_the_port_are_answered(cloud, name):
    port = cloud.fc.endpoint.rsplit(":", 1)[1]
    status, answer = send(cloud, "GET", "/_localcloud/health", host=f"{name}:{port}")
    assert (status, json.loads(answer)) == (200, {"ok": True})


def test_the_clouds_own_origin_with_json_changes_state(cloud):
    port = cloud.fc.endpoint.rsplit(":", 1)[1]
    status, answer = send(
        cloud,
        "POST",
        "/_localcloud/faults",
        f"Origin: http://127.0.0.1:{port}",
        "Content-Type: application/json; charset=utf-8",
        body=b'{"service": "sts", "kind": "refuse", "api": "Nothing"}',
    )
    assert status == 200, answer
    assert [(f.service, f.api) for f in cloud.faults.active()] == [("sts", "Nothing")]
    cloud.faults.clear()


def test_the_consoles_header_stands_for_json(cloud):
    status, answer = send(
        cloud,
        "POST",
        "/_localcloud/faults",
        "X-Localcloud-Console: 1",
        body=b'{"service": "sts", "kind": "refuse", "api": "Nothing"}',
    )
    assert status == 200, answer
    cloud.faults.clear()


def test_a_bare_delete_from_a_tool_is_answered(cloud):
    # Browsers send DELETE cross-site only after a preflight the cloud never approves.
    status, answer = send(cloud, "DELETE", "/_localcloud/faults")
    assert status == 200, answer


def test_function_compute_routes_are_not_the_guards(cloud):
    # The session function's trigger answers any Host, as FC's front end does.
    status, _ = send(cloud, "GET", "/2016-08-15/proxy/none/none/", host="elsewhere.example")
    assert status != 403


def head(host: str, method: str = "GET", *headers: tuple[str, str]) -> HttpRequest:
    return HttpRequest(
        method=method,
        raw_path="/_localcloud/faults",
        query_string="",
        headers={"host": host, **dict(headers)},
        body=b"",
        client_ip="",
        server_port=9100,
    )


@pytest.mark.parametrize(
    "listen, host, allowed",
    [
        ("192.168.1.5", "192.168.1.5:9100", True),
        ("192.168.1.5", "127.0.0.1:9100", True),
        ("192.168.1.5", "192.168.1.6:9100", False),
        ("::1", "[::1]:9100", True),
        ("0.0.0.0", "0.0.0.0:9100", True),
        ("0.0.0.0", "192.168.1.5:9100", False),
        ("127.0.0.1", "localhost:9101", False),
        ("127.0.0.1", "localhost.attacker.example:9100", False),
    ],
)
def test_the_guard_answers_to_loopback_names_and_the_listen_address_with_the_port(
    listen, host, allowed
):
    guard = SameSiteGuard("/_localcloud/", listen)
    assert (guard(head(host)) is None) is allowed


@pytest.mark.parametrize(
    "origin, allowed",
    [
        ("http://127.0.0.1:9100", True),
        ("", True),
        ("http://localhost:9100", False),
        ("null", False),
        ("https://127.0.0.1:9100", False),
    ],
)
def test_a_change_needs_the_clouds_own_origin_or_none(origin, allowed):
    guard = SameSiteGuard("/_localcloud/")
    request = head(
        "127.0.0.1:9100", "POST", ("origin", origin), ("content-type", "application/json")
    )
    assert (guard(request) is None) is allowed


def send_to_sandbox(
    cloud: Any, *headers: str, body: bytes, host: str | None = None
) -> tuple[int, bytes]:
    """A raw POST to the Alipay sandbox's auth-code route; (status, body)."""
    port = cloud.url("alipay").rsplit(":", 1)[1]
    head = [
        "POST /sandbox/auth_code HTTP/1.1",
        f"Host: {host or '127.0.0.1:' + port}",
        f"Content-Length: {len(body)}",
        *headers,
    ]
    answer, _ = rawhttp.exchange(
        "127.0.0.1", int(port), ("\r\n".join(head) + "\r\n\r\n").encode() + body, wait=10
    )
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


SANDBOX_BODY = json.dumps({"user_id": USER}).encode()


@pytest.mark.parametrize(
    "headers, host",
    [
        (("Origin: http://attacker.example", "Content-Type: text/plain"), None),
        (("Origin: http://attacker.example", "Content-Type: application/json"), None),
        (("Content-Type: application/x-www-form-urlencoded",), None),
        (("Content-Type: application/json",), "rebind.attacker.example:{port}"),
    ],
)
def test_the_sandbox_mints_no_auth_code_for_another_site_or_host(cloud, headers, host):
    """Minting an auth code is logging in as a test user: a page on another site (or rebound to
    the sandbox's address) must not get one."""
    port = cloud.url("alipay").rsplit(":", 1)[1]
    before = state_of(cloud)
    status, _ = send_to_sandbox(
        cloud, *headers, body=SANDBOX_BODY, host=host.format(port=port) if host else None
    )
    assert status == 403
    assert state_of(cloud) == before


def test_the_sandbox_mints_an_auth_code_for_a_tool_sending_json(cloud):
    status, answer = send_to_sandbox(cloud, "Content-Type: application/json", body=SANDBOX_BODY)
    assert status == 200 and json.loads(answer)["authCode"]
