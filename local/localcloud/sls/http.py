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
from functools import partial
from pathlib import Path
from typing import Any

from ..account import Account
from ..clock import Clock
from ..credentials import CredentialBook
from ..faults import Fault, FaultApplier, FaultBoard, kinds_of
from ..httpshell import HttpRequest, HttpResponse, json_response
from . import wire
from .auth import authenticate, authorize
from .core import MAX_LINES, LogRecord, LogStorage, QueryResult, SlsError, project_not_exist
from .indexes import check_index, from_template

FAULT_KINDS = kinds_of("sls")
_INJECTED_ERROR = SlsError(500, "InternalServerError", "Internal server error (injected fault)")

_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_LOGSTORE_PATH = re.compile(r"^/logstores/(?P<logstore>[^/]+)(?P<rest>/.*)?$")
# Logstore names: 3-63 of lower-case letters, digits, '-' and '_', starting and ending with a
# letter or digit (Log Service's naming rules).
_LOGSTORE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]")
HISTOGRAM_BUCKETS = 60  # GetHistograms splits the time range into at most this many intervals


@dataclass(frozen=True)
class _Route:
    api: str  # the API name faults and errors speak of
    action: str  # the RAM action an inline policy must allow
    logstore: str | None
    handler: Callable[[LogServiceEmulator, HttpRequest, str, str | None], HttpResponse]


def invalid_method(path: str) -> SlsError:
    """What Log Service answers for an API it does not serve at this path and method (405
    InvalidMethod "invalid request method : /policy", aliyun/terraform-provider-alicloud#5855)."""
    return SlsError(405, "InvalidMethod", f"invalid request method : {path}")


def _bool(value: object) -> bool:
    return str(value).lower() == "true"


def _int(value: object, name: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise SlsError(400, "ParameterInvalid", f"{name} must be an integer") from None


class LogServiceEmulator:
    def __init__(
        self,
        *,
        db_path: Path | str,
        account: Account,
        credentials: CredentialBook,
        clock: Clock,
        faults: FaultBoard,
    ) -> None:
        self._account = account
        self._credentials = credentials
        self._faults = FaultApplier(faults, "sls")
        self._clock = clock
        self._storage = self.storage = LogStorage(db_path, clock)  # public for the console

    # ---- used by the rest of the local cloud ---------------------------------------------------

    def ensure_logstore(
        self,
        project: str,
        logstore: str,
        ttl_days: int = 30,
        declared_index: Mapping[str, Any] | None = None,
    ) -> None:
        """Create a template's logstore; `declared_index` is its ALIYUN::SLS::Index properties,
        kept as the logstore's index (what `get_index_config` reads back)."""
        index = from_template(declared_index) if declared_index is not None else None
        self._storage.ensure_logstore(project, logstore, ttl_days, index)

    def delete_logstore(self, project: str, logstore: str) -> None:
        self._storage.delete_logstore(project, logstore)

    def write(
        self,
        project: str,
        logstore: str,
        records: list[dict[str, str]],
        topic: str = "",
        source: str = "",
    ) -> None:
        """Store records as one log group (how FC ships function output); raises SlsError when
        the project or logstore does not exist."""
        now = self._clock.now()
        sec = int(now)
        self._storage.append(
            project,
            logstore,
            [
                LogRecord(
                    time=sec,
                    time_ns=int((now - sec) * 1e9),
                    topic=topic,
                    source=source,
                    contents=tuple((str(k), str(v)) for k, v in r.items()),
                )
                for r in records
            ],
        )

    # ---- HTTP ----------------------------------------------------------------------------------

    def app(self, request: HttpRequest) -> HttpResponse:
        request_id = secrets.token_hex(12).upper()
        route = self._route(request)

        def refuse(fault: Fault) -> HttpResponse:
            return _error(_INJECTED_ERROR.with_code(fault.code))

        api = route.api if route is not None else "Unknown"
        response = self._faults.around(api, lambda: self._serve(request, route), refuse)
        return response.with_headers(("x-log-requestid", request_id), ("Server", "localcloud"))

    def _serve(self, request: HttpRequest, route: _Route | None) -> HttpResponse:
        try:
            project = self._project(request)
            principal = authenticate(
                self._credentials, request.method, request.path, request.query, request.headers
            )
            if route is None:  # signed by a known key, but not an API served here
                raise invalid_method(request.path)
            authorize(principal, route.action, self._resource(project, route.logstore))
            return route.handler(self, request, project, route.logstore)
        except SlsError as exc:
            return _error(exc)

    def _route(self, request: HttpRequest) -> _Route | None:
        path, method = request.path, request.method
        if path == "/logstores":
            return {
                "GET": _Route("ListLogStores", "log:ListLogStores", None, LogServiceEmulator._list),
                "POST": _Route(
                    "CreateLogStore",
                    "log:CreateLogStore",
                    None,
                    LogServiceEmulator._create_logstore,
                ),
            }.get(method)
        match = _LOGSTORE_PATH.match(path)
        if match is None:
            return None
        logstore, rest = match["logstore"], match["rest"] or ""
        key = (method, rest, request.query.get("type", "") if not rest else "")
        found = _LOGSTORE_ROUTES.get(key)
        return None if found is None else _Route(found[0], found[1], logstore, found[2])

    def _project(self, request: HttpRequest) -> str:
        host = request.header("host").split(":")[0]
        if not host or _IPV4.match(host) or host == "localhost":
            raise SlsError(
                400, "MissingHost", "the Host header must name the project: {project}.{endpoint}"
            )
        project = host.split(".", 1)[0]
        # Checked before the signature: the cloud needs the project to know whose keys apply.
        if not self._storage.project_exists(project):
            raise project_not_exist(project)
        return project

    def _resource(self, project: str, logstore: str | None) -> str:
        return (
            f"acs:log:{self._account.region}:{self._account.account_id}:project/{project}"
            f"/logstore/{logstore or '*'}"
        )

    # ---- handlers ------------------------------------------------------------------------------

    def _put(self, request: HttpRequest, project: str, logstore: str | None) -> HttpResponse:
        assert logstore is not None
        self._storage.logstore(project, logstore)  # LogStoreNotExist before looking at the body
        raw = wire.decompress(request.body, request.headers)
        self._storage.append(project, logstore, wire.decode_log_group(raw))
        return HttpResponse(200)

    def _get_v2(self, request: HttpRequest, project: str, logstore: str | None) -> HttpResponse:
        assert logstore is not None
        params = _json_body(request, "PostBodyInvalid")
        result, elapsed_ms = self._query(project, logstore, params)
        payload = {
            "meta": self._meta(result.processed_rows, len(result.logs), params, elapsed_ms),
            "data": [wire.log_as_json(r) for r in result.logs],
        }
        body, headers = wire.encode_for(request.header("accept-encoding"), payload)
        return HttpResponse(200, body, (("Content-Type", "application/json"),) + headers)

    def _get_v1(self, request: HttpRequest, project: str, logstore: str | None) -> HttpResponse:
        assert logstore is not None
        params = request.query
        result, elapsed_ms = self._query(project, logstore, params)
        # The headers `aliyun.log.GetLogsResponse._from_v1_resp` reads back into its meta.
        return json_response(
            200,
            [wire.log_as_json(r) for r in result.logs],
            ("x-log-progress", "Complete"),
            ("x-log-count", str(len(result.logs))),
            ("x-log-processed-rows", str(result.processed_rows)),
            ("x-log-elapsed-millisecond", str(elapsed_ms)),
            ("x-log-has-sql", "false"),
            ("x-log-where-query", _header_text(str(params.get("query") or ""))),
            ("x-log-agg-query", ""),
            ("x-log-cpu-sec", "0"),
            ("x-log-cpu-cores", "0"),
        )

    def _histograms(self, request: HttpRequest, project: str, logstore: str | None) -> HttpResponse:
        """GetHistograms: the matching logs counted per interval of the time range."""
        assert logstore is not None
        params = request.query
        if "from" not in params or "to" not in params:
            raise SlsError(400, "ParameterInvalid", "from and to are required")
        start, end = _int(params["from"], "from"), _int(params["to"], "to")
        result = self._storage.matching(
            project,
            logstore,
            from_time=start,
            to_time=end,
            topic=str(params.get("topic") or "") or None,
            query=str(params.get("query") or ""),
        )
        width = max(1, -(-(end - start) // HISTOGRAM_BUCKETS))
        counts = [0] * max(1, -(-(end - start) // width))
        for log in result.logs:
            counts[(log.time - start) // width] += 1
        body = [
            {
                "from": start + i * width,
                "to": min(start + (i + 1) * width, end),
                "count": count,
                "progress": "Complete",
            }
            for i, count in enumerate(counts)
        ]
        return json_response(
            200, body, ("x-log-progress", "Complete"), ("x-log-count", str(len(result.logs)))
        )

    def _topics(self, request: HttpRequest, project: str, logstore: str | None) -> HttpResponse:
        """ListTopics: distinct topics in order; `token` is the first to list, and the answer's
        `x-log-nexttoken` the first of the next page."""
        assert logstore is not None
        line = _int(request.query.get("line", 100), "line")
        if not 1 <= line <= 1000:
            raise SlsError(400, "ParameterInvalid", "line must be in [1, 1000]")
        topics = self._storage.topics(project, logstore, request.query.get("token", ""), line + 1)
        page, rest = topics[:line], topics[line:]
        return json_response(
            200, page, ("x-log-count", str(len(page))), ("x-log-nexttoken", rest[0] if rest else "")
        )

    def _query(
        self, project: str, logstore: str, params: Mapping[str, object]
    ) -> tuple[QueryResult, int]:
        started = time.monotonic()
        if "from" not in params or "to" not in params:
            raise SlsError(400, "ParameterInvalid", "from and to are required")
        result = self._storage.query(
            project,
            logstore,
            from_time=_int(params["from"], "from"),
            to_time=_int(params["to"], "to"),
            topic=str(params.get("topic") or "") or None,
            query=str(params.get("query") or ""),
            offset=_int(params.get("offset", 0), "offset"),
            line=_int(params.get("line", MAX_LINES), "line"),
            reverse=_bool(params.get("reverse", False)),
        )
        return result, int((time.monotonic() - started) * 1000)

    @staticmethod
    def _meta(
        processed: int, count: int, params: Mapping[str, object], elapsed_ms: int
    ) -> dict[str, object]:
        return {
            "progress": "Complete",
            "count": count,
            "processedRows": processed,
            "elapsedMillisecond": elapsed_ms,
            "hasSQL": False,
            "whereQuery": params.get("query") or "",
            "aggQuery": "",
            "cpuSec": 0.0,
            "cpuCores": 0,
            "mode": 0,
            "isAccurate": True,
            "keys": [],
            "terms": [],
        }

    def _list(self, request: HttpRequest, project: str, logstore: str | None) -> HttpResponse:
        query = request.query
        names, total = self._storage.list_logstores(
            project,
            query.get("logstoreName", ""),
            _int(query.get("offset", 0), "offset"),
            _int(query.get("size", 500), "size"),
        )
        return json_response(200, {"count": len(names), "total": total, "logstores": names})

    def _create_logstore(
        self, request: HttpRequest, project: str, logstore: str | None
    ) -> HttpResponse:
        body = _json_body(request, "LogStoreInfoInvalid")
        name = body.get("logstoreName")
        if not isinstance(name, str) or not _LOGSTORE_NAME.fullmatch(name):
            raise SlsError(
                400,
                "LogStoreInfoInvalid",
                f"logstore name {name} is invalid: 3-63 "
                "of a-z, 0-9, '-' and '_', starting and ending with a letter or digit",
            )
        ttl = _int(body.get("ttl", 30), "ttl")
        shards = _int(body.get("shardCount", 2), "shardCount")
        if not 1 <= ttl <= 3650 or not 1 <= shards <= 256:
            raise SlsError(
                400, "LogStoreInfoInvalid", "ttl must be in [1, 3650] and shardCount in [1, 256]"
            )
        self._storage.create_logstore(project, name, ttl, shards)
        return HttpResponse(200)

    def _delete_logstore(
        self, request: HttpRequest, project: str, logstore: str | None
    ) -> HttpResponse:
        assert logstore is not None
        self._storage.drop_logstore(project, logstore)
        return HttpResponse(200)

    def _get_index(self, request: HttpRequest, project: str, logstore: str | None) -> HttpResponse:
        assert logstore is not None
        info = self._storage.index(project, logstore)
        ttl = self._storage.logstore(project, logstore).ttl_days
        return json_response(
            200, {**info.config, "ttl": ttl, "lastModifyTime": int(info.modified_at)}
        )

    def _set_index(
        self, request: HttpRequest, project: str, logstore: str | None, *, create: bool
    ) -> HttpResponse:
        assert logstore is not None
        config = check_index(_json_body(request, "IndexInfoInvalid"))
        self._storage.set_index(project, logstore, config, create=create)
        return HttpResponse(200)

    def _delete_index(
        self, request: HttpRequest, project: str, logstore: str | None
    ) -> HttpResponse:
        assert logstore is not None
        self._storage.drop_index(project, logstore)
        return HttpResponse(200)

    def _get_logstore(
        self, request: HttpRequest, project: str, logstore: str | None
    ) -> HttpResponse:
        assert logstore is not None
        info = self._storage.logstore(project, logstore)
        return json_response(
            200,
            {
                "logstoreName": info.name,
                "ttl": info.ttl_days,
                "shardCount": info.shard_count,
                "enable_tracking": False,
                "autoSplit": True,
                "maxSplitShard": 64,
                "appendMeta": False,
                "telemetryType": "",
                "createTime": int(info.created_at),
                "lastModifyTime": int(info.created_at),
            },
        )


def _json_body(request: HttpRequest, code: str) -> dict[str, object]:
    try:
        body = json.loads(wire.decompress(request.body, request.headers) or b"{}")
    except ValueError:
        raise SlsError(400, code, "the body is not a JSON object") from None
    if not isinstance(body, dict):
        raise SlsError(400, code, "the body is not a JSON object")
    return body


def _header_text(text: str) -> str:
    """A header value as the raw UTF-8 bytes on the wire (HTTP header values are Latin-1)."""
    return text.encode("utf-8").decode("latin-1")


_H = LogServiceEmulator
# (method, path after /logstores/{name}, `type` query of a bare logstore path) -> the API
_LOGSTORE_ROUTES: dict[tuple[str, str, str], tuple[str, str, Callable[..., HttpResponse]]] = {
    ("POST", "/shards/lb", ""): ("PutLogs", "log:PostLogStoreLogs", _H._put),
    ("POST", "/shards/route", ""): ("PutLogs", "log:PostLogStoreLogs", _H._put),
    ("POST", "/logs", ""): ("GetLogs", "log:GetLogStoreLogs", _H._get_v2),
    ("GET", "", "log"): ("GetLogs", "log:GetLogStoreLogs", _H._get_v1),
    ("GET", "", "histogram"): ("GetHistograms", "log:GetLogStoreHistogram", _H._histograms),
    ("GET", "", "topic"): ("ListTopics", "log:ListTopics", _H._topics),
    ("GET", "", ""): ("GetLogStore", "log:GetLogStore", _H._get_logstore),
    ("DELETE", "", ""): ("DeleteLogStore", "log:DeleteLogStore", _H._delete_logstore),
    ("POST", "/index", ""): ("CreateIndex", "log:CreateIndex", partial(_H._set_index, create=True)),
    ("PUT", "/index", ""): ("UpdateIndex", "log:UpdateIndex", partial(_H._set_index, create=False)),
    ("GET", "/index", ""): ("GetIndex", "log:GetIndex", _H._get_index),
    ("DELETE", "/index", ""): ("DeleteIndex", "log:DeleteIndex", _H._delete_index),
}


def _error(exc: SlsError) -> HttpResponse:
    return json_response(exc.status, {"errorCode": exc.code, "errorMessage": exc.message})
