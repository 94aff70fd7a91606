"""The Log Service HTTP shell: routes the SDK's requests to the core, checks who signed them and
answers in Log Service's own format (`{"errorCode", "errorMessage"}` plus `x-log-requestid`).

The project is not in the path: the SDK names it in the Host header, `{project}.{endpoint host}`.
On loopback the SDK still sends that Host header (while connecting to the bare IP when the
client's `_isRowIp` flag is set), so the project is always the first label of Host.
"""
from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..account import Account
from ..clock import Clock
from ..credentials import CredentialBook
from ..faults import Fault, FaultApplier, FaultBoard, kinds_of
from ..httpshell import HttpRequest, HttpResponse, json_response
from . import wire
from .auth import authenticate, authorize
from .core import MAX_LINES, LogRecord, LogStorage, QueryResult, SlsError, project_not_exist

FAULT_KINDS = kinds_of("sls")
_INJECTED_ERROR = SlsError(500, "InternalServerError", "Internal server error (injected fault)")

_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_LOGSTORE_PATH = re.compile(r"^/logstores/(?P<logstore>[^/]+)(?P<rest>/.*)?$")


@dataclass(frozen=True)
class _Route:
    api: str  # the API name faults and errors speak of
    action: str  # the RAM action an inline policy must allow
    logstore: str | None
    handler: Callable[[LogServiceEmulator, HttpRequest, str, str | None], HttpResponse]


def _bool(value: object) -> bool:
    return str(value).lower() == "true"


def _int(value: object, name: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise SlsError(400, "ParameterInvalid", f"{name} must be an integer") from None


class LogServiceEmulator:
    def __init__(self, *, db_path: Path | str, account: Account, credentials: CredentialBook,
                 clock: Clock, faults: FaultBoard) -> None:
        self._account = account
        self._credentials = credentials
        self._faults = FaultApplier(faults, "sls")
        self._clock = clock
        self._storage = self.storage = LogStorage(db_path, clock)  # public for the console

    # ---- used by the rest of the local cloud ---------------------------------------------------

    def ensure_logstore(self, project: str, logstore: str, ttl_days: int = 30) -> None:
        self._storage.ensure_logstore(project, logstore, ttl_days)

    def delete_logstore(self, project: str, logstore: str) -> None:
        self._storage.delete_logstore(project, logstore)

    def write(self, project: str, logstore: str, records: list[dict[str, str]], topic: str = "",
              source: str = "") -> None:
        """Store records as one log group (how FC ships function output); raises SlsError when
        the project or logstore does not exist."""
        now = self._clock.now()
        sec = int(now)
        self._storage.append(project, logstore, [
            LogRecord(time=sec, time_ns=int((now - sec) * 1e9), topic=topic, source=source,
                      contents=tuple((str(k), str(v)) for k, v in r.items()))
            for r in records])

    # ---- HTTP ----------------------------------------------------------------------------------

    def app(self, request: HttpRequest) -> HttpResponse:
        request_id = secrets.token_hex(12).upper()
        route = self._route(request)
        if route is None:
            response = _error(SlsError(
                400, "ParameterInvalid", f"{request.method} {request.path} is not supported by "
                "the local Log Service (PutLogs, GetLogs, ListLogStores, GetLogStore are)"))
        else:
            def refuse(fault: Fault) -> HttpResponse:
                return _error(_INJECTED_ERROR.with_code(fault.code))

            response = self._faults.around(route.api, lambda: self._serve(request, route), refuse)
        return response.with_headers(("x-log-requestid", request_id), ("Server", "localcloud"))

    def _serve(self, request: HttpRequest, route: _Route) -> HttpResponse:
        try:
            project = self._project(request)
            principal = authenticate(self._credentials, request.method, request.path,
                                     request.query, request.headers)
            authorize(principal, route.action, self._resource(project, route.logstore))
            return route.handler(self, request, project, route.logstore)
        except SlsError as exc:
            return _error(exc)

    def _route(self, request: HttpRequest) -> _Route | None:
        path, method = request.path, request.method
        if path == "/logstores" and method == "GET":
            return _Route("ListLogStores", "log:ListLogStores", None, LogServiceEmulator._list)
        match = _LOGSTORE_PATH.match(path)
        if match is None:
            return None
        logstore, rest = match["logstore"], match["rest"] or ""
        if method == "POST" and rest in ("/shards/lb", "/shards/route"):
            return _Route("PutLogs", "log:PostLogStoreLogs", logstore, LogServiceEmulator._put)
        if method == "POST" and rest == "/logs":
            return _Route("GetLogs", "log:GetLogStoreLogs", logstore, LogServiceEmulator._get_v2)
        if method == "GET" and not rest and request.query.get("type") == "log":
            return _Route("GetLogs", "log:GetLogStoreLogs", logstore, LogServiceEmulator._get_v1)
        if method == "GET" and not rest and "type" not in request.query:
            return _Route("GetLogStore", "log:GetLogStore", logstore,
                          LogServiceEmulator._get_logstore)
        return None

    def _project(self, request: HttpRequest) -> str:
        host = request.header("host").split(":")[0]
        if not host or _IPV4.match(host) or host == "localhost":
            raise SlsError(400, "MissingHost",
                           "the Host header must name the project: {project}.{endpoint}")
        project = host.split(".", 1)[0]
        # Checked before the signature: the cloud needs the project to know whose keys apply.
        if not self._storage.project_exists(project):
            raise project_not_exist(project)
        return project

    def _resource(self, project: str, logstore: str | None) -> str:
        return (f"acs:log:{self._account.region}:{self._account.account_id}:project/{project}"
                f"/logstore/{logstore or '*'}")

    # ---- handlers ------------------------------------------------------------------------------

    def _put(self, request: HttpRequest, project: str, logstore: str | None) -> HttpResponse:
        assert logstore is not None
        self._storage.logstore(project, logstore)  # LogStoreNotExist before looking at the body
        raw = wire.decompress(request.body, request.headers)
        self._storage.append(project, logstore, wire.decode_log_group(raw))
        return HttpResponse(200)

    def _get_v2(self, request: HttpRequest, project: str, logstore: str | None) -> HttpResponse:
        assert logstore is not None
        try:
            params = json.loads(wire.decompress(request.body, request.headers) or b"{}")
        except ValueError:
            raise SlsError(400, "PostBodyInvalid", "the body is not a JSON object") from None
        if not isinstance(params, dict):
            raise SlsError(400, "PostBodyInvalid", "the body is not a JSON object")
        result, elapsed_ms = self._query(project, logstore, params)
        payload = {"meta": self._meta(result.processed_rows, len(result.logs), params,
                                      elapsed_ms),
                   "data": [wire.log_as_json(r) for r in result.logs]}
        body, headers = wire.encode_for(request.header("accept-encoding"), payload)
        return HttpResponse(200, body, (("Content-Type", "application/json"),) + headers)

    def _get_v1(self, request: HttpRequest, project: str, logstore: str | None) -> HttpResponse:
        assert logstore is not None
        params = request.query
        result, elapsed_ms = self._query(project, logstore, params)
        return json_response(
            200, [wire.log_as_json(r) for r in result.logs],
            ("x-log-progress", "Complete"), ("x-log-count", str(len(result.logs))),
            ("x-log-processed-rows", str(result.processed_rows)),
            ("x-log-elapsed-millisecond", str(elapsed_ms)), ("x-log-has-sql", "false"))

    def _query(self, project: str, logstore: str,
               params: Mapping[str, object]) -> tuple[QueryResult, int]:
        started = time.monotonic()
        if "from" not in params or "to" not in params:
            raise SlsError(400, "ParameterInvalid", "from and to are required")
        result = self._storage.query(
            project, logstore,
            from_time=_int(params["from"], "from"), to_time=_int(params["to"], "to"),
            topic=str(params.get("topic") or "") or None, query=str(params.get("query") or ""),
            offset=_int(params.get("offset", 0), "offset"),
            line=_int(params.get("line", MAX_LINES), "line"),
            reverse=_bool(params.get("reverse", False)))
        return result, int((time.monotonic() - started) * 1000)

    @staticmethod
    def _meta(processed: int, count: int, params: Mapping[str, object],
              elapsed_ms: int) -> dict[str, object]:
        return {"progress": "Complete", "count": count, "processedRows": processed,
                "elapsedMillisecond": elapsed_ms, "hasSQL": False,
                "whereQuery": params.get("query") or "", "aggQuery": "", "cpuSec": 0.0,
                "cpuCores": 0, "mode": 0, "isAccurate": True, "keys": [], "terms": []}

    def _list(self, request: HttpRequest, project: str, logstore: str | None) -> HttpResponse:
        query = request.query
        names, total = self._storage.list_logstores(
            project, query.get("logstoreName", ""), _int(query.get("offset", 0), "offset"),
            _int(query.get("size", 500), "size"))
        return json_response(200, {"count": len(names), "total": total, "logstores": names})

    def _get_logstore(self, request: HttpRequest, project: str,
                      logstore: str | None) -> HttpResponse:
        assert logstore is not None
        info = self._storage.logstore(project, logstore)
        return json_response(200, {
            "logstoreName": info.name, "ttl": info.ttl_days, "shardCount": info.shard_count,
            "enable_tracking": False, "autoSplit": True, "maxSplitShard": 64,
            "appendMeta": False, "telemetryType": "", "createTime": int(info.created_at),
            "lastModifyTime": int(info.created_at)})



def _error(exc: SlsError) -> HttpResponse:
    return json_response(exc.status, {"errorCode": exc.code, "errorMessage": exc.message})
