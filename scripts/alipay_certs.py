"""Print the template parameters of Alipay's certificate mode from the three files Alipay's
console hands out, with python-alipay-sdk's own serial number functions (those of `DCAliPay`).

    .venv/bin/python scripts/alipay_certs.py appCertPublicKey_2021xxx.crt \\
        alipayCertPublicKey_RSA2.crt alipayRootCert.crt

prints `AlipayAppCertSN`, `AlipayRootCertSN` and `AlipayPublicKey` (Alipay's certificate as one
line of base64, the form that is easiest to pass as a parameter). Certificates are public; the
app's private key is not needed and not read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parameters(app_cert: str, alipay_cert: str, root_cert: str) -> dict[str, str]:
    """The four parameters; ValueError for a text that is not a PEM certificate."""
    from alipay import DCAliPay  # the SDK the session function runs
    from OpenSSL.crypto import Error as OpenSSLError

    body = "".join(
        line for line in alipay_cert.strip().splitlines() if line and not line.startswith("-----")
    )
    try:
        app_sn, root_sn = DCAliPay.get_cert_sn(app_cert), DCAliPay.get_root_cert_sn(root_cert)
        DCAliPay.get_cert_sn(alipay_cert)  # only to refuse a file that is no certificate
    except OpenSSLError as exc:
        raise ValueError("not a PEM certificate") from exc
    if not root_sn:
        raise ValueError("the root chain holds no RSA certificate")
    return {
        "AlipayAppCertSN": app_sn,
        "AlipayRootCertSN": root_sn,
        "AlipayPublicKey": body,
        "AlipaySignMode": "cert",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/alipay_certs.py",
        description="Template parameters of Alipay's certificate mode, from the console's files.",
    )
    parser.add_argument("app_cert", type=Path, help="appCertPublicKey_<AppId>.crt")
    parser.add_argument("alipay_cert", type=Path, help="alipayCertPublicKey_RSA2.crt")
    parser.add_argument("root_cert", type=Path, help="alipayRootCert.crt")
    args = parser.parse_args(argv)
    try:
        values = parameters(
            *(path.read_text() for path in (args.app_cert, args.alipay_cert, args.root_cert))
        )
    except (OSError, ValueError) as exc:
        print(f"cannot read the certificates: {exc}", file=sys.stderr)
        return 1
    for name, value in values.items():
        print(f"{name}={value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
