"""The RPC shell STS and ROS share (and KMS plugs into): an API is an action table; the shell checks
the signature, dispatches on `Action` and answers errors in the RPC JSON shape."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import urlencode

import pytest

from localcloud.credentials import CredentialBook, Principal
from localcloud.faults import Fault, FaultBoard
from localcloud.httpshell import HttpRequest, HttpResponse
from localcloud.rpc import RpcApi, RpcCall, RpcError, RpcShell
from localcloud.rpcauth import string_to_sign

KEY_ID = "LTAI" + secrets.token_hex(10)
SECRET = secrets.token_hex(15)
VERSION = "2016-01-20"


class Keys:
    """The one key the tests sign with (the shell asks only `resolve`)."""

    def resolve(self, access_key_id: str, security_token: str | None) -> Principal:
        assert access_key_id == KEY_ID
        return Principal(KEY_ID, SECRET, is_root=True)


KEYS = cast(CredentialBook, Keys())


class LookupRefused(RpcError):
    """An API's own refusal (as StsError, RosError)."""


def describe(call: RpcCall) -> Mapping[str, Any]:
    return {"Name": call.required("Name"), "Root": call.caller.is_root}


def refuse(call: RpcCall) -> Mapping[str, Any]:
    raise LookupRefused(404, "Forbidden.ResourceNotFound", "The resource not found.")


def crash(call: RpcCall) -> Mapping[str, Any]:
    raise KeyError("a bug")


API = RpcApi(
    product="Kms",
    host_id="kms.cn-hangzhou.aliyuncs.com",
    version=VERSION,
    actions={"Describe": describe, "Refuse": refuse, "Crash": crash},
    service="sts",
    faults={
        "refuse": RpcError(403, "Forbidden.RAM", "User not authorized."),
        "internal_error": RpcError(500, "InternalFailure", "Internal error."),
    },
)


def signed(action: str, **params: str) -> HttpRequest:
    """A request as `aliyunsdkcore.AcsClient` signs it (signature v1, HMAC-SHA1)."""
    query = {
        "Action": action,
        "Version": VERSION,
        "AccessKeyId": KEY_ID,
        "Format": "JSON",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": secrets.token_hex(8),
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **params,
    }
    mac = hmac.new(f"{SECRET}&".encode(), string_to_sign("POST", query).encode(), hashlib.sha1)
    query["Signature"] = base64.b64encode(mac.digest()).decode()
    return HttpRequest("POST", "/", urlencode(query), {}, b"", "127.0.0.1")


def answer(response: HttpResponse) -> tuple[int, dict[str, Any]]:
    return response.status, json.loads(response.body)


@pytest.fixture
def board() -> FaultBoard:
    return FaultBoard(seed=1)


@pytest.fixture
def shell(board: FaultBoard) -> RpcShell:
    return RpcShell(API, KEYS, board)


def test_an_action_answers_its_fields_beside_a_request_id(shell):
    status, body = answer(shell.app(signed("Describe", Name="db")))
    assert status == 200
    assert body == {"RequestId": body["RequestId"], "Name": "db", "Root": True}


def test_an_unknown_action_is_not_found_in_the_rpc_error_shape(shell):
    status, body = answer(shell.app(signed("Explode")))
    assert status == 404
    assert body == {
        "RequestId": body["RequestId"],
        "HostId": "kms.cn-hangzhou.aliyuncs.com",
        "Code": "InvalidAction.NotFound",
        "Message": "Specified api is not found, please check your url and method.",
        "Recommend": "https://api.aliyun.com/troubleshoot?q=InvalidAction.NotFound&product=Kms",
    }


def test_a_missing_parameter_is_named_in_the_clouds_words(shell):
    status, body = answer(shell.app(signed("Describe")))
    assert (status, body["Code"], body["Message"]) == (
        400,
        "MissingName",
        "Name is mandatory for this action.",
    )


def test_an_actions_own_refusal_keeps_its_status_and_code(shell):
    status, body = answer(shell.app(signed("Refuse")))
    assert (status, body["Code"]) == (404, "Forbidden.ResourceNotFound")


def test_a_wrong_signature_is_refused_before_any_action_runs(shell):
    request = signed("Describe", Name="db")
    tampered = HttpRequest(
        "POST", "/", request.query_string.replace("Name=db", "Name=dc"), {}, b"", "127.0.0.1"
    )
    status, body = answer(shell.app(tampered))
    assert (status, body["Code"]) == (400, "SignatureDoesNotMatch")


def test_an_emulator_bug_answers_internal_error_without_a_trace(shell):
    status, body = answer(shell.app(signed("Crash")))
    assert (status, body["Code"]) == (500, "InternalError")
    assert "KeyError" not in json.dumps(body) and "a bug" not in json.dumps(body)


def test_a_form_body_counts_as_parameters(shell):
    request = signed("Describe", Name="db")
    moved = HttpRequest(
        "POST",
        "/",
        "",
        {"content-type": "application/x-www-form-urlencoded"},
        request.query_string.encode(),
        "127.0.0.1",
    )
    assert answer(shell.app(moved))[0] == 200


def test_a_fault_of_the_apis_own_kind_answers_its_error_under_the_faults_code(shell, board):
    board.set(Fault("sts", "refuse", api="Describe", code="Forbidden.KeyNotFound"))
    status, body = answer(shell.app(signed("Describe", Name="db")))
    assert (status, body["Code"], body["Message"]) == (
        403,
        "Forbidden.KeyNotFound",
        "User not authorized.",
    )
    assert answer(shell.app(signed("Refuse")))[1]["Code"] == "Forbidden.ResourceNotFound"


def test_an_api_must_answer_exactly_its_services_own_fault_kinds():
    with pytest.raises(ValueError, match="must answer exactly the fault kinds"):
        RpcShell(
            RpcApi(
                product="Sts",
                host_id="sts.aliyuncs.com",
                version=VERSION,
                actions={},
                service="sts",
                faults={},
            ),
            KEYS,
        )


def test_an_api_without_a_fault_service_takes_no_faults(board):
    shell = RpcShell(
        RpcApi(
            product="ROS",
            host_id="ros.aliyuncs.com",
            version=VERSION,
            actions={"Describe": describe},
        ),
        KEYS,
        board,
    )
    board.set(Fault("sts", "down"))
    assert answer(shell.app(signed("Describe", Name="db")))[0] == 200
