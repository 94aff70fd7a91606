"""The library the functions share (deployed with them).

- `errors`: the one exception tree; each error has a stable client-facing code.
- `domain/`: values and validation. No I/O: nothing here may import an SDK, open a socket or read
  the environment.
- `ports`: what the services need from the outside world, as Protocols.
- `services/`: session lifecycle and user data, written against the ports.
- `adapters/`: the ports implemented with the real SDKs (python-alipay-sdk, aliyun STS SDK,
  tablestore, aliyun-log-python-sdk). Vendor errors are translated into `errors` here.
"""
