"""KMS emulator (Secrets Manager part): GetSecretValue for `aliyunsdkcore.AcsClient` with
`aliyunsdkkms`, on the RPC shell STS and ROS share (`localcloud.rpc`: signature v1, JSON errors,
the fault vocabulary).

It keeps the stack's secrets (`ALIYUN::KMS::Secret` resources of the deployed templates), reads
nothing from disk, and answers only a principal whose policies allow `kms:GetSecretValue` on the
secret's ARN: the root key, or STS credentials of a role the template declares with such a grant
(the role's policies and the token's inline policy must both allow it).
"""

from .core import KmsError, SecretBook, secret_arn
from .http import API_VERSION, FAULT_KINDS, KmsEmulator

__all__ = ["API_VERSION", "FAULT_KINDS", "KmsEmulator", "KmsError", "SecretBook", "secret_arn"]
