"""The local cloud's admin endpoint, served beside Function Compute under `/_localcloud/`.

    GET    /_localcloud/health            {"ok": true}
    GET    /_localcloud/faults            active faults and how many were injected
    POST   /_localcloud/faults            set one fault:
                                          {"service", "kind", "api"?, "share"?, "seconds"?, "code"?}
    DELETE /_localcloud/faults[?service=] clear faults (all, or one service's)
    POST   /_localcloud/clock             {"advance": seconds} moves the expiry clock forward
                                          (0 to ten years)
    GET    /_localcloud/alipay            the Alipay gateway's apps, their signing and identity mode
    POST   /_localcloud/alipay/identity   {"mode": "user_id"|"both"|"open_id", "appId"?} switches an
                                          app (default: the sandbox app) without losing any state
    GET    /_localcloud/alipay/notifies[?tradeNo=]  the gateway's notifies: state, attempts, when
                                          the next attempt is due (local clock)

It exists so faults can be switched while the cloud runs (no restart). It listens on loopback
only, like everything in the local cloud, behind `localcloud.guard`, and is not part of any
Alibaba Cloud API. Every value is checked (finite numbers in range, known names); a refusal is a
400 naming the field and changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from . import values
from .clock import Clock
from .faults import SERVICES, Fault, FaultBoard
from .httpshell import App, HttpRequest, HttpResponse, json_response

PREFIX = "/_localcloud/"
MAX_ADVANCE_SECONDS = 10 * 366 * 24 * 3600  # ten years: past every expiry the cloud keeps
MAX_FAULT_SECONDS = 600.0  # a slow or timeout fault's delay; longer than any client waits
MAX_TEXT = 256  # an API name, an error code, an app id


def known_fault_kinds() -> dict[str, dict[str, str]]:
    from . import alipay, fc, kms, sls, sts, tablestore

    return {
        "fc": fc.FAULT_KINDS,
        "tablestore": tablestore.FAULT_KINDS,
        "sls": sls.FAULT_KINDS,
        "sts": sts.FAULT_KINDS,
        "alipay": alipay.FAULT_KINDS,
        "kms": kms.FAULT_KINDS,
    }


class AdminApp:
    def __init__(self, faults: FaultBoard, clock: Clock, alipay: Any = None) -> None:
        self._faults = faults
        self._clock = clock
        self._alipay = alipay  # the AlipayEmulator, when the cloud runs one

    def wrap(self, app: App) -> App:
        def routed(request: HttpRequest) -> HttpResponse:
            if request.path.startswith(PREFIX):
                return self.handle(request)
            return app(request)

        return routed

    def handle(self, request: HttpRequest) -> HttpResponse:
        route = request.path[len(PREFIX) :].strip("/")
        try:
            if route == "health" and request.method == "GET":
                return json_response(200, {"ok": True})
            if route == "faults":
                return self._faults_route(request)
            if route == "clock" and request.method == "POST":
                seconds = _advance(_json_object(request.body))
                advance = getattr(self._clock, "advance", None)
                if advance is None:
                    return json_response(409, {"error": "this cloud's clock cannot be moved"})
                advance(seconds)
                return json_response(200, {"now": self._clock.now()})
            if route.startswith("alipay") and self._alipay is not None:
                return self._alipay_route(route, request)
        except (ValueError, TypeError) as exc:
            return json_response(400, {"error": str(exc)})
        return json_response(404, {"error": f"no admin route {request.method} {request.path}"})

    def _faults_route(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET":
            return json_response(200, self.snapshot())
        if request.method == "POST":
            fault = Fault.from_dict(_fault_fields(_json_object(request.body)))
            kinds = known_fault_kinds()[fault.service]
            if fault.kind not in kinds:
                raise ValueError(
                    f"{fault.service} has no fault kind {fault.kind!r}; "
                    f"one of {', '.join(sorted(kinds))}"
                )
            self._faults.set(fault)
            return json_response(200, self.snapshot())
        if request.method == "DELETE":
            service = request.query.get("service") or None
            if service is not None and service not in SERVICES:
                # A typo must not look like success: the faults it meant to clear are still on.
                raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
            self._faults.clear(service)
            return json_response(200, self.snapshot())
        return json_response(405, {"error": "method not allowed"})

    def _alipay_route(self, route: str, request: HttpRequest) -> HttpResponse:
        from .alipay import IDENTITY_MODES
        from .alipay.apps import UnknownApp

        if route == "alipay" and request.method == "GET":
            return json_response(200, self.alipay_snapshot())
        if route == "alipay/identity" and request.method == "POST":
            body = _json_object(request.body)
            mode, app_id = body.get("mode"), body.get("appId")
            if mode not in IDENTITY_MODES:
                raise ValueError(f"mode must be one of {', '.join(IDENTITY_MODES)}")
            unknown = set(body) - {"mode", "appId"}
            if unknown:
                raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
            if app_id is not None:
                values.text(app_id, "appId", MAX_TEXT)
            try:
                self._alipay.set_identity(mode, app_id)
            except UnknownApp:
                raise ValueError("appId names no app of the local Alipay gateway") from None
            return json_response(200, self.alipay_snapshot())
        if route == "alipay/notifies" and request.method == "GET":
            trade_no = request.query.get("tradeNo") or None
            return json_response(
                200, {"notifies": [n.to_dict() for n in self._alipay.notifies.all(trade_no)]}
            )
        return json_response(405, {"error": "method not allowed"})

    def alipay_snapshot(self) -> dict[str, Any]:
        from .alipay import IDENTITY_MODES

        return {
            "sandboxAppId": self._alipay.app_id,
            "identityModes": list(IDENTITY_MODES),
            "apps": [app.to_dict() for app in self._alipay.apps.all()],
        }

    def snapshot(self) -> dict[str, Any]:
        return {
            "faults": [f.to_dict() for f in self._faults.active()],
            "injected": dict(self._faults.injected),
            "kinds": known_fault_kinds(),
        }


def _advance(body: dict[str, Any]) -> float:
    if set(body) != {"advance"}:
        raise ValueError('the body must be {"advance": seconds}')
    return values.number(body["advance"], "advance", 0, MAX_ADVANCE_SECONDS)


def _fault_fields(body: dict[str, Any]) -> dict[str, Any]:
    """What Fault leaves open checked here (finite numbers, a longest delay, short printable
    texts); Fault checks the rest (names, share in (0, 1], no negative delay)."""
    for name in ("share", "seconds"):
        if name in body:
            values.finite(body[name], f"fault field {name}")
    if "seconds" in body and body["seconds"] > MAX_FAULT_SECONDS:
        raise ValueError(f"fault field seconds must be at most {MAX_FAULT_SECONDS:g}")
    for name in ("api", "code"):
        if body.get(name) is not None:
            values.text(body[name], f"fault field {name}", MAX_TEXT)
    return body


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"body is not JSON: {exc.msg}") from None
    except RecursionError:
        raise ValueError("body is not JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data
