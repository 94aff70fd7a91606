"""The notify verifier on python-alipay-sdk (adapters/alipay_notify.py): Alipay's RSA2 over the
sorted fields but `sign` and `sign_type`, in the notify's own charset; keys made here."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from miniapp.adapters.alipay_notify import AlipayNotifyVerifier


def key_pair() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, public.decode()


def signed(fields: dict[str, str], key: rsa.RSAPrivateKey, charset: str) -> dict[str, str]:
    text = "&".join(f"{k}={v}" for k, v in sorted(fields.items()))
    sign = key.sign(text.encode(charset), padding.PKCS1v15(), hashes.SHA256())
    return {**fields, "sign_type": "RSA2", "sign": base64.b64encode(sign).decode()}


def verifier(public_pem: str) -> AlipayNotifyVerifier:
    return AlipayNotifyVerifier("9000000000000001", public_pem, "http://127.0.0.1:9/gateway.do")


def test_a_utf8_and_a_gbk_notify_verify_in_their_charset():
    key, public = key_pair()
    fields = {"subject": "专业版", "out_trade_no": "o1", "total_amount": "9.90"}
    check = verifier(public)
    assert check.verify(signed({**fields, "charset": "utf-8"}, key, "utf-8"), "utf-8")
    assert check.verify(signed({**fields, "charset": "gbk"}, key, "gbk"), "gbk")


def test_a_changed_field_another_key_or_a_broken_sign_does_not_verify():
    key, public = key_pair()
    other, _ = key_pair()
    fields = {"out_trade_no": "o1", "total_amount": "9.90", "charset": "utf-8"}
    check = verifier(public)
    assert not check.verify({**signed(fields, key, "utf-8"), "total_amount": "9.91"}, "utf-8")
    assert not check.verify(signed(fields, other, "utf-8"), "utf-8")
    assert not check.verify({**signed(fields, key, "utf-8"), "sign": "not base64!"}, "utf-8")
