"""The console's HTTP face, served beside Function Compute: the page under
`/_localcloud/console/` and its JSON calls under `/_localcloud/api/`.

    GET    api/overview                 endpoints, client config, functions and their instances
    GET    api/users                    sandbox users, each with where their files are
    POST   api/users                    a new sandbox user (with an auth code)
    POST   api/users/{id}/auth-code     mint an auth code, as my.getAuthCode would
    POST   api/users/{id}/session       open a session as that user (through the session function)
    GET    api/tables                   the template's tables with row counts
    GET    api/tables/{name}/rows       rows, paged (?offset, ?limit), ?pk= text in the primary key
    GET    api/logs                     records, newest first (?query, ?minutes, ?offset, ?limit)
    GET    api/invocations              recent invocations (?function, ?limit)
    GET    api/stacks                   the local ROS's stacks: status, resources, outputs
    POST   api/stacks                   create a stack from a template URL (the Create stack page)
    POST   api/templates                a template URL's form: groups, labels, fields (same page)
    GET    api/files                    a bucket's objects under ?prefix (?bucket), signed URLs
    GET    api/state                    the whole local state as a file (zip)
    POST   api/state                    replace the local state with such a file
    DELETE api/state                    reset: forget every row, record and user

Every call passes `localcloud.guard` first (this cloud's Host; no other site's Origin). A call that
changes something must also carry the header `X-Localcloud-Console: 1`: a page on another site
can make the browser send a plain form POST to 127.0.0.1, but not with a custom header.

A page adds its calls with `ConsoleApp.route` and its view with one entry in `static/app.js`'s
PAGES (the Stacks page did just that); nothing else changes.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import values
from ..httpshell import App, HttpRequest, HttpResponse, json_response
from ..logcli import expanded
from . import create, state
from .files import files_view, user_files
from .stacks import stack_views

CONSOLE_PATH = "/_localcloud/console/"
API_PATH = "/_localcloud/api/"
STATIC = Path(__file__).resolve().parent / "static"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
MUTATION_HEADER = "x-localcloud-console"
MAX_ROWS_SCANNED = 10_000  # a local table past this is cut short (the page says so)
MAX_PAGE = 100
MAX_LOG_MINUTES = 366 * 24 * 60  # how far back the Logs page may look
MAX_IMPORT_BYTES = 256 * 1024 * 1024
# Column names whose values are never shown, whatever their type.
SECRET_NAME = re.compile(r"token|secret|password|private|_enc$|signature", re.I)

Handler = Callable[[HttpRequest, list[str]], HttpResponse]


class ConsoleError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ConsoleApp:
    def __init__(self, cloud: Any) -> None:
        self._cloud = cloud  # a started LocalCloud
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._static_files = {
            p.relative_to(STATIC).as_posix(): p for p in STATIC.rglob("*") if p.is_file()
        }
        self.route("GET", r"overview", self._overview)
        self.route("GET", r"users", self._users)
        self.route("POST", r"users", self._new_user)
        self.route("POST", r"users/(2088\d{12})/auth-code", self._auth_code)
        self.route("POST", r"users/(2088\d{12})/session", self._open_session)
        self.route("GET", r"tables", self._tables)
        self.route("GET", r"tables/([^/]+)/rows", self._rows)
        self.route("GET", r"logs", self._logs)
        self.route("GET", r"invocations", self._invocations)
        self.route("GET", r"stacks", self._stacks)
        self.route("POST", r"stacks", self._create_stack)
        self.route("POST", r"templates", self._template_form)
        self.route("GET", r"files", self._files)
        self.route("GET", r"state", self._export)
        self.route("POST", r"state", self._import)
        self.route("DELETE", r"state", self._reset)

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Answer `method {API_PATH}{pattern}`; the pattern's groups are the handler's args."""
        self._routes.append((method, re.compile(pattern), handler))

    def wrap(self, app: App) -> App:
        def routed(request: HttpRequest) -> HttpResponse:
            if request.path.startswith(API_PATH):
                return self.api(request)
            if request.path == CONSOLE_PATH.rstrip("/"):
                return HttpResponse(301, b"", (("Location", CONSOLE_PATH),))
            if request.path.startswith(CONSOLE_PATH):
                return self.static(request.path[len(CONSOLE_PATH) :])
            return app(request)

        return routed

    # -- the page ---------------------------------------------------------------------------
    def static(self, name: str) -> HttpResponse:
        """One of the page's own files, by its exact name; anything else (a path that climbs
        out, a NUL byte, a folder) is 404 without touching the file system."""
        path = self._static_files.get(name or "index.html")
        if path is None:
            return HttpResponse(404, b"not found", (("Content-Type", "text/plain"),))
        return HttpResponse(
            200,
            path.read_bytes(),
            (
                ("Content-Type", CONTENT_TYPES.get(path.suffix, "application/octet-stream")),
                ("Cache-Control", "no-cache"),
            ),
        )

    # -- the JSON calls ---------------------------------------------------------------------
    def api(self, request: HttpRequest) -> HttpResponse:
        route = request.path[len(API_PATH) :].strip("/")
        allowed = []
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(route)
            if match is None:
                continue
            allowed.append(method)
            if method != request.method:
                continue
            if method != "GET" and request.header(MUTATION_HEADER) != "1":
                return json_response(403, {"error": f"send the header {MUTATION_HEADER}: 1"})
            try:
                return handler(request, list(match.groups()))
            except ConsoleError as exc:
                return json_response(exc.status, {"error": exc.message})
            except (ValueError, KeyError) as exc:
                return json_response(400, {"error": str(exc)})
        if allowed:
            return json_response(
                405, {"error": f"{request.method} not allowed; use {', '.join(allowed)}"}
            )
        return json_response(404, {"error": f"no console call {route!r}"})

    def _overview(self, request: HttpRequest, _: list[str]) -> HttpResponse:
        cloud = self._cloud
        config = cloud.cloud_config()
        instances = cloud.fc.instances()
        functions = []
        for service in cloud.template.services:
            for fn in service.functions:
                last = cloud.fc.invocations.last(fn.name)
                functions.append(
                    {
                        "service": service.name,
                        "function": fn.name,
                        "runtime": fn.runtime,
                        "handler": fn.handler,
                        "timeout": fn.timeout,
                        "memory": fn.memory_size,
                        "trigger": "HTTP" if fn.http_trigger else "event",
                        "instances": [
                            {**i, "idleSeconds": round(cloud.clock.now() - i["lastUsed"])}
                            for i in instances.get((service.name, fn.name), [])
                        ],
                        "lastInvocation": last.to_dict() if last else None,
                    }
                )
        endpoints = {
            "Function Compute": config["fcEndpoint"],
            "session function": config["sessionUrl"],
            "Tablestore": config["otsEndpoint"],
            "Log Service": config["slsEndpoint"],
            "STS": config["stsEndpoint"],
            "Alipay gateway": config["alipayGateway"],
            "Alipay sandbox": config["alipaySandbox"] + "/auth_code",
            "OSS (deploy)": config["ossEndpoint"],
            "ROS (deploy)": config["rosEndpoint"],
            "faults (admin)": config["fcEndpoint"] + "/_localcloud/faults",
        }
        return json_response(
            200,
            {
                "endpoints": endpoints,
                "clientConfig": cloud.client_config(),
                "names": {
                    "otsInstance": config["otsInstance"],
                    "slsProject": config["slsProject"],
                    "slsLogstore": config["slsLogstore"],
                    "alipayAppId": config["alipayAppId"],
                },
                "account": {
                    "accountId": config["accountId"],
                    "region": config["region"],
                    "rootKeyId": config["accessKeyId"],
                },
                "functions": functions,
                "reloads": cloud.watcher.reloads if cloud.watcher else None,
            },
        )

    # -- users ------------------------------------------------------------------------------
    def _users(self, request: HttpRequest, _: list[str]) -> HttpResponse:
        with self._cloud.alipay.database.transaction() as conn:
            rows = conn.execute("SELECT user_id, nick_name, city FROM users ORDER BY user_id")
            users = [
                {"userId": r["user_id"], "nickName": r["nick_name"], "city": r["city"]}
                for r in rows
            ]
        for user in users:  # where the Files page shows the user's files
            user["files"] = user_files(self._cloud, user["userId"])
        return json_response(200, {"users": users})

    def _new_user(self, request: HttpRequest, _: list[str]) -> HttpResponse:
        from ..miniprogram import new_user_id

        user_id = new_user_id()
        code, _scopes = self._mint(user_id)
        return json_response(200, {"userId": user_id, "authCode": code})

    def _mint(self, user_id: str) -> tuple[str, tuple[str, ...]]:
        """An auth code for the sandbox app, as my.getAuthCode would get it."""
        cloud = self._cloud
        code, scopes = cloud.alipay.authorization.mint_auth_code(cloud.alipay_app_id, user_id)
        return str(code), tuple(scopes)

    def _auth_code(self, request: HttpRequest, args: list[str]) -> HttpResponse:
        code, scopes = self._mint(args[0])
        # An auth code is what the developer asked for: single use, gone in 3 minutes.
        return json_response(
            200, {"userId": args[0], "authCode": code, "authSuccessScopes": list(scopes)}
        )

    def _open_session(self, request: HttpRequest, args: list[str]) -> HttpResponse:
        """Log in as the user through the real path (the session function's HTTP trigger), and
        show what came back without its secrets."""
        code, _scopes = self._mint(args[0])
        url = self._cloud.cloud_config()["sessionUrl"]
        call = urllib.request.Request(
            url,
            json.dumps({"authCode": code}).encode(),
            {"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(call, timeout=30) as resp:
                status, body = resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            status, body = exc.code, _json_or_text(exc.read())
        except OSError as exc:
            raise ConsoleError(502, f"the session function did not answer: {exc}") from None
        if status != 200 or not isinstance(body, dict) or "sessionId" not in body:
            return json_response(200, {"ok": False, "status": status, "answer": body})
        sts = body.get("sts") or {}
        return json_response(
            200,
            {
                "ok": True,
                "status": status,
                # The session table's key: what the Data page shows for this session.
                "sessionHash": hashlib.sha256(str(body["sessionId"]).encode()).hexdigest(),
                "sts": {"AccessKeyId": sts.get("AccessKeyId"), "Expiration": sts.get("Expiration")},
            },
        )

    # -- data -------------------------------------------------------------------------------
    def _tables(self, request: HttpRequest, _: list[str]) -> HttpResponse:
        tables = []
        for table in self._cloud.template.tables:
            rows, cut = self._scan(table.name, "")
            tables.append(
                {
                    "name": table.name,
                    "primaryKey": [n for n, _ in table.primary_key],
                    "rows": len(rows),
                    "countCut": cut,
                    "ttlSeconds": table.ttl_seconds,
                }
            )
        return json_response(200, {"instance": self._cloud.tablestore_instance, "tables": tables})

    def _rows(self, request: HttpRequest, args: list[str]) -> HttpResponse:
        name = args[0]
        declared = next((t for t in self._cloud.template.tables if t.name == name), None)
        if declared is None:
            raise ConsoleError(404, f"no table {name!r}")
        offset, limit = _paging(request)
        rows, cut = self._scan(name, request.query.get("pk", ""))
        page = rows[offset : offset + limit]
        key_names = [n for n, _ in declared.primary_key]
        columns = sorted({c for row in page for c in row["columns"]})
        return json_response(
            200,
            {
                "table": name,
                "primaryKey": key_names,
                "columns": columns,
                "total": len(rows),
                "countCut": cut,
                "offset": offset,
                "rows": page,
            },
        )

    def _scan(self, table: str, pk_text: str) -> tuple[list[dict[str, Any]], bool]:
        from ..tablestore.model import KeyBound, ReadOptions
        from ..tablestore.plainbuffer import read_body

        core = self._cloud.tablestore.core
        meta = core.catalog.get(table).meta
        names = meta.key_names
        start: Any = tuple((n, KeyBound.INF_MIN) for n in names)
        end = tuple((n, KeyBound.INF_MAX) for n in names)
        found: list[dict[str, Any]] = []
        scanned = 0
        while start is not None and scanned < MAX_ROWS_SCANNED:
            result = core.get_range(table, True, start, end, None, ReadOptions())
            for body in result.rows:
                row = read_body(body)
                scanned += 1
                key = {k: _shown(k, v) for k, v in row.primary_key}
                if pk_text and not any(pk_text in str(v) for v in key.values()):
                    continue
                found.append(
                    {"key": key, "columns": {c.name: _shown(c.name, c.value) for c in row.cells}}
                )
            start = result.next_start
        return found, start is not None

    # -- logs and invocations ---------------------------------------------------------------
    def _logs(self, request: HttpRequest, _: list[str]) -> HttpResponse:
        from ..sls import SlsError

        config = self._cloud.cloud_config()
        offset, limit = _paging(request)
        minutes = values.query_number(request.query, "minutes", 60, 1, MAX_LOG_MINUTES)
        now = int(time.time())
        try:
            result = self._cloud.sls.storage.query(
                config["slsProject"],
                config["slsLogstore"],
                from_time=now - int(minutes * 60),
                to_time=now + 1,
                query=request.query.get("query") or None,
                offset=offset,
                line=limit,
                reverse=True,
            )
        except SlsError as exc:
            raise ConsoleError(400, exc.message) from None
        # A function's record is JSON in FC's `message` field: shown as fields (logcli.expanded).
        records = [
            {
                "time": r.time,
                "topic": r.topic,
                "source": r.source,
                "fields": {k: _shown(k, v) for k, v in expanded(dict(r.contents)).items()},
            }
            for r in result.logs
        ]
        return json_response(
            200,
            {
                "project": config["slsProject"],
                "logstore": config["slsLogstore"],
                "offset": offset,
                "records": records,
            },
        )

    def _invocations(self, request: HttpRequest, _: list[str]) -> HttpResponse:
        _offset, limit = _paging(request)
        function = request.query.get("function") or None
        items = self._cloud.fc.invocations.recent(function, limit)
        return json_response(200, {"invocations": [i.to_dict() for i in items]})

    def _files(self, request: HttpRequest, _: list[str]) -> HttpResponse:
        return json_response(200, files_view(self._cloud, request.query))

    def _stacks(self, request: HttpRequest, _: list[str]) -> HttpResponse:
        return json_response(
            200,
            {
                "endpoint": self._cloud.cloud_config()["rosEndpoint"],
                "stacks": stack_views(self._cloud.ros.stacks.list()),
            },
        )

    def _template_form(self, request: HttpRequest, _: list[str]) -> HttpResponse:
        return self._creating(request, create.template_form)

    def _create_stack(self, request: HttpRequest, _: list[str]) -> HttpResponse:
        return self._creating(request, create.create_stack)

    def _creating(self, request: HttpRequest, step: Callable[..., Any]) -> HttpResponse:
        try:
            return json_response(200, step(self._cloud, create.read_json(request.body)))
        except create.CreateRefused as exc:
            return json_response(exc.status, exc.body)

    # -- the whole state --------------------------------------------------------------------
    def _databases(self) -> dict[str, Any]:
        cloud = self._cloud
        return {
            "tablestore": cloud.tablestore.database,
            "sls": cloud.sls.storage.database,
            "alipay": cloud.alipay.database,
        }

    def _parts(self) -> list[Any]:
        """Beside the databases: the users' files in the local OSS (the template's buckets)."""
        from ..oss.exports import UsersFiles

        cloud = self._cloud
        return [UsersFiles(cloud.oss.store, lambda: [b.name for b in cloud.template.buckets])]

    def _export(self, request: HttpRequest, _: list[str]) -> HttpResponse:
        data = state.export_state(self._databases(), self._cloud.account.account_id, self._parts())
        name = time.strftime("localcloud-state-%Y%m%d-%H%M%S.zip")
        return HttpResponse(
            200,
            data,
            (
                ("Content-Type", "application/zip"),
                ("Content-Disposition", f'attachment; filename="{name}"'),
            ),
        )

    def _import(self, request: HttpRequest, _: list[str]) -> HttpResponse:
        if len(request.body) > MAX_IMPORT_BYTES:
            raise ConsoleError(413, f"the file is over {MAX_IMPORT_BYTES} bytes")
        try:
            names = state.import_state(self._databases(), request.body, self._parts())
        except state.StateFileInvalid as exc:
            raise ConsoleError(400, str(exc)) from None
        self._after_state_change()
        return json_response(200, {"imported": names})

    def _reset(self, request: HttpRequest, _: list[str]) -> HttpResponse:
        state.reset_state(self._databases(), self._parts())
        self._after_state_change()
        return json_response(
            200, {"reset": [*sorted(self._databases()), *(p.name for p in self._parts())]}
        )

    def _after_state_change(self) -> None:
        """The template's tables and logstores exist whatever the file held, and no warm
        instance keeps state (a cached session) from before."""
        self._cloud.ensure_declared()
        self._cloud.fc.recycle()


def _paging(request: HttpRequest) -> tuple[int, int]:
    return (
        values.query_integer(request.query, "offset", 0, 0, MAX_ROWS_SCANNED),
        values.query_integer(request.query, "limit", 50, 1, MAX_PAGE),
    )


def _shown(name: str, value: Any) -> Any:
    """A value as the console may show it: never a secret, never raw bytes."""
    if SECRET_NAME.search(name):
        return "‹hidden›"
    if isinstance(value, (bytes, bytearray)):
        return f"‹{len(value)} bytes›"
    if isinstance(value, str) and len(value) > 500:
        return value[:500] + "…"
    return value


def _json_or_text(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:500]
