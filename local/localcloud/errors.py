"""The one error base of the emulators (localstack's `ServiceException`): a refusal in a cloud
service's own terms, an HTTP status, the cloud's error code and its message.

Each emulator family keeps only what puts the error on its wire::

    ServiceError(status, code, message)
    ├── FcApiError        fc/errors.py          JSON {ErrorCode, ErrorMessage} + x-fc-request-id
    ├── RpcError          rpc.py                JSON {RequestId, HostId, Code, Message, Recommend}
    │   ├── StsError      sts/core.py
    │   └── RosError      ros/core.py
    ├── SlsError          sls/core.py           JSON {errorCode, errorMessage}
    ├── TablestoreError   tablestore/model.py   protobuf Error {code, message}; status from code
    ├── OssError          oss/model.py          XML <Error><Code/><Message/>...</Error>
    └── AlipayError       alipay/errors.py      JSON {code, msg, sub_code, sub_msg}, HTTP 200
"""

from __future__ import annotations

from typing import TypeVar

_Error = TypeVar("_Error", bound="ServiceError")


class ServiceError(Exception):
    """A refusal the emulated cloud answers; never carries a trace to the client."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def with_code(self: _Error, code: str | None) -> _Error:
        """The same refusal under another code (an injected fault's `code`); itself if none."""
        if not code:
            return self
        renamed = type(self).__new__(type(self), f"{code}: {self.message}")
        renamed.__dict__.update(self.__dict__, code=code)
        return renamed
