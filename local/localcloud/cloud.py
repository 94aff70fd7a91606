"""Assembles the local cloud: every emulator on its own loopback port, configured from
`template.yml`, sharing one account, one credential book, one clock and one fault board.

`make dev` and the pytest fixture both build a `LocalCloud`; only the ports differ (a base port
and the next ones for the dev server, 0 = ephemeral for tests).

Two files describe a running cloud:
- `client-config/local.json`: what a mini program needs to reach it (no secret; safe to hand out);
- `{state_dir}/cloud.json` (git-ignored): everything a developer's tools need, the root key and
  the sandbox app's key files included. The CLIs (`fault`, `logs`) and the demo find the running
  cloud from it, never from a default port.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .account import Account, load_or_create_account
from .admin import PREFIX as ADMIN_PREFIX
from .admin import AdminApp
from .clock import Clock, ShiftableClock
from .console import CONSOLE_PATH, ConsoleApp
from .credentials import CredentialBook
from .devstack import DevStack, DevStackFailed
from .faults import FaultBoard
from .guard import SameSiteGuard
from .httpshell import HttpServer
from .reload import CodeWatcher
from .schedule import Scheduler
from .state import make_private
from .traffic import Traffic

log = logging.getLogger("localcloud")

LOCAL_PARAMETERS_FILE = "parameters.json"
# The template's CodeBucket when the cloud runs the packages in build/ directly (no upload).
DIRECT_CODE_BUCKET = "local-packages"
CLOUD_FILE = "cloud.json"  # in the state folder: the running cloud, for the developer's tools
# What a mini program needs, and nothing else: client-config/ may be given to anyone.
CLIENT_CONFIG_KEYS = (
    "accountId",
    "region",
    "serviceName",
    "sessionServiceName",
    "sessionFunctionName",
    "dbFunctionName",
    "fcEndpoint",
    "sessionUrl",
)
CLOUD_CONFIG_KEYS = CLIENT_CONFIG_KEYS + (
    "otsEndpoint",
    "otsInstance",
    "slsEndpoint",
    "slsProject",
    "slsLogstore",
    "stsEndpoint",
    "alipayGateway",
    "alipaySandbox",
    "alipayAppId",
    "alipayAppPrivateKeyFile",
    "alipayPublicKeyFile",
    "accessKeyId",
    "accessKeySecret",
    "ossEndpoint",
    "rosEndpoint",
    "consoleUrl",
    "kmsEndpoint",
    "notifyUrl",
    "ordersServiceName",
    "ordersFunctionName",
)
DEFAULT_BASE_PORT = 9100
# How each service is named to a person, for messages about its port.
SERVICE_LABELS = {
    "fc": "Function Compute",
    "tablestore": "Tablestore",
    "sls": "Log Service",
    "sts": "STS",
    "alipay": "Alipay gateway",
    "oss": "OSS",
    "ros": "ROS",
    "kms": "KMS",
}


@dataclass(frozen=True)
class Ports:
    """One port per service. The field order is the port order: `from_base` gives the first
    service the base port and each next one the next port, so a service added later (as a new
    last field) takes the port after the others and no existing port moves."""

    fc: int = DEFAULT_BASE_PORT
    tablestore: int = DEFAULT_BASE_PORT + 1
    sls: int = DEFAULT_BASE_PORT + 2
    sts: int = DEFAULT_BASE_PORT + 3
    alipay: int = DEFAULT_BASE_PORT + 4
    oss: int = DEFAULT_BASE_PORT + 5
    ros: int = DEFAULT_BASE_PORT + 6
    kms: int = DEFAULT_BASE_PORT + 7

    @classmethod
    def ephemeral(cls) -> Ports:
        return cls(**{f.name: 0 for f in fields(cls)})

    @classmethod
    def from_base(cls, base: int, **chosen: int | None) -> Ports:
        """base, base+1, ... in field order; a port named in `chosen` (not None) wins. Base 0
        makes every port not chosen ephemeral."""
        ports = {f.name: (base + i if base else 0) for i, f in enumerate(fields(cls))}
        unknown = set(chosen) - set(ports)
        if unknown:
            raise ValueError(f"no service {', '.join(sorted(unknown))}")
        ports.update({name: port for name, port in chosen.items() if port is not None})
        return cls(**ports)

    @staticmethod
    def services() -> tuple[str, ...]:
        return tuple(f.name for f in fields(Ports))


class PortUnavailable(Exception):
    """A service's port could not be bound (another process holds it, or it is not allowed)."""

    def __init__(self, service: str, host: str, port: int, reason: str) -> None:
        self.service = service
        self.host = host
        self.port = port
        self.reason = reason
        super().__init__(
            f"port {port} ({SERVICE_LABELS.get(service, service)}) on {host} {reason}; "
            f"choose another with --{service}-port PORT, or move every service with "
            f"--base-port PORT"
        )


@dataclass(frozen=True)
class CloudOptions:
    repo_root: Path
    state_dir: Path
    template_path: Path
    parameters_file: Path | None = None  # developer's overrides of template parameters (JSON)
    host: str = "127.0.0.1"
    ports: Ports = field(default_factory=Ports)
    region: str = "cn-hangzhou"
    parameters: Mapping[str, str] = field(default_factory=dict)  # win over the file's values
    # The sandbox app's identity mode at start (user_id, both, open_id); None keeps the one it had.
    alipay_identity: str | None = None
    # Rebuild and recycle on a source edit (`make dev`); tests that need it turn it on.
    reload: bool = False
    reload_every: float = 1.0
    # `make dev`: serve the template as a ROS stack that `make deploy`'s own script deploys
    # (localcloud.devstack), so what runs is what would be shipped; off, the functions run from
    # build/ directly (the same files, with no upload: what most tests use, for speed).
    dev_stack: bool = False

    def resolved(self) -> CloudOptions:
        root = self.repo_root.resolve()
        return replace(
            self,
            repo_root=root,
            state_dir=(root / self.state_dir).resolve(),
            template_path=(root / self.template_path).resolve(),
            parameters_file=(root / self.parameters_file).resolve()
            if self.parameters_file
            else None,
        )


def reset_state(state_dir: Path) -> None:
    """`--reset`: forget every table, log, credential, user and key of the local cloud."""
    if state_dir.exists():
        shutil.rmtree(state_dir)


def _local_secret_parameters(state_dir: Path) -> dict[str, str]:
    """Values the developer would paste from the Alipay console and a key vault in the cloud; the
    local cloud makes its own on first start and keeps them (the data key must stay stable or the
    stored tokens become unreadable). A value a newer template needs is added to an older file."""
    import base64

    path = state_dir / LOCAL_PARAMETERS_FILE
    values: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    made = {
        # Local app ids start with 9 so they can never be mistaken for a real Alipay AppId.
        "AppId": lambda: "9" + "".join(secrets.choice("0123456789") for _ in range(15)),
        "DataKey": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        "HashKey": lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    missing = {name: make() for name, make in made.items() if name not in values}
    if missing:
        values.update(missing)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(values, indent=2))
    return values


class LocalCloud:
    def __init__(
        self,
        options: CloudOptions,
        *,
        clock: Clock | None = None,
        faults: FaultBoard | None = None,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.options = options.resolved()
        self.clock = clock or ShiftableClock()
        self.faults = faults or FaultBoard()
        self.report = report or log.info  # one-line news for the developer (reloads)
        self._servers: dict[str, HttpServer] = {}
        self.scheduler = Scheduler(self.clock)  # timer triggers, Alipay notifies
        self.fc: Any = None
        self.watcher: CodeWatcher | None = None
        self.traffic = Traffic()  # requests served, by emulator and API (round-trip counts)

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> LocalCloud:
        from .alipay import AlipayEmulator
        from .fc import FunctionComputeEmulator
        from .kms import KmsEmulator
        from .sls import LogServiceEmulator
        from .sts import RoleSpec, StsEmulator
        from .tablestore import TablestoreEmulator
        from .template import load_template

        opts = self.options
        state = opts.state_dir
        make_private(state)  # before anything is read or written: fixes an older state's modes
        self.account: Account = load_or_create_account(state, opts.region)
        self.credentials = CredentialBook(self.account, state / "credentials.sqlite3", self.clock)
        local_params = _local_secret_parameters(state)
        self.alipay_app_id = local_params["AppId"]
        overrides = self._parameter_overrides()
        # The gateway's app signs as the template's functions are configured to.
        signing = overrides.get("AlipaySignMode", "key")
        self.alipay = AlipayEmulator(
            db_path=state / "alipay.sqlite3",
            keys_dir=state / "alipay",
            clock=self.clock,
            faults=self.faults,
            app_id=self.alipay_app_id,
            signing=signing,
            identity=opts.alipay_identity,
            scheduler=self.scheduler,
        )
        generated = {**local_params, **self._alipay_parameters(signing)}
        self.template = self._load_template(load_template, generated, overrides)
        # What is served outside any stack. With make dev's stack, no service and no role: the
        # stack brings them. The tables and logstores are declared either way.
        self.base_template = (
            replace(self.template, services=(), roles=(), secrets=())
            if opts.dev_stack
            else self.template
        )

        self.tablestore = TablestoreEmulator(
            db_path=state / "tablestore.sqlite3",
            account=self.account,
            credentials=self.credentials,
            clock=self.clock,
            faults=self.faults,
            instance_name=self.tablestore_instance,
        )
        self.sls = LogServiceEmulator(
            db_path=state / "sls.sqlite3",
            account=self.account,
            credentials=self.credentials,
            clock=self.clock,
            faults=self.faults,
        )
        self.ensure_declared()
        roles = {
            r.name.lower(): RoleSpec(r.name, r.arn, r.max_session_duration)
            for r in self.base_template.roles
        }
        self.sts = StsEmulator(
            account=self.account,
            credentials=self.credentials,
            clock=self.clock,
            faults=self.faults,
            roles=roles,
        )
        self.kms = KmsEmulator(credentials=self.credentials, faults=self.faults, region=opts.region)
        self.serve_grants(self.base_template)

        try:
            self._start_servers(FunctionComputeEmulator)
            if opts.dev_stack:
                self.dev_stack().deploy(self.report)
        except BaseException:
            self.stop()  # no half-started cloud keeps ports or workers
            raise
        if opts.reload:
            self.watcher = CodeWatcher(
                opts.repo_root,
                self._redeploy if opts.dev_stack else self.fc.recycle,
                self.report,
                opts.reload_every,
            ).start()
        make_private(state)  # what starting added (key files, stack folders)
        self.scheduler.start()
        self.write_cloud_file()  # last: its presence says every service listens
        return self

    def _start_servers(self, emulator: Any) -> None:
        from .alipay import SANDBOX_PREFIX

        ports = self.options.ports
        self._serve("tablestore", self.tablestore.app, ports.tablestore)
        self._serve("sls", self.sls.app, ports.sls)
        self._serve("sts", self.sts.app, ports.sts)
        # The sandbox's own routes mint auth codes (a login as any test user), so they sit behind
        # the same guard as the admin endpoint; gateway.do is signed with the app's key.
        self._serve(
            "alipay",
            self.alipay.app,
            ports.alipay,
            screen=SameSiteGuard(SANDBOX_PREFIX, self.options.host),
        )
        self._serve("kms", self.kms.app, ports.kms)
        self._start_oss(ports)  # the db function's files
        # FC last: its workers get the other endpoints in their environment.
        environment = self.function_environment()
        self.fc = emulator(
            template=self.base_template,
            account=self.account,
            credentials=self.credentials,
            clock=self.clock,
            faults=self.faults,
            issuer=self.sts,
            log_sink=self.sls,
            extra_env=environment,
            region=self.options.region,
            # make dev's stack brings the functions later: their Python is found (or the cloud
            # refuses to start) now, as when the template is served directly
            runtimes={f.runtime for s in self.template.services for f in s.functions},
            scheduler=self.scheduler,
        )
        admin = AdminApp(self.faults, self.clock, self.alipay)
        console = ConsoleApp(self)  # the web console, beside the admin endpoint
        # The admin endpoint and the console sit behind one guard (localcloud.guard).
        self._serve(
            "fc",
            console.wrap(admin.wrap(self.fc.app)),
            ports.fc,
            screen=SameSiteGuard(ADMIN_PREFIX, self.options.host),
            **self.fc.server_options(),
        )
        self.fc.endpoint = self.url("fc")
        # HTTP triggers are served here, not at {account}.{region}.fc.aliyuncs.com: the notify
        # URL the db function gives Alipay names the local FC (the invoker reads the
        # environment at each cold start, so this late value reaches every instance).
        environment["HTTP_TRIGGER_ENDPOINT"] = self.url("fc")
        self._start_deploy_services(ports)

    def _start_oss(self, ports: Ports) -> None:
        """OSS: the users' files (the template's buckets) and `make deploy`'s packages."""
        from .oss import ObjectStore, OssEmulator

        self.oss = OssEmulator(
            store=ObjectStore(self.options.state_dir / "oss.sqlite3", self.clock),
            account=self.account,
            credentials=self.credentials,
            clock=self.clock,
        )
        self.ensure_declared()  # the template's buckets
        self.serve_grants(self.base_template)
        self._serve(
            "oss", self.oss.app, ports.oss, screen=self.oss.screen, **self.oss.server_options()
        )

    def _start_deploy_services(self, ports: Ports) -> None:
        """ROS: what `make deploy` talks to (with OSS). Stacks deployed before a restart are
        served again."""
        from .ros import RosEmulator, StackBook
        from .ros.sources import TemplateSource
        from .stacks import CloudDeployment, deprovision, provision
        from .sts import RoleSpec

        state = self.options.state_dir
        base = self.base_template

        def publish(merged: Any) -> None:
            self.fc.deploy(merged)
            self.sts.set_roles(
                {
                    r.name.lower(): RoleSpec(r.name, r.arn, r.max_session_duration)
                    for r in merged.roles
                }
            )
            self.serve_grants(merged)

        deployment = CloudDeployment(
            state_dir=state / "ros",
            store=self.oss.store,
            account_id=self.account.account_id,
            region=self.options.region,
            base=lambda: base,
            publish=publish,
            provision=lambda t: provision(
                t, self.tablestore, self.sls, self.tablestore_instance, self.oss.store
            ),
            deprovision=lambda t, kept: deprovision(t, kept, self.tablestore, self.sls),
            fc_endpoint=self.url("fc"),
        )
        self.deployment = deployment  # which stack serves which FC service
        self.ros = RosEmulator(
            stacks=StackBook(state / "ros.sqlite3", self.clock, deployment),
            credentials=self.credentials,
            account_id=self.account.account_id,
            region=self.options.region,
            source=TemplateSource(self.oss, lambda: self.url("oss"), self.options.region),
        )
        self.ros.stacks.restore()
        self._serve("ros", self.ros.app, ports.ros)

    def serve_grants(self, template: Any) -> None:
        """KMS serves the template's secrets, and KMS and Tablestore apply its roles' policies."""
        from .policy import role_policies_of

        role_policies = role_policies_of(template.roles)
        self.kms.set_role_policies(role_policies)
        self.tablestore.set_role_policies(role_policies)
        self.sts.set_role_policies(role_policies)
        if getattr(self, "oss", None) is not None:  # OSS starts after the first call
            self.oss.set_role_policies(role_policies)
        self.kms.set_secrets((s.name, s.data) for s in template.secrets)

    def dev_stack(self) -> DevStack:
        """make dev's stack: this cloud's template and parameters, deployed by make deploy."""
        return DevStack(
            repo_root=self.options.repo_root,
            state_dir=self.options.state_dir,
            region=self.options.region,
            access_key_id=self.account.access_key_id,
            access_key_secret=self.account.access_key_secret,
            endpoints={name: self.url(name) for name in ("ros", "oss", "fc")},
            parameters=self._parameters,
        )

    def _redeploy(self) -> None:
        """After a reload's rebuild: ship the new packages as make deploy would (an unchanged
        package is not uploaded again; the update recycles the instances)."""
        try:
            self.dev_stack().deploy(self.report)
        except DevStackFailed as exc:
            self.report(
                f"reload: the stack update failed ({exc}); instances keep the previous code"
            )

    def ensure_declared(self) -> None:
        """Create the tables, logstores and buckets the template declares, where missing (at
        start, and after the console imported or reset the state)."""
        from .stacks import declare_buckets
        from .tablestore import TableSpec

        if getattr(self, "oss", None) is not None:  # OSS starts after the tables
            declare_buckets(self.template, self.oss.store)
        for table in self.template.tables:
            self.tablestore.ensure_table(
                TableSpec(table.name, table.primary_key, table.ttl_seconds, table.max_versions)
            )
        for logstore in self.template.logstores:
            self.sls.ensure_logstore(
                logstore.project, logstore.name, logstore.ttl_days, logstore.index
            )

    def stop(self) -> None:
        self.scheduler.stop()
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
        if self.fc is not None:
            self.fc.close()
            self.fc = None

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers ----------------------------------------------------------------------------
    def _serve(self, name: str, app: Any, port: int, **server_options: Any) -> None:
        try:
            server = HttpServer(
                self.traffic.wrap(name, app), self.options.host, port, **server_options
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortUnavailable(name, self.options.host, port, "is already in use") from None
            if exc.errno in (errno.EACCES, errno.EADDRNOTAVAIL):
                raise PortUnavailable(
                    name, self.options.host, port, f"cannot be bound ({exc.strerror})"
                ) from None
            raise
        self._servers[name] = server.start()

    def _alipay_parameters(self, signing: str) -> dict[str, str]:
        """What the developer would copy from the Alipay console: the app's private key and
        Alipay's public key, or in certificate mode Alipay's public key certificate and the serial
        numbers of the app's certificate and of Alipay's root (docs/alipay.md says why serial
        numbers, not those two certificates, travel in the template)."""
        from .alipay.apps import seller_id

        keys, certs = self.alipay.keys, self.alipay.certs
        # The merchant id the gateway's notifies name (for a template that checks seller_id).
        values = {
            "AlipayAppPrivateKey": keys.app_private_key_file.read_text(),
            "AlipaySellerId": seller_id(self.alipay_app_id),
        }
        if signing == "cert":
            # As scripts/alipay_certs.py prints it: one line of base64, the lightest form in
            # FC's 4 KB of environment variables.
            pem_lines = certs.alipay_cert_file.read_text().splitlines()
            values.update(
                AlipayPublicKey="".join(line for line in pem_lines if not line.startswith("-----")),
                AlipayAppCertSN=certs.app_cert_sn,
                AlipayRootCertSN=certs.root_cert_sn,
            )
        else:
            values["AlipayPublicKey"] = keys.alipay_public_key_file.read_text()
        return values

    def _parameter_overrides(self) -> dict[str, str]:
        path = self.options.parameters_file
        values: dict[str, str] = {}
        if path is not None and path.exists():
            data = json.loads(path.read_text())
            if not isinstance(data, dict):
                raise ValueError(f"{path.name}: expected a JSON object of parameter values")
            values = {str(k): str(v) for k, v in data.items()}
        values.update({str(k): str(v) for k, v in self.options.parameters.items()})
        return values

    def _load_template(
        self, load_template: Any, generated: Mapping[str, str], overrides: Mapping[str, str]
    ) -> Any:
        from .template import declared_parameters

        declared = declared_parameters(self.options.template_path)
        # Generated values only for parameters this template declares; the developer's file wins.
        params = {k: v for k, v in generated.items() if k in declared}
        params.setdefault("CodeBucket", DIRECT_CODE_BUCKET)
        params.update(overrides)
        self._parameters = dict(params)
        return load_template(
            self.options.template_path,
            params,
            account_id=self.account.account_id,
            region=self.options.region,
            code=self._built_package,
        )

    def set_parameters(self, values: Mapping[str, str]) -> None:
        """Serve the template again with `values` over the parameters the cloud started with ({}:
        back to those), as a stack update with new parameters would: each function's next call
        cold-starts with its new environment. Tests switch limits, lifetimes, quotas and the
        Alipay signing mode (`AlipaySignMode`, the gateway's app with it) so, on one cloud. Not
        with make dev's stack, whose parameters are `make deploy`'s."""
        from .template import declared_parameters, load_template

        if self.options.dev_stack:
            raise ValueError("make dev's stack takes its parameters from make deploy")
        if not hasattr(self, "_started_with"):
            self._started_with = dict(self._parameters)
        params = {**self._started_with, **values}
        signing = params.get("AlipaySignMode", "key")
        if signing != self._started_with.get("AlipaySignMode", "key"):
            # The other signing mode: the keys or certificates the functions need for it.
            declared = declared_parameters(self.options.template_path)
            generated = {k: v for k, v in self._alipay_parameters(signing).items() if k in declared}
            params = {**self._started_with, **generated, **values}
        template = load_template(
            self.options.template_path,
            params,
            account_id=self.account.account_id,
            region=self.options.region,
            code=self._built_package,
        )
        self.alipay.set_signing(signing)  # the gateway's app signs as the functions will
        self.template = self.base_template = template
        self._parameters = params
        self.fc.deploy(self.template)
        self.ensure_declared()
        self.serve_grants(self.template)

    def _built_package(self, bucket: str, key: str, path: str) -> Path:
        """Run a function's package straight from `make package`'s output: the object
        `session.zip` is the folder build/session (the name `make deploy` uploads it from)."""
        from .template import TemplateError

        folder = self.options.repo_root / "build" / Path(key).stem
        if not key.endswith(".zip") or not folder.is_dir():
            raise TemplateError(
                path,
                f"no package for {key!r}: expected the folder "
                f"build/{Path(key).stem} (run `make package`)",
            )
        return folder

    def url(self, name: str) -> str:
        return self._servers[name].url

    def function_environment(self) -> dict[str, str]:
        """The endpoint settings the functions read; the same names the template sets for the
        cloud, pointed at the emulators. This is the only difference between local and cloud."""
        return {
            "OTS_ENDPOINT": self.url("tablestore"),
            "STS_ENDPOINT": self.url("sts"),
            "KMS_ENDPOINT": self.url("kms"),
            "ALIPAY_GATEWAY": self.url("alipay") + "/gateway.do",
            # one local OSS for the function's calls and for what tickets and URLs name
            "OSS_ENDPOINT": self.url("oss"),
            "OSS_PUBLIC_ENDPOINT": self.url("oss"),
        }

    def cloud_config(self) -> dict[str, str]:
        """Everything a developer's tools need to reach this cloud ({state_dir}/cloud.json):
        every endpoint, the resource names, the local root key and the sandbox app's key files."""
        outputs = {k: str(v) for k, v in self.template.outputs.items()}
        service = outputs.get("ServiceName", "")
        session_service = outputs.get("SessionServiceName", service)
        session_fn = outputs.get("SessionFunctionName", "")
        logstore = next(iter(self.template.logstores), None)
        keys = self.alipay.keys
        root = self.options.repo_root

        def rel(p: Path | str) -> str:
            p = Path(p).resolve()
            return str(p.relative_to(root)) if p.is_relative_to(root) else str(p)

        config = {
            "accountId": self.account.account_id,
            "region": self.options.region,
            "serviceName": service,
            "sessionServiceName": session_service,
            "sessionFunctionName": session_fn,
            "dbFunctionName": outputs.get("DBFunctionName", ""),
            "fcEndpoint": self.url("fc"),
            "sessionUrl": f"{self.url('fc')}/2016-08-15/proxy/{session_service}/{session_fn}/",
            "otsEndpoint": self.url("tablestore"),
            "otsInstance": self.tablestore_instance,
            "slsEndpoint": self.url("sls"),
            "slsProject": logstore.project if logstore else "",
            "slsLogstore": logstore.name if logstore else "",
            "stsEndpoint": self.url("sts"),
            "alipayGateway": self.url("alipay") + "/gateway.do",
            "alipaySandbox": self.url("alipay") + "/sandbox",
            "alipayAppId": self.alipay_app_id,
            "alipayAppPrivateKeyFile": rel(keys.app_private_key_file),
            "alipayPublicKeyFile": rel(keys.alipay_public_key_file),
            "accessKeyId": self.account.access_key_id,
            "accessKeySecret": self.account.access_key_secret,
            "ossEndpoint": self.url("oss"),
            "rosEndpoint": self.url("ros"),
            "consoleUrl": self.url("fc") + CONSOLE_PATH,
            "kmsEndpoint": self.url("kms"),
            # Where the local Alipay gateway posts the notifies of the trades the db function
            # creates (its notify_url names this same trigger, on the local FC).
            "notifyUrl": (
                f"{self.url('fc')}/2016-08-15/proxy/{outputs.get('NotifyServiceName', '')}/"
                f"{outputs.get('NotifyFunctionName', '')}/"
                if outputs.get("NotifyServiceName")
                else ""
            ),
            "ordersServiceName": outputs.get("OrdersServiceName", ""),
            "ordersFunctionName": outputs.get("OrdersFunctionName", ""),
        }
        assert tuple(config) == CLOUD_CONFIG_KEYS
        return config

    def client_config(self) -> dict[str, str]:
        """What a mini program needs (client-config/local.json): no key, no file path."""
        config = self.cloud_config()
        return {key: config[key] for key in CLIENT_CONFIG_KEYS}

    @property
    def tablestore_instance(self) -> str:
        return next((t.instance for t in self.template.tables), "localcloud")

    @property
    def cloud_file(self) -> Path:
        return self.options.state_dir / CLOUD_FILE

    def write_client_config(self, path: Path) -> None:
        _write_json(path, self.client_config())

    def write_cloud_file(self) -> Path:
        """{state_dir}/cloud.json, readable by its owner only: it holds the root key."""
        _write_json(self.cloud_file, self.cloud_config(), private=True)
        return self.cloud_file


def _write_json(path: Path, value: Mapping[str, str], private: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2) + "\n")
    if private:
        tmp.chmod(0o600)
    tmp.replace(path)  # a reader never sees half a file
