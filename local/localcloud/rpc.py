"""One HTTP shell for Alibaba Cloud's RPC-style APIs (STS, ROS, KMS) as `aliyunsdkcore.AcsClient`
sends them: `POST /?Action=X&...` (parameters in the query, or a form body), signature v1 checked
by `rpcauth`, the `Action` looked up in the API's action table, JSON answers
`{RequestId, ...}` and JSON errors `{RequestId, HostId, Code, Message, Recommend}`.

An API is an `RpcApi`: its version, host, action table and how it answers the faults it offers.
An action is a function of an `RpcCall` (the authenticated caller and the parameters) returning
the answer's fields; it raises `RpcError` (or the API's subclass) to refuse.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from .credentials import CredentialBook, Principal
from .errors import ServiceError
from .faults import ANSWERS, Fault, FaultApplier, FaultBoard
from .httpshell import HttpRequest, HttpResponse, json_response
from .rpcauth import RpcAuthenticator

log = logging.getLogger("localcloud.rpc")


class RpcError(ServiceError):
    """A refusal of an RPC-style API, answered as JSON `{RequestId, HostId, Code, Message}`."""


def missing(name: str) -> RpcError:
    return RpcError(400, f"Missing{name}", f"{name} is mandatory for this action.")


@dataclass(frozen=True)
class RpcCall:
    """One authenticated call: the action, every parameter sent, and who signed it."""

    action: str
    params: Mapping[str, str]
    caller: Principal

    def required(self, name: str) -> str:
        """The parameter's value; `Missing{name}` (400) if it is absent or empty."""
        value = self.params.get(name)
        if not value:
            raise missing(name)
        return value


Action = Callable[[RpcCall], Mapping[str, Any]]


@dataclass(frozen=True)
class RpcApi:
    """What one RPC API is: `product` as the troubleshooting link names it (`Sts`, `ROS`), the
    `host_id` its errors carry, its `version`, and its `actions` by name. `faults` maps the
    fault kinds it answers itself (the vocabulary in `faults.py`) to the error it answers;
    `service` is its name on the fault board (None: it takes no faults)."""

    product: str
    host_id: str
    version: str
    actions: Mapping[str, Action]
    service: str | None = None
    faults: Mapping[str, RpcError] = field(default_factory=dict)


_UNKNOWN_ACTION = RpcError(
    404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method."
)
INTERNAL_ERROR = RpcError(
    500,
    "InternalError",
    "The request processing has failed due to some unknown error, exception or failure.",
)


class RpcShell:
    """Serves one `RpcApi`: parameters, faults, Action lookup, signature, then the action."""

    def __init__(
        self, api: RpcApi, credentials: CredentialBook, faults: FaultBoard | None = None
    ) -> None:
        if api.service is not None and set(api.faults) != set(ANSWERS[api.service]):
            raise ValueError(
                f"{api.product} must answer exactly the fault kinds faults.py gives "
                f"{api.service}: {', '.join(sorted(ANSWERS[api.service]))}"
            )
        self._api = api
        self._auth = RpcAuthenticator(credentials, api.version, RpcError)
        self._faults = (
            FaultApplier(faults, api.service)
            if faults is not None and api.service is not None
            else None
        )

    def app(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4()).upper()
        params = _params(request)
        action = params.get("Action", "")

        def serve() -> HttpResponse:
            return self._serve(request.method, action, params, request_id)

        if self._faults is None:
            return serve()

        def refuse(fault: Fault) -> HttpResponse:
            return self._error(self._api.faults[fault.kind].with_code(fault.code), request_id)

        return self._faults.around(action if action in self._api.actions else None, serve, refuse)

    def _serve(
        self, method: str, action: str, params: Mapping[str, str], request_id: str
    ) -> HttpResponse:
        try:
            handler = self._api.actions.get(action)
            if handler is None:
                raise _UNKNOWN_ACTION
            caller = self._auth.authenticate(method, params)
            payload = handler(RpcCall(action, params, caller))
            return json_response(200, {"RequestId": request_id, **payload})
        except RpcError as exc:
            return self._error(exc, request_id)
        except Exception:  # an emulator bug: answer in the API's format, keep the trace here
            log.exception("%s %s failed", self._api.product, action)
            return self._error(INTERNAL_ERROR, request_id)

    def _error(self, exc: RpcError, request_id: str) -> HttpResponse:
        return json_response(
            exc.status,
            {
                "RequestId": request_id,
                "HostId": self._api.host_id,
                "Code": exc.code,
                "Message": exc.message,
                "Recommend": f"https://api.aliyun.com/troubleshoot?q={exc.code}"
                f"&product={self._api.product}",
            },
        )


def _params(request: HttpRequest) -> dict[str, str]:
    params = dict(request.query)
    # The SDK puts everything in the query (ROS's TemplateBody in a form body); both are read.
    if request.header("content-type").startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    return params
