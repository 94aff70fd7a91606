"""Settings from environment variables, and FC's context."""

from __future__ import annotations

import base64
import os
from types import SimpleNamespace

import pytest

from miniapp.config import ConfigError, FcContext, Settings

DATA_KEY = base64.b64encode(os.urandom(32)).decode()
HASH_KEY = base64.b64encode(os.urandom(32)).decode()
DB_ENV = {"HASH_KEY_SECRET": "todo/hash-key", "OTS_INSTANCE": "inst"}
SESSION_ENV = {
    **DB_ENV,
    "ALIPAY_APP_ID": "test-app",
    "DATA_KEY_SECRET": "todo/data-key",
    "ALIPAY_APP_PRIVATE_KEY_SECRET": "todo/alipay-app-private-key",
    "ALIPAY_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----\\nQUJD\\n-----END PUBLIC KEY-----",
    "CLIENT_ROLE_ARN": "acs:ram::123:role/client",
    "DB_FUNCTION_NAME": "db",
}
CONTEXT = FcContext(
    request_id="r",
    region="cn-shanghai",
    account_id="123",
    service_name="todo",
    function_name="session",
    log_project="proj",
    log_store="store",
)


SECRETS = {
    "HASH_KEY_SECRET": HASH_KEY,
    "DATA_KEY_SECRET": DATA_KEY,
    "ALIPAY_APP_PRIVATE_KEY_SECRET": "UFJJVg==",
}


def test_the_db_function_needs_only_its_secret_name_and_the_instance() -> None:
    settings = Settings.from_env(DB_ENV, "db")
    assert settings.secret_names == {"HASH_KEY_SECRET": "todo/hash-key"}
    assert not settings.secrets_loaded
    assert (settings.session_table, settings.data_table) == ("session", "todo_list")
    assert settings.session_ttl_seconds == 7 * 24 * 3600 and settings.session_idle_seconds == 86400


def test_the_session_function_reads_its_defaults() -> None:
    settings = Settings.from_env(SESSION_ENV, "session")
    assert settings.sts_duration_seconds == 900
    assert settings.alipay_gateway == "https://openapi.alipay.com/gateway.do"
    assert (settings.rate_limit_per_ip, settings.rate_limit_per_user) == (30, 10)
    assert (settings.refresh_limit_per_session, settings.refresh_limit_per_user) == (10, 30)


def test_the_session_function_names_three_secrets_and_holds_none() -> None:
    settings = Settings.from_env(SESSION_ENV, "session")
    assert set(settings.secret_names) == {
        "HASH_KEY_SECRET",
        "DATA_KEY_SECRET",
        "ALIPAY_APP_PRIVATE_KEY_SECRET",
    }
    assert (settings.hash_key, settings.data_keys, settings.alipay_app_private_key) == (
        b"",
        None,
        "",
    )


def test_secrets_read_from_kms_complete_the_settings() -> None:
    settings = Settings.from_env(SESSION_ENV, "session").with_secrets(SECRETS)
    assert settings.secrets_loaded and settings.hash_key == base64.b64decode(HASH_KEY)
    assert settings.data_keys is not None
    assert settings.data_keys.keys == {"1": base64.b64decode(DATA_KEY)}
    # passed on as given, for the Alipay adapter to check
    assert settings.alipay_app_private_key == "UFJJVg=="


def test_the_db_function_takes_no_data_key_even_when_offered() -> None:
    settings = Settings.from_env(DB_ENV, "db").with_secrets(SECRETS)
    assert settings.data_keys is None and settings.alipay_app_private_key == ""


@pytest.mark.parametrize(
    "name, value",
    [
        ("HASH_KEY_SECRET", base64.b64encode(b"x" * 16).decode()),
        ("DATA_KEY_SECRET", "not base64 at all!"),
        ("DATA_KEY_SECRET", f"2:{DATA_KEY},2:{DATA_KEY}"),
        ("DATA_KEY_SECRET", f"bad id:{DATA_KEY}"),
        ("ALIPAY_APP_PRIVATE_KEY_SECRET", " "),
    ],
    ids=[
        "short hash key",
        "ring not base64",
        "ring id twice",
        "ring id with a space",
        "blank private key",
    ],
)
def test_a_malformed_secret_is_a_config_error_naming_its_variable_not_its_value(
    name: str, value: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(SESSION_ENV, "session").with_secrets({**SECRETS, name: value})
    assert name in str(caught.value) and DATA_KEY not in str(caught.value)


def test_timeouts_may_be_fractional_seconds() -> None:
    settings = Settings.from_env(
        {**DB_ENV, "OTS_RETRY_SECONDS": "0.5", "UPSTREAM_TIMEOUT_SECONDS": "0.25"}, "db"
    )
    assert (settings.ots_retry_seconds, settings.upstream_timeout_seconds) == (0.5, 0.25)


def test_every_missing_variable_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({}, "session")
    for name in (
        "HASH_KEY_SECRET",
        "DATA_KEY_SECRET",
        "OTS_INSTANCE",
        "ALIPAY_APP_ID",
        "ALIPAY_APP_PRIVATE_KEY_SECRET",
        "ALIPAY_PUBLIC_KEY",
        "CLIENT_ROLE_ARN",
        "DB_FUNCTION_NAME",
    ):
        assert name in str(caught.value)


@pytest.mark.parametrize(
    "name, value",
    [
        ("DATA_KEY_SECRET", "a name with spaces"),
        ("KMS_ENDPOINT", "kms.example"),
        ("SESSION_TTL_SECONDS", "seven days"),
        ("SESSION_IDLE_SECONDS", "0"),
        ("STS_DURATION_SECONDS", "600"),
        ("STS_DURATION_SECONDS", "50000"),
        ("RATE_LIMIT_PER_IP", "0"),
        ("REFRESH_LIMIT_PER_SESSION", "0"),
        ("REFRESH_LIMIT_PER_USER", "many"),
        ("CLIENT_ROLE_ARN", "arn:aws:iam::1:role/x"),
        ("SESSION_TABLE", "bad-name"),
        ("ALIPAY_GATEWAY", "ftp://example"),
        ("UPSTREAM_TIMEOUT_SECONDS", "nan"),
        ("OTS_RETRY_SECONDS", "soon"),
    ],
)
def test_an_invalid_value_is_a_config_error_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**SESSION_ENV, name: value}, "session")
    assert name in str(caught.value)


def test_a_config_error_never_shows_a_value() -> None:
    secret = base64.b64encode(b"s" * 20).decode()
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(SESSION_ENV, "session").with_secrets(
            {**SECRETS, "HASH_KEY_SECRET": secret}
        )
    assert secret not in str(caught.value)


def test_an_idle_timeout_longer_than_the_lifetime_is_refused() -> None:
    with pytest.raises(ConfigError):
        Settings.from_env(
            {**DB_ENV, "SESSION_TTL_SECONDS": "100", "SESSION_IDLE_SECONDS": "200"}, "db"
        )


def test_the_context_fills_region_account_service_and_endpoints() -> None:
    settings = Settings.from_env(SESSION_ENV, "session").with_context(CONTEXT, "session")
    assert (settings.region, settings.account_id, settings.fc_service_name) == (
        "cn-shanghai",
        "123",
        "todo",
    )
    assert settings.ots_endpoint == "https://inst.cn-shanghai.ots.aliyuncs.com"
    assert settings.kms_endpoint == "https://kms.cn-shanghai.aliyuncs.com"


def test_the_environment_wins_over_the_context() -> None:
    env = {**DB_ENV, "OTS_ENDPOINT": "http://127.0.0.1:9", "REGION": "local-1"}
    settings = Settings.from_env(env, "db").with_context(CONTEXT, "db")
    assert (settings.ots_endpoint, settings.region) == ("http://127.0.0.1:9", "local-1")


def test_a_context_without_region_or_account_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(DB_ENV, "db").with_context(FcContext(), "db")
    assert "REGION" in str(caught.value) and "ACCOUNT_ID" in str(caught.value)


def test_settings_never_show_secrets_in_a_repr() -> None:
    settings = Settings.from_env(SESSION_ENV, "session").with_secrets(SECRETS)
    assert "UFJJVg" not in repr(settings) and "data_keys" not in repr(settings)
    assert "hash_key=" not in repr(settings)


def test_the_fc_context_object_is_read_by_attribute() -> None:
    fc = SimpleNamespace(
        request_id="req",
        region="cn-beijing",
        account_id="42",
        credentials=SimpleNamespace(
            access_key_id="STS.a", access_key_secret="sekret", security_token="tok3n"
        ),
        function=SimpleNamespace(name="db"),
        service=SimpleNamespace(name="todo", log_project="lp", log_store="ls"),
    )
    ctx = FcContext.from_fc(fc)
    assert (
        ctx.request_id,
        ctx.region,
        ctx.account_id,
        ctx.service_name,
        ctx.function_name,
        ctx.log_project,
        ctx.log_store,
    ) == ("req", "cn-beijing", "42", "todo", "db", "lp", "ls")
    assert ctx.credentials.access_key_id == "STS.a" and ctx.credentials.security_token == "tok3n"
    assert "sekret" not in repr(ctx) and "tok3n" not in repr(ctx)


def test_a_missing_fc_context_gives_empty_values() -> None:
    assert FcContext.from_fc(None) == FcContext()
