"""The ports implemented with the real SDKs: python-alipay-sdk (`alipay`), aliyun-python-sdk-sts
(`sts`), tablestore (`tablestore/`), the log sink on stdout (`log_lines`) and the system clock
(`clock`).

Rules every adapter keeps:

- Only `miniapp.errors` types leave an adapter: each vendor exception is translated at the call
  site (an SDK error never reaches a service).
- Local and cloud differ only by endpoint and credentials; there is no `if local` anywhere here.
- Each module imports its SDK where it is needed, and nothing here imports a module at package
  import, so `miniapp.wiring` can load only the adapters a function uses (cold starts stay small).
"""
