"""The two FC handlers, with apps built on fakes injected through their AppCache."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest

from miniapp.services import failures
from miniapp.wiring import AppCache

from .conftest import ALICE, World, load_handler
from .test_config import DB_ENV

SESSION = load_handler("session")
DB = load_handler("db")


def fc_context(request_id: str = "fc-req-9") -> SimpleNamespace:
    return SimpleNamespace(
        request_id=request_id,
        region="cn-hangzhou",
        account_id="123",
        credentials=SimpleNamespace(
            access_key_id="STS.svc", access_key_secret="s", security_token="t"
        ),
        function=SimpleNamespace(name="f"),
        service=SimpleNamespace(name="todo", log_project="", log_store=""),
    )


def call_wsgi(
    body: bytes,
    *,
    method: str = "POST",
    path: str = "/",
    content_length: bool = True,
    remote_addr: str = "203.0.113.9",
    headers: dict | None = None,
):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "wsgi.input": io.BytesIO(body),
        "REMOTE_ADDR": remote_addr,
        "fc.context": fc_context(),
        **(headers or {}),
    }
    if content_length:
        environ["CONTENT_LENGTH"] = str(len(body))
    seen = {}

    def start_response(status, response_headers):
        seen["status"], seen["headers"] = status, dict(response_headers)

    chunks = SESSION.handler(environ, start_response)
    body_out = b"".join(chunks)
    assert int(seen["headers"]["Content-Length"]) == len(body_out)
    return seen["status"], seen["headers"], json.loads(body_out)


@pytest.fixture
def world(monkeypatch) -> World:
    world = World()
    monkeypatch.setattr(SESSION, "APPS", AppCache.fixed(world.session_app))
    monkeypatch.setattr(DB, "APPS", AppCache.fixed(world.db_app))
    return world


def test_a_login_over_wsgi_is_200_with_the_2020_body(world: World) -> None:
    status, headers, body = call_wsgi(json.dumps({"authCode": world.identity.mint(ALICE)}).encode())
    assert status == "200 OK" and set(body) == {"sessionId", "sts"}
    assert headers["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize(
    "method, path, body, status",
    [
        ("GET", "/", b"", "405 Method Not Allowed"),
        ("POST", "/nowhere", b"{}", "404 Not Found"),
        ("POST", "/", b"{", "400 Bad Request"),
        ("POST", "/", b'{"authCode": "nope"}', "401 Unauthorized"),
        ("POST", "/refresh", b'{"sessionId": "' + b"A" * 43 + b'"}', "401 Unauthorized"),
    ],
)
def test_wsgi_statuses_match_the_error(
    world: World, method: str, path: str, body: bytes, status: str
) -> None:
    assert call_wsgi(body, method=method, path=path)[0] == status


def test_a_huge_body_is_413_and_is_not_read_whole(world: World) -> None:
    stream = io.BytesIO(b"{" + b" " * 10_000_000)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "wsgi.input": stream,
        "CONTENT_LENGTH": "10000001",
        "REMOTE_ADDR": "1.2.3.4",
        "fc.context": fc_context(),
    }
    seen = {}
    body = b"".join(SESSION.handler(environ, lambda s, h: seen.update(status=s)))
    assert (
        seen["status"].startswith("413") and json.loads(body)["error"]["code"] == "PayloadTooLarge"
    )
    assert stream.tell() <= 64 * 1024 + 1


def test_a_body_without_content_length_is_read(world: World) -> None:
    body = json.dumps({"authCode": world.identity.mint(ALICE)}).encode()
    assert call_wsgi(body, content_length=False)[0] == "200 OK"


def test_the_client_ip_is_remote_addr_not_x_forwarded_for(world: World) -> None:
    call_wsgi(
        json.dumps({"authCode": world.identity.mint(ALICE)}).encode(),
        remote_addr="198.51.100.1",
        headers={"HTTP_X_FORWARDED_FOR": "10.9.9.9"},
    )
    assert world.limiter.hits[0] == "ip:198.51.100.1"


def test_the_request_id_comes_from_fc(world: World) -> None:
    call_wsgi(b"junk")
    assert world.sink.of_kind("invocation")[-1]["requestId"] == "fc-req-9"


def test_the_db_handler_answers_json_text(world: World) -> None:
    sid = world.login()
    out = DB.handler(
        json.dumps({"v": 2, "sid": sid, "op": "add", "text": "买牛奶"}).encode(), fc_context()
    )
    assert isinstance(out, str) and json.loads(out)["data"]["text"] == "买牛奶"
    assert "买牛奶" in out and ": " not in out  # raw UTF-8 and compact, as JSON.stringify


@pytest.mark.parametrize("event", [b"", b"{", b"null", "not bytes", None, 12, b"\xff\xfe"])
def test_the_db_handler_never_raises_on_garbage(world: World, event) -> None:
    assert json.loads(DB.handler(event, fc_context()))["error"]["code"] == "InvalidRequest"


def test_the_db_handler_turns_a_crashing_app_into_internal(monkeypatch, capsys) -> None:
    class Crashing:
        def handle(self, event, request_id):
            raise RuntimeError("boom")

    monkeypatch.setattr(DB, "APPS", AppCache.fixed(Crashing()))
    assert json.loads(DB.handler(b"{}", fc_context())) == {
        "error": {"code": "Internal", "message": "internal error"}
    }
    assert "fc-req-9" in capsys.readouterr().err


def test_a_misconfigured_session_function_answers_500_and_logs_the_variables(
    monkeypatch, capsys
) -> None:
    monkeypatch.setattr(SESSION, "APPS", AppCache("session", lambda s, c: None, environ={}))
    status, _, body = call_wsgi(b"{}")
    assert status.startswith("500") and body["error"]["code"] == "Misconfigured"
    assert (
        "misconfigured" in body["error"]["message"] and "DATA_KEY" not in body["error"]["message"]
    )
    assert "DATA_KEY" in capsys.readouterr().err


def test_a_misconfigured_db_function_answers_misconfigured(monkeypatch) -> None:
    monkeypatch.setattr(DB, "APPS", AppCache("db", lambda s, c: None, environ={}))
    assert json.loads(DB.handler(b"{}", fc_context()))["error"]["code"] == "Misconfigured"


def test_a_broken_declaration_answers_misconfigured_and_is_logged_once_per_instance(
    monkeypatch, capsys
) -> None:
    from miniapp.collections import DeclarationsInvalid

    def build(settings, ctx):
        raise DeclarationsInvalid(
            (
                "shared/miniapp/collections/notes.py: COLLECTION.fields"
                "['Title']: the name is reserved or not [a-z]",
            )
        )

    monkeypatch.setattr(failures, "_REPORTED", set())
    monkeypatch.setattr(DB, "APPS", AppCache("db", build, environ=dict(DB_ENV)))
    answers = [json.loads(DB.handler(b"{}", fc_context())) for _ in range(3)]
    assert (
        answers
        == [
            {
                "error": {
                    "code": "Misconfigured",
                    "message": "the function is misconfigured; see its logs",
                }
            }
        ]
        * 3
    )
    logged = capsys.readouterr().err
    assert logged.count("configuration error") == 1 and "fields['Title']" in logged


@pytest.mark.parametrize("content_length", [True, False])
def test_a_too_large_body_is_refused_with_its_real_size(world: World, content_length: bool) -> None:
    status, _, answer = call_wsgi(
        b'{"authCode": "' + b"a" * 70_000 + b'"}', content_length=content_length
    )
    assert status.startswith("413")
    assert answer["error"]["message"] == "body is 70016 bytes; the limit is 65536"


def _refused_by_kms(builds: list[int]):
    from miniapp.errors import UpstreamUnavailable

    def build(settings, ctx):
        builds.append(1)
        raise UpstreamUnavailable(
            "KMS GetSecretValue of HASH_KEY_SECRET failed: Forbidden.RAM (HTTP 403)"
        )

    return build


def test_a_db_instance_kms_refuses_answers_upstream_unavailable_and_retries(monkeypatch, capsys):
    builds: list[int] = []
    env = {"HASH_KEY_SECRET": "todo/hash-key", "OTS_INSTANCE": "inst"}
    monkeypatch.setattr(DB, "APPS", AppCache("db", _refused_by_kms(builds), environ=env))
    for _ in range(2):
        answer = json.loads(DB.handler(b"{}", fc_context()))
        assert answer["error"]["code"] == "UpstreamUnavailable"
        assert "Forbidden.RAM" in answer["error"]["message"]
        assert "Traceback" not in json.dumps(answer)
    assert len(builds) == 2  # nothing cached: each request tries KMS again
    err = capsys.readouterr().err
    assert "could not start: UpstreamUnavailable" in err and "Traceback" not in err


def test_a_session_instance_kms_refuses_answers_503(monkeypatch):
    env = {
        "HASH_KEY_SECRET": "a",
        "DATA_KEY_SECRET": "b",
        "ALIPAY_APP_PRIVATE_KEY_SECRET": "c",
        "OTS_INSTANCE": "inst",
        "ALIPAY_APP_ID": "app",
        "ALIPAY_PUBLIC_KEY": "k",
        "CLIENT_ROLE_ARN": "acs:ram::1:role/client",
        "DB_FUNCTION_NAME": "db",
    }
    monkeypatch.setattr(SESSION, "APPS", AppCache("session", _refused_by_kms([]), environ=env))
    status, _, body = call_wsgi(b"{}")
    assert status.startswith("503") and body["error"]["code"] == "UpstreamUnavailable"
