"""The Tablestore emulator: the cloud's wide-column store behind `tablestore.OTSClient`,
assembled from the core (`core`, `catalog`), the protobuf translation (`protocol`) and the HTTP
envelope (`http`), with switchable faults.

It serves the cloud's own instance and any instance a ROS stack declares
(`ALIYUN::OTS::Instance`), each with its own tables in its own SQLite file beside the first one;
a request reaches the instance its `x-ots-instancename` header names, as the cloud's per-instance
endpoints do, so two stacks with different `DBInstanceName`s never share a row.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

from ..account import Account
from ..clock import Clock
from ..credentials import CredentialBook
from ..faults import Fault, FaultApplier, FaultBoard, kinds_of
from ..httpshell import HttpRequest, HttpResponse
from ..state import Database
from . import policy
from .core import Tablestore
from .http import Caller, api_name, authenticate, error_response, respond
from .model import KeyColumn, TableMeta, TableSpec, TablestoreError
from .protocol import Protocol

log = logging.getLogger("localcloud.tablestore")

SERVICE = "tablestore"
FAULT_KINDS = kinds_of(SERVICE)
# Tablestore's instance naming rule: 3-16 letters, digits and '-', starting with a letter and not
# ending with '-'.
_INSTANCE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,14}[A-Za-z0-9]")
# What Tablestore answers for its own fault kinds (faults.ANSWERS["tablestore"]).
FAULT_ERRORS = {
    "busy": TablestoreError("OTSServerBusy", "Server is busy."),
    "internal_error": TablestoreError("OTSInternalServerError", "Internal server error."),
}


class TablestoreEmulator:
    def __init__(
        self,
        *,
        db_path: Path | str,
        account: Account,
        credentials: CredentialBook,
        clock: Clock,
        faults: FaultBoard,
        instance_name: str,
    ) -> None:
        self._account = account
        self._credentials = credentials
        self._faults = FaultApplier(faults, SERVICE)
        self.instance_name = instance_name  # the cloud's own instance
        self.core = Tablestore(db_path, clock)
        self._db_path = Path(db_path)
        self._clock = clock
        self._instances: dict[str, tuple[Tablestore, Protocol]] = {
            instance_name: (self.core, Protocol(self.core))
        }
        self._lock = threading.Lock()
        self._role_policies: policy.RolePolicies = lambda arn: None

    def set_role_policies(self, role_policies: policy.RolePolicies) -> None:
        """The policies of the roles the deployed templates declare, by role ARN."""
        self._role_policies = role_policies

    @property
    def database(self) -> Database:
        """The emulator's SQLite state for the cloud's own instance (the console exports,
        imports and resets it; a stack's own instances are not part of it)."""
        return self.core.database

    def add_instance(self, name: str) -> None:
        """Serve instance `name` too (a stack's ALIYUN::OTS::Instance); its rows live in
        `{db}.{name}{suffix}` beside the first instance's, so they survive a restart."""
        with self._lock:
            if name in self._instances:
                return
            if not _INSTANCE_NAME.fullmatch(name):
                raise ValueError(
                    f"Tablestore instance name {name!r} is invalid: 3-16 letters, "
                    f"digits and '-', starting with a letter"
                )
            path = self._db_path.with_name(f"{self._db_path.stem}.{name}{self._db_path.suffix}")
            core = Tablestore(path, self._clock)
            self._instances[name] = (core, Protocol(core))

    def instances(self) -> tuple[str, ...]:
        return tuple(self._instances)

    def ensure_table(self, spec: TableSpec, instance: str | None = None) -> None:
        """Create the table a template declares, unless it exists (its rows are kept)."""
        core = self._instances[instance or self.instance_name][0]
        if core.catalog.exists(spec.name):
            return
        meta = TableMeta(
            spec.name,
            tuple(KeyColumn(n, t) for n, t in spec.primary_key),
            ttl_seconds=spec.ttl_seconds,
            max_versions=spec.max_versions,
        )
        try:
            core.catalog.create(meta)
        except TablestoreError as exc:
            if exc.code != "OTSObjectAlreadyExist":
                raise ValueError(f"table {spec.name!r}: {exc.message}") from None

    def drop_table(self, name: str, instance: str | None = None) -> None:
        """Delete a table and its rows, if it exists (a stack's table, when the stack goes)."""
        core = self._instances.get(instance or self.instance_name, (None, None))[0]
        if core is not None and core.catalog.exists(name):
            core.catalog.delete(name)

    def remove_instance(self, name: str) -> None:
        """Stop serving an instance a stack made (the cloud's own instance stays). Its file is
        kept, as the stack's tables were dropped first."""
        with self._lock:
            if name != self.instance_name:
                self._instances.pop(name, None)

    def _addressed(self, request: HttpRequest) -> tuple[str, Protocol]:
        """The instance the request names; an unknown name is checked against the cloud's own
        instance, which refuses it as the cloud does ("The instance is not found.")."""
        name = request.header("x-ots-instancename").strip()
        if name not in self._instances:
            name = self.instance_name
        return name, self._instances[name][1]

    def app(self, request: HttpRequest) -> HttpResponse:
        api = api_name(request)
        return self._faults.around(
            api, lambda: self._serve(request, api), lambda fault: self._refuse(fault, request, api)
        )

    def _serve(self, request: HttpRequest, api: str) -> HttpResponse:
        caller: Caller | None = None
        instance, protocol = self._addressed(request)
        try:
            caller = authenticate(request, api, self._credentials, instance)
            principal = caller.principal

            def authorize(action: str, table: str | None) -> None:
                policy.authorize(
                    principal,
                    self._account.region,
                    self._account.account_id,
                    instance,
                    action,
                    table,
                    self._role_policies,
                )

            return respond(api, 200, protocol.handle(api, request.body, authorize), caller)
        except TablestoreError as exc:
            return error_response(api, exc, caller)
        except Exception:  # a bug here must still answer in the cloud's format, without a trace
            log.exception("Tablestore %s failed", api)
            return error_response(
                api, TablestoreError("OTSInternalServerError", "Internal server error."), caller
            )

    def _refuse(self, fault: Fault, request: HttpRequest, api: str) -> HttpResponse:
        try:  # sign the refusal when we can, as the cloud's front end would
            caller: Caller | None = authenticate(
                request, api, self._credentials, self._addressed(request)[0]
            )
        except TablestoreError:
            caller = None
        return error_response(api, FAULT_ERRORS[fault.kind].with_code(fault.code), caller)
