"""The worker program: one function instance, `python3.10 -I -S -B runtime.py CMD RES` (the
local cloud loads it as a module instead, to use its bytecode: see `workers._BOOT`).

It plays FC's Python runtime: imports the handler module from the code folder (its cwd, the only
entry on `sys.path` besides the standard library), runs the initializer once when told to, and
calls the handler for each request the parent sends on the CMD pipe, answering on the RES pipe
(see `protocol`). Requests run in threads, so an instance can take several at once
(InstanceConcurrency).

Output: `print` and `logging` go to a per-request buffer (returned with the answer, for
`x-fc-log-result` and the logstore), never to the pipes. Logging uses FC's line format:
`{time} {requestId} [{LEVEL}] {message}`.

It runs under the function's runtime Python (3.10 for `python3.10`), isolated: not the local
cloud's interpreter, not its virtualenv. So this file is a standalone script that imports the
standard library only (and `protocol.py`, loaded from beside it by path) and is valid Python 3.9.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
import json
import logging
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import ModuleType
from typing import Any


def _load_protocol() -> ModuleType:
    """The wire format, from protocol.py beside this file: the local cloud's package is not on
    this process's path, and one definition of the format serves both ends."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "protocol.py")
    spec = importlib.util.spec_from_file_location("_localcloud_fc_protocol", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


protocol = _load_protocol()
_current = threading.local()
_active: dict[str, _RequestLog] = {}
_active_lock = threading.Lock()
_send_lock = threading.Lock()


# -- what a handler sees: FC's context object -------------------------------------------------
class Credentials:
    def __init__(self, access_key_id: str, access_key_secret: str, security_token: str) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.security_token = security_token


class ServiceMeta:
    def __init__(
        self, name: str, log_project: str, log_store: str, qualifier: str, version_id: str
    ) -> None:
        self.name = name
        self.log_project = log_project
        self.log_store = log_store
        self.qualifier = qualifier
        self.version_id = version_id


class FunctionMeta:
    def __init__(
        self,
        name: str,
        handler: str,
        memory: int,
        timeout: int,
        initializer: str,
        initialization_timeout: int,
    ) -> None:
        self.name = name
        self.handler = handler
        self.memory = memory
        self.timeout = timeout
        self.initializer = initializer
        self.initialization_timeout = initialization_timeout


class FCContext:
    def __init__(self, data: dict[str, Any]) -> None:
        self.request_id: str = data["request_id"]
        self.credentials = Credentials(**data["credentials"])
        self.function = FunctionMeta(**data["function"])
        self.service = ServiceMeta(**data["service"])
        self.region: str = data["region"]
        self.account_id: str = data["account_id"]
        self.retry_count = 0


# -- output capture ---------------------------------------------------------------------------
class _RequestLog:
    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self._parts: list[str] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        with self._lock:
            self._parts.append(text)

    def text(self) -> str:
        with self._lock:
            return "".join(self._parts)


def _log_for_thread() -> _RequestLog | None:
    log = getattr(_current, "log", None)
    if log is not None:
        return log
    with _active_lock:  # a thread the handler started: attribute it if only one request runs
        return next(iter(_active.values())) if len(_active) == 1 else None


class _RoutedBytes:
    """`sys.stdout.buffer`: some libraries write bytes; they are routed the same way."""

    def __init__(self, text: _RoutedStream) -> None:
        self._text = text

    def write(self, data: bytes) -> int:
        self._text.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self) -> None:
        pass


class _RoutedStream(io.TextIOBase):
    """sys.stdout / sys.stderr: text goes to the running request's log."""

    def __init__(self, fallback: Any) -> None:
        self._fallback = fallback
        self.buffer = _RoutedBytes(self)

    # typeshed declares TextIOBase.encoding a plain attribute; a read-only property is what
    # io's own streams have at run time.
    @property
    def encoding(self) -> str:  # type: ignore[override]  # see the comment above
        return "utf-8"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        log = _log_for_thread()
        if log is not None:
            log.write(text)
        elif self._fallback is not None:
            self._fallback.write(text)
            self._fallback.flush()
        return len(text)

    def flush(self) -> None:
        pass


class _FcFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        log = _log_for_thread()
        request_id = log.request_id if log else "-"
        text = (
            f"{stamp}.{int(record.msecs):03d}Z {request_id} [{record.levelname}] "
            f"{record.getMessage()}"
        )
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


# -- running user code ------------------------------------------------------------------------
_modules: dict[str, ModuleType] = {}
_import_lock = threading.Lock()


def _resolve(handler: str) -> Callable[..., Any]:
    module_name, _, attr = handler.rpartition(".")
    with _import_lock:
        module = _modules.get(module_name)
        if module is None:
            module = importlib.import_module(module_name)
            _modules[module_name] = module
    return getattr(module, attr)


def _error(exc: BaseException) -> dict[str, Any]:
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if os.path.abspath(f.filename) != os.path.abspath(__file__)
    ]
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": [line.rstrip("\n") for line in traceback.format_list(frames)],
    }


def _result_body(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _call_wsgi(app: Callable[..., Any], environ: dict[str, Any]) -> dict[str, Any]:
    started: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start_response(
        status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info and started:
            raise exc_info[1].with_traceback(exc_info[2])
        started["status"], started["headers"] = status, [list(h) for h in headers]
        return chunks.append

    result = app(environ, start_response)
    try:
        for chunk in result:
            if not isinstance(chunk, bytes):
                raise TypeError(f"WSGI body chunks must be bytes, not {type(chunk).__name__}")
            chunks.append(chunk)
    finally:
        if hasattr(result, "close"):
            result.close()
    if not started:
        raise RuntimeError("the WSGI application did not call start_response")
    return {
        "status": started["status"],
        "headers": started["headers"],
        "body": b"".join(chunks),
    }


def _handle(message: dict[str, Any], result_fd: int) -> None:
    context = FCContext(message["context"])
    log = _RequestLog(context.request_id)
    _current.log = log
    with _active_lock:
        _active[context.request_id] = log
    answer: dict[str, Any] = {"id": message["id"]}
    try:
        op = message["op"]
        if op == "init":
            if context.function.initializer:
                _resolve(context.function.initializer)(context)
            answer["ok"] = True
        elif op == "invoke":
            value = _resolve(context.function.handler)(message["event"], context)
            answer.update(ok=True, body=_result_body(value))
        else:  # "http"
            environ = dict(message["environ"])
            environ.update(
                {
                    "wsgi.version": (1, 0),
                    "wsgi.url_scheme": environ.get("wsgi.url_scheme", "http"),
                    "wsgi.input": io.BytesIO(message["body"]),
                    "wsgi.errors": sys.stderr,
                    "wsgi.multithread": True,
                    "wsgi.multiprocess": False,
                    "wsgi.run_once": False,
                    "fc.context": context,
                }
            )
            answer.update(ok=True, **_call_wsgi(_resolve(context.function.handler), environ))
    except Exception as exc:  # noqa: BLE001 - the function's own failure, reported FC's way
        error = _error(exc)
        log.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        answer.update(ok=False, error=error)
    finally:
        _current.log = None
        with _active_lock:
            _active.pop(context.request_id, None)
    answer["log"] = log.text()
    with _send_lock:
        try:
            protocol.send(result_fd, answer)
        except (TypeError, ValueError) as exc:  # e.g. WSGI headers that are not strings
            protocol.send(
                result_fd,
                {"id": message["id"], "ok": False, "error": _error(exc), "log": answer["log"]},
            )


def main(argv: list[str]) -> int:
    cmd_fd, result_fd = int(argv[1]), int(argv[2])
    code_dir = os.getcwd()
    if not sys.path or sys.path[0] not in ("", code_dir):
        sys.path.insert(0, code_dir)
    real_stderr = sys.stderr
    sys.stdout = _RoutedStream(None)
    sys.stderr = _RoutedStream(real_stderr)
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_FcFormatter())
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    protocol.send(result_fd, {"id": "ready", "pid": os.getpid()})
    while True:
        try:
            message = protocol.receive(cmd_fd)
        except protocol.ChannelClosed:
            return 0
        if message.get("op") == "exit":
            return 0
        if message.get("op") == "modules":  # what this instance has imported (package tests)
            files = sorted(
                {
                    str(m.__file__)
                    for m in list(sys.modules.values())
                    # A module importlib.util.LazyLoader created has not run: reading any of
                    # its attributes would run it, so it is neither read nor counted.
                    if type(m).__name__ != "_LazyModule" and getattr(m, "__file__", None)
                }
            )
            with _send_lock:
                protocol.send(
                    result_fd,
                    {"id": message["id"], "ok": True, "files": files, "path": list(sys.path)},
                )
            continue
        threading.Thread(
            target=_handle,
            args=(message, result_fd),
            daemon=True,
            name=f"fc-request-{message.get('id')}",
        ).start()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
