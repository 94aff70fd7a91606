"""The session function's Alipay settings for key and certificate mode, and the identity table."""

from __future__ import annotations

import pytest

from miniapp.config import ConfigError, Settings

from .test_config import SESSION_ENV

APP_SN = "0123456789abcdef0123456789abcdef"
ROOT_SN = "fedcba9876543210fedcba9876543210_00112233445566778899aabbccddeeff"


def test_key_mode_is_the_default_and_needs_no_serial_numbers() -> None:
    settings = Settings.from_env(SESSION_ENV, "session")
    assert settings.alipay_sign_mode == "key"
    assert (settings.alipay_app_cert_sn, settings.alipay_root_cert_sn) == ("", "")
    assert settings.identity_table == "identity"


def test_certificate_mode_reads_both_serial_numbers() -> None:
    settings = Settings.from_env(
        {
            **SESSION_ENV,
            "ALIPAY_SIGN_MODE": "cert",
            "ALIPAY_APP_CERT_SN": APP_SN,
            "ALIPAY_ROOT_CERT_SN": ROOT_SN,
        },
        "session",
    )
    assert (
        settings.alipay_sign_mode,
        settings.alipay_app_cert_sn,
        settings.alipay_root_cert_sn,
    ) == ("cert", APP_SN, ROOT_SN)


def test_key_mode_ignores_leftover_serial_numbers() -> None:
    settings = Settings.from_env(
        {**SESSION_ENV, "ALIPAY_SIGN_MODE": "key", "ALIPAY_APP_CERT_SN": APP_SN}, "session"
    )
    assert settings.alipay_app_cert_sn == ""


@pytest.mark.parametrize(
    "env, says",
    [
        (
            {"ALIPAY_SIGN_MODE": "cert"},
            "ALIPAY_APP_CERT_SN is required when ALIPAY_SIGN_MODE is cert",
        ),
        (
            {"ALIPAY_SIGN_MODE": "cert", "ALIPAY_APP_CERT_SN": APP_SN},
            "ALIPAY_ROOT_CERT_SN is required",
        ),
        (
            {
                "ALIPAY_SIGN_MODE": "cert",
                "ALIPAY_APP_CERT_SN": "xyz",
                "ALIPAY_ROOT_CERT_SN": ROOT_SN,
            },
            "ALIPAY_APP_CERT_SN must be a certificate serial number",
        ),
        (
            {
                "ALIPAY_SIGN_MODE": "cert",
                "ALIPAY_APP_CERT_SN": APP_SN,
                "ALIPAY_ROOT_CERT_SN": ROOT_SN + "_",
            },
            "ALIPAY_ROOT_CERT_SN must be a certificate serial",
        ),
        ({"ALIPAY_SIGN_MODE": "certificate"}, "ALIPAY_SIGN_MODE must be key or cert"),
        (
            {"IDENTITY_TABLE": "no such table"},
            "IDENTITY_TABLE is not a valid Tablestore table name",
        ),
    ],
)
def test_bad_alipay_settings_are_named_without_their_values(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({**SESSION_ENV, **env}, "session")
    assert says in str(raised.value)
    assert "xyz" not in str(raised.value)
