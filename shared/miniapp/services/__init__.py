"""Services: the product's behaviour, written against `miniapp.ports` and doing no I/O of their own.

- `sessions`: resolve a sessionId to its live session (expiry, idle timeout, activity).
- `login`, `identity`: open a session from an auth code (the user's internal id from their
  Alipay ids), refresh its STS credentials, log out.
- `collection`: the base service of every declared collection (v2).  `compat`: the 2020
  `put`/`get`/`list`/`remove`.  `exact_count`: the per-user count their quotas are checked on.
- `telemetry`: one record per invocation and audit records, never secrets.  `failures`: a bug
  reported as `Internal`, its details to stderr only.

The front ends that call these for one request (`DbApp`, `SessionApp`) are in `entrypoints/`.
"""
