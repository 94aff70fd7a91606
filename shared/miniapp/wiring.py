"""Composition: builds each function's app from Settings, FC's context and the adapters.

`session_app_from_ports` / `db_app_from_ports` compose the services from any implementation of
the ports (unit tests pass fakes); `build_session_app` / `build_db_app` construct the real
adapters and call them. SDKs are imported only inside the build functions, on first use, so
importing a handler stays cheap. `AppCache` keeps one app per FC instance.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from . import gc_pause
from .config import ConfigError, FcContext, Function, ServiceCredentials, Settings
from .crypto import KeyRing, UserHasher, derive_key
from .errors import MiniAppError, Misconfigured
from .ports import (
    Clock,
    CollectionRows,
    CountedRows,
    CredentialIssuer,
    FileObjects,
    Grants,
    IdempotencyStore,
    IdentityLinks,
    IdentityProvider,
    ItemStore,
    LogSink,
    OrderIndex,
    RateLimiter,
    SessionItemReader,
    SessionStore,
    TradeGateway,
)
from .services.sessions import SessionLifetime, Sessions
from .services.telemetry import Telemetry

App = TypeVar("App")

if TYPE_CHECKING:  # each function imports only its own services, inside its builder (cold start)
    from .domain.schema import Collection
    from .entrypoints.db_app import DbApp
    from .entrypoints.registry import Registry
    from .entrypoints.session_app import SessionApp
    from .services.collection import CollectionService


@dataclass(frozen=True)
class SessionPorts:
    """The adapters the session function's services run on."""

    identity: IdentityProvider
    issuer: CredentialIssuer
    sessions: SessionStore
    limiter: RateLimiter
    sink: LogSink
    clock: Clock
    links: IdentityLinks


@dataclass(frozen=True)
class DbPorts:
    """The adapters the db function's services run on."""

    sessions: SessionStore
    items: ItemStore  # the 2020 rows
    rows: CollectionRows  # every declared collection's items
    counted: CountedRows  # the tallies of the 2020 rows and of each collection
    idempotency: IdempotencyStore
    sink: LogSink
    clock: Clock
    # the session row read with a command's first rows: a warm v2 get in one request
    session_items: SessionItemReader | None = None
    # payments (the `orders` collection): the grants paid orders make, the index of orders, and
    # the Alipay trade client, built on first use (an instance serving todos never builds it)
    grants: Grants | None = None
    order_index: OrderIndex | None = None
    trades: Callable[[], TradeGateway] | None = None
    # the bucket of users' files; None: a file collection's ops answer Misconfigured
    files: FileObjects | None = None


def _lifetime(settings: Settings) -> SessionLifetime:
    idle_ms = settings.session_idle_seconds * 1000
    # Activity is written at most once per tenth of the idle window (2.4 h of the default 24 h),
    # not on every request: a warm read stays one read. The price: the recorded activity may lag
    # by that tenth, so an idle session can end after 90% of the idle window instead of 100%.
    return SessionLifetime(
        absolute_ms=settings.session_ttl_seconds * 1000,
        idle_ms=idle_ms,
        touch_every_ms=max(1, idle_ms // 10),
    )


def _hasher(settings: Settings) -> UserHasher:
    return UserHasher(derive_key(settings.hash_key, "user-hash/v1"))


def session_app_from_ports(settings: Settings, ports: SessionPorts) -> SessionApp:
    """`settings` must be complete (`Settings.with_context`, `Settings.with_secrets`)."""
    from .crypto import TokenCipher
    from .domain.access import DbFunctionRef
    from .entrypoints.session_app import SessionApp
    from .services.identity import Identities
    from .services.login import Login, LoginLimits

    hasher = _hasher(settings)
    login = Login(
        identity=ports.identity,
        identities=Identities(ports.links, settings.alipay_app_id),
        issuer=ports.issuer,
        sessions=Sessions(ports.sessions, ports.clock, _lifetime(settings)),
        limiter=ports.limiter,
        cipher=TokenCipher(_data_keys(settings)),
        hasher=hasher,
        db_function=DbFunctionRef(
            settings.region,
            settings.account_id,
            settings.db_service_name or settings.fc_service_name,
            settings.db_function_name,
        ),
        sts_duration_seconds=settings.sts_duration_seconds,
        limits=LoginLimits(
            settings.rate_limit_per_ip,
            settings.rate_limit_per_user,
            settings.rate_limit_window_seconds,
            settings.refresh_limit_per_session,
            settings.refresh_limit_per_user,
        ),
    )
    return SessionApp(login, Telemetry(ports.sink, ports.clock, hasher))


def _data_keys(settings: Settings) -> KeyRing:
    if settings.data_keys is None:
        raise ConfigError("the session function's settings hold no data key ring")
    return settings.data_keys


def registry_of(collections: tuple[Collection, ...]) -> Registry:
    """The commands of the 2020 protocol and of each collection's v2 API, in one registry."""
    from .entrypoints import compat2020, v2
    from .entrypoints.registry import Registry

    registry = Registry(list(compat2020.COMMANDS))
    for collection in collections:
        registry.register(v2.commands(collection))
    return registry


def db_app_from_ports(
    settings: Settings, ports: DbPorts, collections: tuple[Collection, ...] | None = None
) -> DbApp:
    """`collections`: the declared ones (`miniapp.collections.REGISTERED`) unless given."""
    from .collections import declared
    from .entrypoints.db_app import DbApp, DbServices
    from .services.collection import Legacy
    from .services.compat import Compat

    declarations = declared() if collections is None else collections
    cursor_key = derive_key(settings.hash_key, "cursor/v1")
    sealers: list[Callable[[str], None]] = []

    def seal(user_id: str) -> None:
        for sealer in sealers:
            sealer(user_id)

    compat = Compat(
        items=ports.items,
        counted=ports.counted,
        clock=ports.clock,
        quota=settings.item_quota,
        before_todo_shaped_put=seal,
    )
    legacy = Legacy(ports.items, compat.remove)
    served = {
        c.name: _collection_service(
            c,
            settings,
            ports,
            rows=ports.rows,
            counted=ports.counted,
            idempotency=ports.idempotency,
            clock=ports.clock,
            quota=settings.item_quota,
            cursor_key=cursor_key,
            legacy=legacy,
        )
        for c in declarations
    }
    sealers.extend(s.seal_legacy_rows for s in served.values() if s.declaration.legacy_rows)
    files = {
        name: _file_service(service, ports)
        for name, service in served.items()
        if service.declaration.files is not None
    }
    for service in served.values():
        service.files = files
    services = DbServices(compat=compat, collections=served, files=files)
    return DbApp(
        # The db function's role may not delete a session row: an expired one is refused here
        # and deleted by the table's TTL (or the session function, on a refresh or logout).
        sessions=Sessions(
            ports.sessions,
            ports.clock,
            _lifetime(settings),
            ports.session_items,
            delete_expired=False,
        ),
        services=services,
        registry=registry_of(declarations),
        telemetry=Telemetry(ports.sink, ports.clock, _hasher(settings)),
    )


def _collection_service(
    declaration: Collection, settings: Settings, ports: DbPorts, **base: Any
) -> CollectionService:
    """The service of one declared collection: the base one, or for `orders` the one that also
    opens and syncs Alipay trades (services/orders.py)."""
    from .services.collection import CollectionService
    from .services.orders import ORDERS, OrderBook, PaidOrders

    if declaration.name != ORDERS:
        return CollectionService(declaration, **base)
    from .catalog import CATALOG

    book = OrderBook(declaration, CATALOG, ports.rows, _grants(ports), ports.clock)
    return PaidOrders(
        declaration,
        book=book,
        trades=ports.trades or _no_payments,
        index=ports.order_index or _NoOrderIndex(),
        notify_url=settings.notify_url,
        pay_minutes=settings.order_pay_minutes,
        **base,
    )


def _grants(ports: DbPorts) -> Grants:
    if ports.grants is not None:
        return ports.grants
    return cast(Grants, ports.counted)  # TallyRows and its fake keep the grants too


def _no_payments() -> TradeGateway:
    raise Misconfigured("payments are not set up for this function (ALIPAY_APP_ID)")


class _NoOrderIndex:
    def __getattr__(self, name: str) -> Any:
        raise Misconfigured("payments are not set up for this function (ORDER_INDEX_TABLE)")


def lazy(build: Callable[[], App]) -> Callable[[], App]:
    """`build()` on first call, kept once it succeeds (a failure is tried again next time)."""
    lock = threading.Lock()
    built: list[App] = []

    def get() -> App:
        with lock:
            if not built:
                built.append(build())
            return built[0]

    return get


def _trade_gateway(settings: Settings, creds: ServiceCredentials) -> TradeGateway:
    """The Alipay trade client of the db function, its private key read from KMS now (the
    first order of the instance), with the role's credentials of the app's build."""
    if not settings.payments:
        return _no_payments()
    key = settings.alipay_app_private_key
    if not key:
        named = replace(
            settings,
            secret_names={"ALIPAY_APP_PRIVATE_KEY_SECRET": settings.alipay_key_secret},
            secrets_read=False,
            hash_key=b"",
        )
        key = with_kms_secrets(named, creds).alipay_app_private_key
    try:
        return _alipay_trades(settings, key)
    except MiniAppError as exc:
        raise Misconfigured(exc.message) from None


def _alipay_trades(settings: Settings, private_key: str) -> TradeGateway:
    """Alipay's trade methods for the app, signing with `private_key` in the key or certificate
    mode the settings name (the db function's orders and the orders function share it)."""
    from .adapters.alipay import alipay_client
    from .adapters.alipay_trades import AlipayTrades

    client = alipay_client(
        settings.alipay_app_id,
        private_key,
        settings.alipay_public_key,
        settings.alipay_gateway,
        settings.upstream_timeout_seconds,
        app_cert_sn=settings.alipay_app_cert_sn,
        root_cert_sn=settings.alipay_root_cert_sn,
    )
    return AlipayTrades(client, settings.alipay_app_id)


def _file_service(items: Any, ports: DbPorts) -> Any:
    """A file collection's operations; without a bucket configured, each answers Misconfigured
    (the todo path never needs one)."""
    from .services.files import FileService

    return FileService(items, ports.files or _NoBucket(), ports.clock)


class _NoBucket:
    """FileObjects of a db function deployed without FILES_BUCKET (a template from before files)."""

    def __getattr__(self, name: str) -> Any:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise Misconfigured("files need FILES_BUCKET, OSS_ENDPOINT and FILES_ROLE_ARN")

        return refuse


def _file_objects(settings: Settings, creds: ServiceCredentials) -> FileObjects | None:
    """The bucket of users' files (adapters/oss.py; oss2 is imported on the first file call)."""
    if not (settings.files_bucket and settings.oss_endpoint and settings.files_role_arn):
        return None
    from .adapters.oss import OssFiles
    from .adapters.sts import StsCredentialIssuer

    return OssFiles(
        bucket=settings.files_bucket,
        endpoint=settings.oss_endpoint,
        public_endpoint=settings.oss_public_endpoint or settings.oss_endpoint,
        account_id=settings.account_id,
        credentials=creds,
        issuer=StsCredentialIssuer(
            settings.sts_endpoint,
            settings.region,
            creds.access_key_id,
            creds.access_key_secret,
            creds.security_token or None,
            settings.files_role_arn,
            settings.upstream_timeout_seconds,
        ),
        timeout_seconds=settings.upstream_timeout_seconds,
    )


def _tablestore_client(settings: Settings, creds: ServiceCredentials) -> Any:  # an OTSClient
    from .adapters import tablestore

    return tablestore.make_client(
        settings.ots_endpoint,
        settings.ots_instance,
        creds.access_key_id,
        creds.access_key_secret,
        creds.security_token or None,
        max_retry_seconds=settings.ots_retry_seconds,
    )


def with_kms_secrets(settings: Settings, creds: ServiceCredentials) -> Settings:
    """The settings with the secrets they name, read from KMS with the function's role (once per
    instance: when its app is built). Settings that hold their secrets already are kept. KMS
    refusing or failing raises UpstreamUnavailable, which the caller answers and retries on the
    next request."""
    if settings.secrets_loaded:
        return settings
    from .adapters.kms import KmsSecrets

    kms = KmsSecrets(
        settings.kms_endpoint,
        settings.region,
        creds.access_key_id,
        creds.access_key_secret,
        creds.security_token or None,
        settings.upstream_timeout_seconds,
    )
    return settings.with_secrets(
        {variable: kms.get(name, variable) for variable, name in settings.secret_names.items()}
    )


def build_session_app(settings: Settings, ctx: FcContext) -> SessionApp:
    settings = with_kms_secrets(settings.with_context(ctx, "session"), ctx.credentials)
    creds = ctx.credentials
    try:
        from .adapters import alipay, sts, tablestore
        from .adapters.clock import SystemClock
        from .adapters.log_lines import StreamLogSink

        client = _tablestore_client(settings, creds)
        ports = SessionPorts(
            identity=alipay.AlipayIdentityProvider(
                settings.alipay_app_id,
                settings.alipay_app_private_key,
                settings.alipay_public_key,
                settings.alipay_gateway,
                settings.upstream_timeout_seconds,
                app_cert_sn=settings.alipay_app_cert_sn,
                root_cert_sn=settings.alipay_root_cert_sn,
            ),
            issuer=sts.StsCredentialIssuer(
                settings.sts_endpoint,
                settings.region,
                creds.access_key_id,
                creds.access_key_secret,
                creds.security_token or None,
                settings.client_role_arn,
                settings.upstream_timeout_seconds,
            ),
            sessions=tablestore.TablestoreSessions(client, settings.session_table),
            limiter=tablestore.TablestoreRateLimiter(client, settings.guard_table),
            sink=StreamLogSink(),
            clock=SystemClock(),
            links=tablestore.TablestoreIdentityLinks(client, settings.identity_table),
        )
    except MiniAppError as exc:  # an adapter refused its configuration (a bad key, a bad URL)
        raise ConfigError(exc.message) from None
    return session_app_from_ports(settings, ports)


def build_db_app(settings: Settings, ctx: FcContext) -> DbApp:
    settings = with_kms_secrets(settings.with_context(ctx, "db"), ctx.credentials)
    creds = ctx.credentials
    try:
        from .adapters import tablestore
        from .adapters.clock import SystemClock
        from .adapters.log_lines import StreamLogSink

        client = _tablestore_client(settings, creds)
        ports = DbPorts(
            sessions=tablestore.TablestoreSessions(client, settings.session_table),
            items=tablestore.TablestoreItems(client, settings.data_table),
            rows=tablestore.TablestoreUserData(client, settings.user_data_table),
            counted=tablestore.counted_rows(
                client, settings.user_data_table, settings.usage_table, settings.data_table
            ),
            idempotency=tablestore.TablestoreIdempotency(client, settings.idempotency_table),
            sink=StreamLogSink(),
            clock=SystemClock(),
            session_items=tablestore.TablestoreSessionItems(
                client,
                settings.session_table,
                settings.user_data_table,
                settings.usage_table,
                settings.data_table,
            ),
            order_index=tablestore.TablestoreOrderIndex(client, settings.order_index_table),
            trades=lazy(lambda: _trade_gateway(settings, creds)),
            files=_file_objects(settings, creds),
        )
    except MiniAppError as exc:
        raise ConfigError(exc.message) from None
    return db_app_from_ports(settings, ports)


class AppCache(Generic[App]):
    """The app of one FC instance, built on first use. Settings are read from the environment
    then, once. The app is rebuilt when FC hands the instance new service-role credentials
    (they are temporary, and the SDK clients hold the ones they were built with). A failed build
    is not cached: the next request tries again."""

    def __init__(
        self,
        function: Function,
        build: Callable[[Settings, FcContext], App],
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._function = function
        self._build = build
        self._environ = environ
        self._lock = threading.Lock()
        self._settings: Settings | None = None
        self._app: App | None = None
        self._credentials: ServiceCredentials | None = None

        self._fixed = False

    @classmethod
    def fixed(cls, app: App) -> AppCache[App]:
        """A cache that always answers `app` (tests inject apps built on fakes this way)."""
        cache: AppCache[App] = cls("db", lambda settings, ctx: app)
        cache._app, cache._fixed = app, True
        return cache

    def get(self, ctx: FcContext) -> App:
        with self._lock:
            if self._fixed and self._app is not None:
                return self._app
            if self._app is None or ctx.credentials != self._credentials:
                if self._app is not None:
                    self._app = None
                    gc_pause.thaw()
                with gc_pause.building():
                    if self._settings is None:
                        env = os.environ if self._environ is None else self._environ
                        self._settings = Settings.from_env(env, self._function)
                    self._app = self._build(self._settings, ctx)
                self._credentials = ctx.credentials
            return self._app


def _order_book(settings: Settings, client: Any, clock: Any) -> Any:
    from .adapters import tablestore
    from .catalog import CATALOG
    from .collections import declared
    from .services.orders import ORDERS, OrderBook

    orders = next((c for c in declared() if c.name == ORDERS), None)
    if orders is None:
        raise ConfigError(f"no collection '{ORDERS}' is registered (miniapp/collections)")
    tallies = tablestore.counted_rows(
        client, settings.user_data_table, settings.usage_table, settings.data_table
    )
    rows = tablestore.TablestoreUserData(client, settings.user_data_table)
    return OrderBook(orders, CATALOG, rows, tallies, clock)


def build_notify_app(settings: Settings, ctx: FcContext) -> Any:
    """The notify function: no secret (it verifies with Alipay's public key); the orders' rows,
    the grants and who owns each order."""
    settings = settings.with_context(ctx, "notify")
    try:
        from .adapters import tablestore
        from .adapters.alipay_notify import AlipayNotifyVerifier
        from .adapters.clock import SystemClock
        from .adapters.log_lines import StreamLogSink
        from .entrypoints.payments import NotifyApp
        from .services.notify import NotifyReceiver, NotifySettings

        client = _tablestore_client(settings, ctx.credentials)
        clock = SystemClock()
        receiver = NotifyReceiver(
            NotifySettings(settings.alipay_app_id, settings.alipay_seller_id),
            AlipayNotifyVerifier(
                settings.alipay_app_id,
                settings.alipay_public_key,
                settings.alipay_gateway,
                app_cert_sn=settings.alipay_app_cert_sn,
                root_cert_sn=settings.alipay_root_cert_sn,
            ),
            tablestore.TablestoreOrderIndex(client, settings.order_index_table),
            _order_book(settings, client, clock),
            StreamLogSink(),
            clock,
        )
    except MiniAppError as exc:
        raise ConfigError(exc.message) from None
    return NotifyApp(receiver)


def build_orders_app(settings: Settings, ctx: FcContext) -> Any:
    """The orders function: the reconciler and the operator's commands, with the app's private
    key (read from KMS when the instance starts)."""
    settings = with_kms_secrets(settings.with_context(ctx, "orders"), ctx.credentials)
    try:
        from .adapters import tablestore
        from .adapters.clock import SystemClock
        from .entrypoints.payments import OrdersApp
        from .services.reconcile import Desk, Reconciler

        client = _tablestore_client(settings, ctx.credentials)
        clock = SystemClock()
        book = _order_book(settings, client, clock)
        index = tablestore.TablestoreOrderIndex(client, settings.order_index_table)
        trades = _alipay_trades(settings, settings.alipay_app_private_key)
    except MiniAppError as exc:
        raise ConfigError(exc.message) from None
    return OrdersApp(
        Reconciler(index, book, trades, clock, settings.order_pay_minutes),
        Desk(index, book, trades),
    )
