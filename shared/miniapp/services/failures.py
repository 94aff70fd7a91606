"""What both functions do with an exception that is not a MiniAppError: a bug. The client gets
Internal with no details; stderr (which FC ships to the service's logstore) gets the traceback
tagged with the request id, so an operator can find it from the client's report."""

from __future__ import annotations

import sys
import traceback
from typing import TextIO

from ..errors import Internal, MiniAppError, Misconfigured

_REPORTED: set[str] = set()  # misconfigurations this instance has logged already


def report_bug(exc: BaseException, request_id: str, stream: TextIO | None = None) -> Internal:
    out = stream or sys.stderr
    try:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        out.write(f"[{request_id}] unhandled {type(exc).__name__}\n{text}")
        out.flush()
    except Exception:  # noqa: BLE001 - reporting must not turn one failure into two
        pass
    return Internal()


def report_misconfiguration(
    exc: BaseException, request_id: str, stream: TextIO | None = None
) -> MiniAppError:
    """A ConfigError: the operator gets the reason on stderr, once per instance (every request
    of a misconfigured instance fails the same way); the client learns that the deployment is
    misconfigured, which is what it needs to report."""
    reason = str(exc)
    if reason not in _REPORTED:
        _REPORTED.add(reason)
        _log_line(f"[{request_id}] configuration error: {reason}", stream)
    return Misconfigured()


def report_start_failure(
    exc: MiniAppError, request_id: str, stream: TextIO | None = None
) -> MiniAppError:
    """The app could not be built because an upstream refused or failed (KMS at cold start): the
    operator gets the reason on stderr, the client the typed error; the next request tries
    again."""
    _log_line(f"[{request_id}] could not start: {exc.code}: {exc.message}", stream)
    return exc


def _log_line(line: str, stream: TextIO | None) -> None:
    out = stream or sys.stderr
    try:
        out.write(line + "\n")
        out.flush()
    except Exception:  # noqa: BLE001 - as above: reporting must not fail the request
        pass
