"""STS emulator: AssumeRole (and GetCallerIdentity) for `aliyunsdkcore.AcsClient` with
`aliyunsdksts`, plus the core `assume_role` call Function Compute uses to issue service-role
credentials. Issued credentials are kept in the shared `CredentialBook`.

As on the cloud, AssumeRole refuses the account's root key (403 NoPermission, "Roles may not be
assumed by root accounts."): callers use STS credentials of a role (role chaining), which is what
the functions hold at run time.
"""

from .core import RoleSpec, StsError
from .http import FAULT_KINDS, StsEmulator

__all__ = ["FAULT_KINDS", "RoleSpec", "StsEmulator", "StsError"]
