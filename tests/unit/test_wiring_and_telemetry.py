"""AppCache (one app per instance) and the telemetry records."""

from __future__ import annotations

import base64
import os

import pytest

from miniapp.adapters.log_lines import StreamLogSink
from miniapp.config import FcContext, ServiceCredentials, Settings
from miniapp.services.telemetry import Telemetry
from miniapp.wiring import AppCache

from .fakes import BrokenSink, FakeClock, ListSink

ENV = {"HASH_KEY_SECRET": "todo/hash-key", "OTS_INSTANCE": "inst"}
KEY = base64.b64encode(os.urandom(32)).decode()


def context(key_id: str = "STS.1") -> FcContext:
    return FcContext(region="r", account_id="1", credentials=ServiceCredentials(key_id, "s", "t"))


def test_the_app_is_built_once_per_instance() -> None:
    builds = []
    cache = AppCache("db", lambda settings, ctx: builds.append(ctx) or object(), environ=ENV)
    assert cache.get(context()) is cache.get(context())
    assert len(builds) == 1


def test_the_app_is_rebuilt_when_fc_rotates_the_service_credentials() -> None:
    cache = AppCache("db", lambda settings, ctx: object(), environ=ENV)
    first = cache.get(context("STS.1"))
    assert cache.get(context("STS.2")) is not first


def test_an_app_replaced_on_rotation_is_freed_though_the_build_froze_it() -> None:
    """The build freezes what it made (cold start); a rebuild must not keep the old
    app's reference cycles alive for the instance's life."""
    import gc
    import weakref

    class App:
        def __init__(self) -> None:
            self.own = self.method  # a cycle, as a collection service holding its bound method

        def method(self) -> None: ...

    cache = AppCache("db", lambda settings, ctx: App(), environ=ENV)
    first = weakref.ref(cache.get(context("STS.1")))
    cache.get(context("STS.2"))
    gc.collect()
    assert first() is None


def test_settings_are_read_when_the_app_is_first_built_not_before() -> None:
    env: dict[str, str] = {}
    cache = AppCache("db", lambda settings, ctx: settings, environ=env)
    env.update(ENV)
    assert cache.get(context()).ots_instance == "inst"


def test_a_failed_build_is_retried_on_the_next_call() -> None:
    attempts = []

    def build(settings, ctx):
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("transient")
        return "app"

    cache = AppCache("db", build, environ=ENV)
    with pytest.raises(RuntimeError):
        cache.get(context())
    assert cache.get(context()) == "app"


def telemetry(sink) -> Telemetry:
    return Telemetry(sink, FakeClock(), lambda user_id: "h" * 32)


def test_an_invocation_record_has_the_documented_fields() -> None:
    sink = ListSink()
    telemetry(sink).invocation(
        request_id="r",
        function="db",
        protocol="v2",
        op="add",
        outcome="ok",
        latency_ms=12,
        user_id="2088",
    )
    assert sink.records == [
        {
            "kind": "invocation",
            "time": FakeClock().now_ms(),
            "requestId": "r",
            "function": "db",
            "protocol": "v2",
            "op": "add",
            "outcome": "ok",
            "latencyMs": 12,
            "userHash": "h" * 32,
        }
    ]


def test_an_unknown_user_is_an_empty_hash() -> None:
    sink = ListSink()
    telemetry(sink).audit(
        request_id="r",
        event="login_failed",
        outcome="InvalidAuthCode",
        user_id=None,
        client_ip="1.2.3.4",
    )
    assert sink.records[0]["userHash"] == "" and sink.records[0]["clientIp"] == "1.2.3.4"


def test_an_unknown_audit_event_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        telemetry(ListSink()).audit(
            request_id="r", event="deleted_everything", outcome="ok", user_id=None
        )


@pytest.mark.parametrize("error", [ConnectionError("down"), RuntimeError("bug"), TimeoutError()])
def test_a_raising_sink_is_ignored(error: Exception) -> None:
    sink = BrokenSink(error)
    telemetry(sink).invocation(
        request_id="r", function="db", protocol="", op="x", outcome="ok", latency_ms=1, user_id=None
    )
    assert sink.calls == 1


def test_the_stream_sink_writes_one_json_line_and_never_raises() -> None:
    import io
    import json

    stream = io.StringIO()
    StreamLogSink(stream).emit({"kind": "audit", "n": 1})
    assert json.loads(stream.getvalue()) == {"kind": "audit", "n": 1}
    closed = io.StringIO()
    closed.close()
    StreamLogSink(closed).emit({"kind": "audit"})


def test_each_invocation_has_written_its_record_when_it_answers() -> None:
    from .conftest import World

    world = World()
    world.login()
    assert [r["function"] for r in world.sink.of_kind("invocation")] == ["session"]
    world.db({"sid": "x", "op": "list"})
    assert [r["function"] for r in world.sink.of_kind("invocation")] == ["session", "db"]


def _rsa_pems() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _session_settings(private: str, public: str) -> Settings:
    """Session settings with their secrets already read (as KMS would give them)."""
    env = {
        **ENV,
        "OTS_ENDPOINT": "http://127.0.0.1:9",
        "ALIPAY_APP_ID": "test-app",
        "DATA_KEY_SECRET": "todo/data-key",
        "ALIPAY_APP_PRIVATE_KEY_SECRET": "todo/alipay",
        "ALIPAY_PUBLIC_KEY": public,
        "CLIENT_ROLE_ARN": "acs:ram::1:role/client",
        "DB_FUNCTION_NAME": "db",
        "STS_ENDPOINT": "http://127.0.0.1:9",
        "ALIPAY_GATEWAY": "http://127.0.0.1:9/gateway.do",
    }
    return Settings.from_env(env, "session").with_secrets(
        {"HASH_KEY_SECRET": KEY, "DATA_KEY_SECRET": KEY, "ALIPAY_APP_PRIVATE_KEY_SECRET": private}
    )


FC = FcContext(
    request_id="r",
    region="cn-hangzhou",
    account_id="1",
    service_name="todo",
    credentials=ServiceCredentials("STS.x", "secret", "token"),
)


def test_the_real_adapters_compose_into_both_apps_without_network() -> None:
    from miniapp.entrypoints.db_app import DbApp
    from miniapp.entrypoints.session_app import SessionApp
    from miniapp.wiring import build_db_app, build_session_app

    private, public = _rsa_pems()
    assert isinstance(build_session_app(_session_settings(private, public), FC), SessionApp)
    db_settings = Settings.from_env(ENV, "db").with_secrets({"HASH_KEY_SECRET": KEY})
    assert isinstance(build_db_app(db_settings, FC), DbApp)


def test_a_bad_alipay_key_is_a_config_error_when_the_app_is_built() -> None:
    from miniapp.config import ConfigError
    from miniapp.wiring import build_session_app

    _, public = _rsa_pems()
    with pytest.raises(ConfigError):
        build_session_app(_session_settings("bm90IGEga2V5", public), FC)


@pytest.mark.parametrize("idle_seconds", ["86400", "2", "600"])
def test_activity_is_recorded_at_most_once_per_tenth_of_the_idle_window(idle_seconds) -> None:
    from miniapp.wiring import _lifetime

    settings = Settings.from_env({**ENV, "SESSION_IDLE_SECONDS": idle_seconds}, "db")
    lifetime = _lifetime(settings)
    assert lifetime.idle_ms == int(idle_seconds) * 1000
    assert lifetime.touch_every_ms == lifetime.idle_ms // 10
