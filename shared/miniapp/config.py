"""Configuration: `Settings`, read from environment variables when a handler is first built
(never at import), and `FcContext`, what FC's context object tells an instance (region, account,
service, the service role's credentials). `Settings.with_context` fills the values FC knows and
derives default endpoints; `Settings.with_secrets` adds the secrets read from KMS (the
environment holds only their names), so adapters read one complete object. Every problem found
is reported at once, by variable name, in a ConfigError; values are never echoed.
The variables are documented in docs/configuration.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .crypto import DATA_KEY_BYTES, KeyRing, parse_data_key, parse_key_ring

Function = Literal["session", "db", "notify", "orders"]
_TABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
_ROLE_ARN = re.compile(r"acs:ram::[0-9]+:role/[A-Za-z0-9.-]{1,64}")
_URL = re.compile(r"https?://[^\s/]+(/\S*)?")
_CERT_SN = re.compile(r"[0-9a-f]{32}")
_ROOT_CERT_SN = re.compile(r"[0-9a-f]{32}(_[0-9a-f]{32})*")
_SECRET_NAME = re.compile(r"[A-Za-z0-9_/+=.@-]{1,192}")
_SELLER_ID = re.compile(r"2088\d{12}")
# The variables naming each function's KMS secrets (the only secrets it holds).
SECRET_VARIABLES: dict[str, tuple[str, ...]] = {
    "db": ("HASH_KEY_SECRET",),
    "session": ("HASH_KEY_SECRET", "DATA_KEY_SECRET", "ALIPAY_APP_PRIVATE_KEY_SECRET"),
    "notify": (),  # it verifies Alipay's signatures with Alipay's public key: no secret
    "orders": ("ALIPAY_APP_PRIVATE_KEY_SECRET",),
}
# Functions that speak to Alipay's trade API or verify its notifies.
PAYMENT_FUNCTIONS = ("db", "notify", "orders")
SIGN_MODES = ("key", "cert")


class ConfigError(Exception):
    """The function's configuration is missing or invalid; the message says which variables.
    `problems` holds each problem found, each starting with its variable's name (`make deploy`
    reports them by the template parameter that sets the variable)."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)


@dataclass(frozen=True)
class ServiceCredentials:
    """The service role's temporary credentials, as FC hands them to each invocation."""

    access_key_id: str
    access_key_secret: str = field(repr=False)
    security_token: str = field(default="", repr=False)


def _seconds(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 0.0
    return seconds if seconds > 0 and seconds == seconds else 0.0  # NaN and negatives: unknown


@dataclass(frozen=True)
class FcContext:
    """What FC's context object tells an instance about itself and the request (`from_fc`)."""

    request_id: str = ""
    region: str = ""
    account_id: str = ""
    service_name: str = ""
    function_name: str = ""
    log_project: str = ""
    log_store: str = ""
    credentials: ServiceCredentials = ServiceCredentials("", "", "")
    timeout_seconds: float = 0.0  # the function's timeout; 0 when the context does not say

    @classmethod
    def from_fc(cls, context: Any) -> FcContext:
        """From FC's Python runtime context object (attributes as documented by FC)."""
        creds, service, function = (
            getattr(context, name, None) for name in ("credentials", "service", "function")
        )

        def text(obj: Any, name: str) -> str:
            return str(getattr(obj, name, "") or "")

        return cls(
            request_id=text(context, "request_id"),
            region=text(context, "region"),
            account_id=text(context, "account_id"),
            service_name=text(service, "name"),
            function_name=text(function, "name"),
            log_project=text(service, "log_project"),
            log_store=text(service, "log_store"),
            credentials=ServiceCredentials(
                text(creds, "access_key_id"),
                text(creds, "access_key_secret"),
                text(creds, "security_token"),
            ),
            timeout_seconds=_seconds(getattr(function, "timeout", 0)),
        )


@dataclass(frozen=True)
class Settings:
    """The function's configuration, from `from_env` and completed by `with_context`."""

    # both functions
    ots_instance: str
    kms_endpoint: str = ""  # default https://kms.{region}.aliyuncs.com
    secret_names: Mapping[str, str] = field(default_factory=dict)  # variable -> KMS secret name
    hash_key: bytes = field(default=b"", repr=False)  # keys user hashes and list cursors
    ots_endpoint: str = ""  # default https://{instance}.{region}.ots.aliyuncs.com
    session_table: str = "session"
    data_table: str = "todo_list"  # the 2020 protocol's rows
    user_data_table: str = "user_data"  # the rows of every declared collection
    usage_table: str = "usage"
    guard_table: str = "guard"  # the session function's rate limits
    idempotency_table: str = "idempotency"  # the db function's idempotency keys
    identity_table: str = "identity"  # the session function only
    session_ttl_seconds: int = 7 * 24 * 3600
    session_idle_seconds: int = 24 * 3600
    item_quota: int = 10_000
    upstream_timeout_seconds: float = 5.0  # one Alipay or STS call
    ots_retry_seconds: float = 2.0  # back-off budget of one Tablestore call (throttling, 5xx)
    region: str = ""  # default: FC's context
    account_id: str = ""  # default: FC's context
    # the session function only
    data_keys: KeyRing | None = field(default=None, repr=False)  # seal Alipay tokens
    alipay_app_id: str = ""
    alipay_app_private_key: str = field(default="", repr=False)
    alipay_public_key: str = ""
    alipay_gateway: str = "https://openapi.alipay.com/gateway.do"
    alipay_sign_mode: str = "key"  # "cert": certificate mode, with the two serial numbers below
    alipay_app_cert_sn: str = ""
    alipay_root_cert_sn: str = ""
    sts_endpoint: str = "sts.aliyuncs.com"
    client_role_arn: str = ""
    db_function_name: str = ""
    db_service_name: str = ""  # the db function's service; default: this function's own
    fc_service_name: str = ""  # default: FC's context
    sts_duration_seconds: int = 900
    rate_limit_per_ip: int = 30
    rate_limit_per_user: int = 10
    rate_limit_window_seconds: int = 60
    refresh_limit_per_session: int = 10
    refresh_limit_per_user: int = 30
    # payments (db, notify, orders; docs/payments.md)
    alipay_key_secret: str = ""  # db: the KMS secret of the private key, read on first order
    alipay_seller_id: str = ""  # notify: the merchant id notifies must name
    order_index_table: str = "order_index"
    http_trigger_endpoint: str = ""  # default https://{account}.{region}.fc.aliyuncs.com
    notify_service_name: str = ""
    notify_function_name: str = ""
    order_pay_minutes: int = 15
    secrets_read: bool = False
    # the db function's users' files (docs/files.md); none of them: the file ops are Misconfigured
    files_bucket: str = ""
    oss_endpoint: str = ""  # the function's own calls (the region's internal endpoint)
    oss_public_endpoint: str = ""  # what tickets and URLs name (the client's endpoint)
    files_role_arn: str = ""  # assumed, scoped to one user, to sign tickets and URLs

    @property
    def payments(self) -> bool:
        """Whether this function is set up for payments (the template sets it up)."""
        return bool(self.alipay_app_id)

    @property
    def notify_url(self) -> str:
        """Where Alipay posts the notifies of the trades this function creates: the notify
        function's HTTP trigger."""
        if not (self.notify_service_name and self.notify_function_name):
            return ""
        base = self.http_trigger_endpoint or (
            f"https://{self.account_id}.{self.region}.fc.aliyuncs.com"
        )
        return (
            f"{base.rstrip('/')}/2016-08-15/proxy/{self.notify_service_name}/"
            f"{self.notify_function_name}/"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str], function: Function) -> Settings:
        reader = _Reader(env)
        if function not in SECRET_VARIABLES:
            raise ValueError(f"unknown function {function!r}")
        values: dict[str, Any] = dict(
            ots_instance=reader.text("OTS_INSTANCE", required=True),
            kms_endpoint=reader.url("KMS_ENDPOINT"),
            secret_names={
                name: reader.matching(name, _SECRET_NAME, "a KMS secret name")
                for name in SECRET_VARIABLES[function]
            },
            ots_endpoint=reader.url("OTS_ENDPOINT"),
            session_table=reader.table("SESSION_TABLE", "session"),
            data_table=reader.table("DATA_TABLE", "todo_list"),
            user_data_table=reader.table("USER_DATA_TABLE", "user_data"),
            usage_table=reader.table("USAGE_TABLE", "usage"),
            guard_table=reader.table("GUARD_TABLE", "guard"),
            idempotency_table=reader.table("IDEMPOTENCY_TABLE", "idempotency"),
            session_ttl_seconds=reader.integer(
                "SESSION_TTL_SECONDS", 7 * 24 * 3600, 1, 10 * 365 * 86400
            ),
            session_idle_seconds=reader.integer(
                "SESSION_IDLE_SECONDS", 24 * 3600, 1, 10 * 365 * 86400
            ),
            item_quota=reader.integer("ITEM_QUOTA", 10_000, 1, 10_000_000),
            upstream_timeout_seconds=reader.number("UPSTREAM_TIMEOUT_SECONDS", 5.0, 0.1, 600.0),
            ots_retry_seconds=reader.number("OTS_RETRY_SECONDS", 2.0, 0.0, 600.0),
            region=reader.text("REGION"),
            account_id=reader.text("ACCOUNT_ID"),
        )
        if function in PAYMENT_FUNCTIONS:
            values.update(reader.payments(function))
        if function == "db":
            values.update(
                files_bucket=reader.text("FILES_BUCKET"),
                oss_endpoint=reader.url("OSS_ENDPOINT"),
                oss_public_endpoint=reader.url("OSS_PUBLIC_ENDPOINT"),
                files_role_arn=reader.text("FILES_ROLE_ARN"),
                sts_endpoint=reader.text("STS_ENDPOINT") or cls.sts_endpoint,
            )
            if values["files_role_arn"] and not _ROLE_ARN.fullmatch(values["files_role_arn"]):
                reader.problems.append(
                    "FILES_ROLE_ARN must look like acs:ram::<account>:role/<name>"
                )
        if values["session_idle_seconds"] > values["session_ttl_seconds"]:
            reader.problems.append("SESSION_IDLE_SECONDS must not exceed SESSION_TTL_SECONDS")
        if function == "session":
            values.update(
                alipay_app_id=reader.text("ALIPAY_APP_ID", required=True),
                alipay_public_key=reader.text("ALIPAY_PUBLIC_KEY", required=True),
                alipay_gateway=reader.url("ALIPAY_GATEWAY") or cls.alipay_gateway,
                identity_table=reader.table("IDENTITY_TABLE", "identity"),
                **reader.alipay_signing(),
                sts_endpoint=reader.text("STS_ENDPOINT") or cls.sts_endpoint,
                client_role_arn=reader.matching(
                    "CLIENT_ROLE_ARN", _ROLE_ARN, "acs:ram::<account>:role/<name>"
                ),
                db_function_name=reader.text("DB_FUNCTION_NAME", required=True),
                db_service_name=reader.text("DB_SERVICE_NAME"),
                fc_service_name=reader.text("FC_SERVICE_NAME"),
                sts_duration_seconds=reader.integer("STS_DURATION_SECONDS", 900, 900, 43200),
                rate_limit_per_ip=reader.integer("RATE_LIMIT_PER_IP", 30, 1, 1_000_000),
                rate_limit_per_user=reader.integer("RATE_LIMIT_PER_USER", 10, 1, 1_000_000),
                rate_limit_window_seconds=reader.integer("RATE_LIMIT_WINDOW_SECONDS", 60, 1, 86400),
                refresh_limit_per_session=reader.integer(
                    "REFRESH_LIMIT_PER_SESSION", 10, 1, 1_000_000
                ),
                refresh_limit_per_user=reader.integer("REFRESH_LIMIT_PER_USER", 30, 1, 1_000_000),
            )
        reader.raise_if_problems()
        return cls(**values)

    @property
    def secrets_loaded(self) -> bool:
        return self.secrets_read or bool(self.hash_key) or not self.secret_names

    def with_secrets(self, values: Mapping[str, str]) -> Settings:
        """The settings with the secrets read from KMS, by the variable naming each; ConfigError
        (naming the variable, never the value) when one is not what the function needs.
        The Alipay key's text is checked and normalised to PEM by the Alipay adapter when the
        app is built (bare base64, PKCS#1 or #8, escaped newlines)."""
        values = {k: v for k, v in values.items() if k in self.secret_names}  # its own only
        problems = []
        hash_key = None
        if "HASH_KEY_SECRET" in self.secret_names:
            hash_key = parse_data_key(values.get("HASH_KEY_SECRET", ""))
            if hash_key is None:
                problems.append(
                    f"the secret HASH_KEY_SECRET names must be {DATA_KEY_BYTES} random bytes "
                    "in base64"
                )
        ring = None
        if "DATA_KEY_SECRET" in self.secret_names:
            ring = parse_key_ring(values.get("DATA_KEY_SECRET", ""))
            if ring is None:
                problems.append(
                    "the secret DATA_KEY_SECRET names must be a key ring: id:base64 "
                    f"entries of {DATA_KEY_BYTES} bytes, comma-separated, current "
                    "first (or one bare base64 key)"
                )
        if (
            "ALIPAY_APP_PRIVATE_KEY_SECRET" in self.secret_names
            and not values.get("ALIPAY_APP_PRIVATE_KEY_SECRET", "").strip()
        ):
            problems.append("the secret ALIPAY_APP_PRIVATE_KEY_SECRET names is empty")
        if problems:
            raise ConfigError("invalid secrets: " + "; ".join(problems))
        return replace(
            self,
            hash_key=hash_key or b"",
            data_keys=ring,
            alipay_app_private_key=values.get("ALIPAY_APP_PRIVATE_KEY_SECRET", ""),
            secrets_read=True,
        )

    def with_context(self, ctx: FcContext, function: Function) -> Settings:
        """The settings completed with what FC's context knows; ConfigError if still incomplete."""
        region = self.region or ctx.region
        resolved = replace(
            self,
            region=region,
            account_id=self.account_id or ctx.account_id,
            fc_service_name=self.fc_service_name or ctx.service_name,
            ots_endpoint=(
                self.ots_endpoint or f"https://{self.ots_instance}.{region}.ots.aliyuncs.com"
            ),
            kms_endpoint=self.kms_endpoint or f"https://kms.{region}.aliyuncs.com",
        )
        missing = [
            name
            for name, value in (("REGION", resolved.region), ("ACCOUNT_ID", resolved.account_id))
            if not value
        ]
        if function == "session" and not resolved.fc_service_name:
            missing.append("FC_SERVICE_NAME")
        if missing:
            raise ConfigError(
                "neither the environment nor FC's context gives " + ", ".join(missing)
            )
        return resolved


class _Reader:
    """Reads variables, collecting every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.problems: list[str] = []

    def text(self, name: str, required: bool = False) -> str:
        value = self._env.get(name, "").strip()
        if required and not value:
            self.problems.append(f"{name} is required")
        return value

    def table(self, name: str, default: str) -> str:
        value = self.text(name) or default
        if not _TABLE.fullmatch(value):
            self.problems.append(f"{name} is not a valid Tablestore table name")
        return value

    def url(self, name: str) -> str:
        value = self.text(name)
        if value and not _URL.fullmatch(value):
            self.problems.append(f"{name} must be an http:// or https:// URL")
        return value

    def matching(self, name: str, pattern: re.Pattern[str], form: str) -> str:
        value = self.text(name, required=True)
        if value and not pattern.fullmatch(value):
            self.problems.append(f"{name} must look like {form}")
        return value

    def payments(self, function: str) -> dict[str, Any]:
        """The Alipay app and the order settings of a payments function. The db function serves
        orders only when ALIPAY_APP_ID is set (the template sets it); the others need it."""
        app_id = self.text("ALIPAY_APP_ID", required=function != "db")
        values: dict[str, Any] = {
            "order_index_table": self.table("ORDER_INDEX_TABLE", "order_index"),
            "order_pay_minutes": self.integer("ORDER_PAY_MINUTES", 15, 1, 1440),
        }
        if not app_id:
            return values
        values.update(
            alipay_app_id=app_id,
            alipay_public_key=self.text("ALIPAY_PUBLIC_KEY", required=True),
            alipay_gateway=self.url("ALIPAY_GATEWAY") or Settings.alipay_gateway,
            **self.alipay_signing(),
        )
        if function == "db":
            values.update(
                alipay_key_secret=self.matching(
                    "ALIPAY_APP_PRIVATE_KEY_SECRET", _SECRET_NAME, "a KMS secret name"
                ),
                http_trigger_endpoint=self.url("HTTP_TRIGGER_ENDPOINT"),
                notify_service_name=self.text("NOTIFY_SERVICE_NAME", required=True),
                notify_function_name=self.text("NOTIFY_FUNCTION_NAME", required=True),
            )
        if function == "notify":
            values["alipay_seller_id"] = self.matching(
                "ALIPAY_SELLER_ID", _SELLER_ID, "an Alipay merchant id (2088 and 12 digits)"
            )
        return values

    def alipay_signing(self) -> dict[str, str]:
        """ALIPAY_SIGN_MODE and, in certificate mode, the two serial numbers it needs."""
        mode = self.text("ALIPAY_SIGN_MODE") or "key"
        if mode not in SIGN_MODES:
            self.problems.append("ALIPAY_SIGN_MODE must be key or cert")
        app_sn, root_sn = self.text("ALIPAY_APP_CERT_SN"), self.text("ALIPAY_ROOT_CERT_SN")
        if mode == "cert":
            for name, value, pattern in (
                ("ALIPAY_APP_CERT_SN", app_sn, _CERT_SN),
                ("ALIPAY_ROOT_CERT_SN", root_sn, _ROOT_CERT_SN),
            ):
                if not value:
                    self.problems.append(f"{name} is required when ALIPAY_SIGN_MODE is cert")
                elif not pattern.fullmatch(value):
                    self.problems.append(
                        f"{name} must be a certificate serial number "
                        "(32 lower-case hex digits; the root's joined by _)"
                    )
        else:
            app_sn = root_sn = ""  # key mode ignores them, so a leftover value changes nothing
        return {
            "alipay_sign_mode": mode,
            "alipay_app_cert_sn": app_sn,
            "alipay_root_cert_sn": root_sn,
        }

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name} must be an integer")
            return default
        if not low <= value <= high:
            self.problems.append(f"{name} must be between {low} and {high}")
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{name} must be a number")
            return default
        if not low <= value <= high:  # also false for NaN
            self.problems.append(f"{name} must be between {low:g} and {high:g}")
        return value

    def raise_if_problems(self) -> None:
        if self.problems:
            raise ConfigError(
                "invalid configuration: " + "; ".join(self.problems), self.problems
            )
