"""Services: the product's behaviour, written against `miniapp.ports` and doing no I/O of their own.

- `sessions`: resolve a sessionId to its live session (expiry, idle timeout, activity).
- `login`: open a session from an auth code, refresh its STS credentials, log out.
- `todos`: the v2 todo API.  `compat`: the 2020 `put`/`get`/`list`/`remove`.
- `telemetry`: one record per invocation and audit records, never secrets.
- `session_app`, `db_app`: what each function does with one request, independent of FC's calling
  convention (the handlers in functions/ translate WSGI and FC events to and from these).
"""
