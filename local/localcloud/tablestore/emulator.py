"""The Tablestore emulator: one instance of the cloud's wide-column store behind
`tablestore.OTSClient`, assembled from the core (`core`, `catalog`), the protobuf translation
(`protocol`) and the HTTP envelope (`http`), with switchable faults.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from ..account import Account
from ..clock import Clock
from ..credentials import CredentialBook
from ..faults import DropConnection, Fault, FaultBoard
from ..httpshell import HttpRequest, HttpResponse
from . import policy
from .core import Tablestore
from .http import Caller, api_name, authenticate, error_response, respond
from .model import KeyColumn, TableMeta, TableSpec, TablestoreError
from .protocol import Protocol

log = logging.getLogger("localcloud.tablestore")

SERVICE = "tablestore"
FAULT_KINDS = {
    "server_busy": "answer 503 OTSServerBusy; nothing is read or written",
    "internal_error": "answer 500 OTSInternalServerError; nothing is read or written",
    "timeout": "hold the request for `seconds`, then hang up without an answer",
    "down": "hang up at once without an answer (service unreachable)",
    "lost_reply": "do the request, then hang up without the answer (a write is applied, the "
                  "caller cannot know)",
}
_FAULT_ERRORS = {
    "server_busy": ("OTSServerBusy", "Server is busy."),
    "internal_error": ("OTSInternalServerError", "Internal server error."),
}


class TablestoreEmulator:
    def __init__(self, *, db_path: Path | str, account: Account, credentials: CredentialBook,
                 clock: Clock, faults: FaultBoard, instance_name: str) -> None:
        self._account = account
        self._credentials = credentials
        self._faults = faults
        self.instance_name = instance_name
        self.core = Tablestore(db_path, clock)
        self._protocol = Protocol(self.core)

    def ensure_table(self, spec: TableSpec) -> None:
        """Create the table a template declares, unless it exists (its rows are kept)."""
        if self.core.catalog.exists(spec.name):
            return
        meta = TableMeta(spec.name, tuple(KeyColumn(n, t) for n, t in spec.primary_key),
                         ttl_seconds=spec.ttl_seconds, max_versions=spec.max_versions)
        try:
            self.core.catalog.create(meta)
        except TablestoreError as exc:
            if exc.code != "OTSObjectAlreadyExist":
                raise ValueError(f"table {spec.name!r}: {exc.message}") from None

    def app(self, request: HttpRequest) -> HttpResponse:
        api = api_name(request)
        fault = self._faults.pick(SERVICE, api)
        if fault is not None and fault.kind == "lost_reply":
            self._serve(request, api)  # the request takes effect; only its answer is lost
            raise DropConnection()
        if fault is not None and fault.kind in FAULT_KINDS:
            return self._inject(fault, request, api)
        return self._serve(request, api)

    def _serve(self, request: HttpRequest, api: str) -> HttpResponse:
        caller: Caller | None = None
        try:
            caller = authenticate(request, api, self._credentials, self.instance_name)
            principal = caller.principal

            def authorize(action: str, table: str | None) -> None:
                policy.authorize(principal, self._account.region, self._account.account_id,
                                 self.instance_name, action, table)

            return respond(api, 200, self._protocol.handle(api, request.body, authorize), caller)
        except TablestoreError as exc:
            return error_response(api, exc, caller)
        except Exception:  # a bug here must still answer in the cloud's format, without a trace
            log.exception("Tablestore %s failed", api)
            return error_response(api, TablestoreError("OTSInternalServerError",
                                                       "Internal server error."), caller)

    def _inject(self, fault: Fault, request: HttpRequest, api: str) -> HttpResponse:
        if fault.kind == "timeout":
            time.sleep(fault.seconds)
            raise DropConnection()
        if fault.kind == "down":
            raise DropConnection()
        code, message = _FAULT_ERRORS[fault.kind]
        try:  # sign the refusal when we can, as the cloud's front end would
            caller: Caller | None = authenticate(request, api, self._credentials,
                                                 self.instance_name)
        except TablestoreError:
            caller = None
        return error_response(api, TablestoreError(fault.code or code, message), caller)
