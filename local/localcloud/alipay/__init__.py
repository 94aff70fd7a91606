"""Local Alipay OpenAPI gateway: test users, single-use auth codes, OAuth tokens and user info,
and JSAPI payments (trades, refunds, the cashier, notifies), spoken with RSA2 signatures both ways
so python-alipay-sdk works against it unmodified.

`keys` holds the key pairs, `certs` the certificates it issues as the authority of certificate
mode, `apps` the registered apps (signing and identity modes, open_ids), `core` the authorisation
rules and `trades` the trade rules (no HTTP; amounts in `money`), `gateway` the public request
checks, `payments` the trade methods and the cashier, `notify` the notifies and their retries,
`replies` the signed answers and `http` the shell that ties them together.
"""

from .apps import IDENTITY_MODES
from .http import FAULT_KINDS, SANDBOX_PREFIX, AlipayEmulator
from .keys import AlipayKeys

__all__ = ["AlipayEmulator", "AlipayKeys", "FAULT_KINDS", "IDENTITY_MODES", "SANDBOX_PREFIX"]
