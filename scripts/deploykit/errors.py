"""The one exception of the deploy scripts: a problem the user can fix."""

from __future__ import annotations

from collections.abc import Sequence


class DeployError(Exception):
    """A problem the user can fix: the message names it and the fix. `problems` holds each of
    several problems found at once (the message then says how many)."""

    def __init__(self, message: str, status: int = 2, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.problems = tuple(problems)

    @classmethod
    def of(cls, problems: Sequence[str], what: str) -> DeployError:
        """One error for every problem found: the problem itself when there is one."""
        if len(problems) == 1:
            return cls(f"{problems[0]}; {what}")
        return cls(f"{len(problems)} problems; {what}:", problems=problems)

    def lines(self, prefix: str) -> list[str]:
        return [f"{prefix}{self}", *(f"  - {p}" for p in self.problems)]


class RosRefused(DeployError):
    """ROS answered a call with an error (its code and message kept for the caller)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(
            f"ROS refused the request: {code}: {message}; fix the template or "
            f"the parameter it names and run `make deploy` again"
        )
        self.code = code
        self.ros_message = message


# What the clouds answer when the key itself is refused (unknown, wrong secret, expired token)
# or may not do what was asked: the fix is the credentials, not the template.
CREDENTIAL_CODES = (
    "InvalidAccessKeyId",
    "InvalidAccessKeySecret",
    "SignatureDoesNotMatch",
    "InvalidSecurityToken",
    "Forbidden",
    "NoPermission",
    "AccessDenied",
)


def is_credential_code(code: str) -> bool:
    return code.split(".")[0] in CREDENTIAL_CODES
