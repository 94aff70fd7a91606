"""The emulators' one error base: every family's refusal is a `ServiceError` with the cloud's HTTP
status, code and message, whatever wire it is rendered on."""

from __future__ import annotations

import pytest

from localcloud.alipay.errors import CODE_INVALID, AlipayError
from localcloud.errors import ServiceError
from localcloud.fc.errors import FcApiError, throttled
from localcloud.oss.model import OssError, no_such_bucket
from localcloud.ros.core import not_found
from localcloud.sls.core import SlsError, project_not_exist
from localcloud.sts.core import StsError
from localcloud.tablestore.model import TablestoreError, table_not_found


@pytest.mark.parametrize(
    "error, status, code",
    [
        (throttled(), 429, "ResourceThrottled"),
        (project_not_exist("p"), 404, "ProjectNotExist"),
        (table_not_found(), 404, "OTSObjectNotExist"),
        (no_such_bucket("b"), 404, "NoSuchBucket"),
        (AlipayError(CODE_INVALID), 200, "isv.code-invalid"),
        (StsError(403, "NoPermission", "You are not authorized"), 403, "NoPermission"),
        (not_found("s-1"), 404, "StackNotFound"),
    ],
)
def test_every_family_refuses_with_a_service_error(error, status, code):
    assert isinstance(error, ServiceError)
    assert (error.status, error.code) == (status, code)
    assert str(error) == f"{code}: {error.message}"


def test_a_tablestore_error_takes_its_status_from_its_code():
    assert TablestoreError("OTSServerBusy", "Server is busy.").status == 503
    assert TablestoreError("OTSSomethingNew", "?").status == 400


def test_an_alipay_error_carries_its_sub_code_and_sub_message():
    error = AlipayError(CODE_INVALID, detail=" (x)")
    assert (error.code, error.message) == ("isv.code-invalid", CODE_INVALID.sub_msg + " (x)")
    assert error.body()["sub_msg"] == error.message


def test_with_code_renames_a_refusal_and_keeps_the_rest():
    error = SlsError(500, "InternalServerError", "Internal server error")
    renamed = error.with_code("ServerBusy")
    assert type(renamed) is SlsError
    assert (renamed.status, renamed.code, renamed.message) == (
        500,
        "ServerBusy",
        "Internal server error",
    )
    assert str(renamed) == "ServerBusy: Internal server error"
    assert error.code == "InternalServerError"  # the original is untouched


def test_with_no_code_is_the_same_refusal():
    error = FcApiError(500, "InternalServerError", "An internal server error occurred")
    assert error.with_code(None) is error
    assert error.with_code("") is error


def test_with_code_keeps_an_oss_errors_details():
    renamed = no_such_bucket("b").with_code("AccessDenied")
    assert isinstance(renamed, OssError) and renamed.details == {"BucketName": "b"}


def test_a_renamed_tablestore_error_takes_the_new_codes_status():
    renamed = TablestoreError("OTSServerBusy", "Server is busy.").with_code("OTSQuotaExhausted")
    assert (renamed.status, renamed.code) == (403, "OTSQuotaExhausted")
