"""The local cloud: protocol-faithful emulators of Function Compute, Tablestore, Log Service, STS
and the Alipay OpenAPI gateway, against which the unmodified official SDKs run on loopback.

Never deployed: it lives outside every CodeUri. Each service is a sub-package with a small core
(state and rules, no HTTP) under a thin HTTP shell (`localcloud.httpshell`).
"""
