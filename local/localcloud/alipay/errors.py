"""Alipay's public error codes, with the texts the real gateway answers.

Every refusal is an `AlipayError` carrying one `ErrorCode`; the HTTP shell renders it as
`{"code", "msg", "sub_code", "sub_msg"}` (under `error_response`, or under the method's own
`..._response` key where the real gateway does so). The numeric code is a family (40001 missing
argument, 40002 invalid argument, 40004 business failed, 40006 insufficient permissions, 20001
token, 20000 system); the sub_code says what exactly. The families and the common sub-codes
(20000 to 40006 below) are those of Alipay's table of common error codes
(https://opendocs.alipay.com/open/common/105806); the sub-codes under a method's name are that
method's page's; a comment says where a text is ours.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ServiceError


@dataclass(frozen=True)
class ErrorCode:
    code: str
    msg: str
    sub_code: str
    sub_msg: str


class AlipayError(ServiceError):
    """A refusal of the gateway: HTTP 200 (the gateway answers its errors in the body), the
    sub_code as the code, the sub_msg (with the detail) as the message."""

    def __init__(self, error: ErrorCode, detail: str = "") -> None:
        super().__init__(200, error.sub_code, error.sub_msg + detail)
        self.error = error
        self.detail = detail  # appended to sub_msg, as the gateway does for signature errors

    def body(self) -> dict[str, str]:
        e = self.error
        return {
            "code": e.code,
            "msg": e.msg,
            "sub_code": e.sub_code,
            "sub_msg": e.sub_msg + self.detail,
        }


_SYSTEM = ("20000", "Service Currently Unavailable")
_TOKEN = ("20001", "Insufficient Token Permissions")
_MISSING = ("40001", "Missing Required Arguments")
_INVALID = ("40002", "Invalid Arguments")
_PERMISSIONS = ("40006", "Insufficient Permissions")

# 20000: the platform itself failed; callers should retry later.
UNKNOWN_ERROR = ErrorCode(*_SYSTEM, "isp.unknow-error", "服务暂不可用（业务系统不可用）")
GATEWAY_UNKNOWN_ERROR = ErrorCode(
    *_SYSTEM, "aop.unknow-error", "服务暂不可用（网关自身的未知错误）"
)

# 20001: the user's access token (auth_token) does not allow the call.
INVALID_AUTH_TOKEN = ErrorCode(*_TOKEN, "aop.invalid-auth-token", "无效的访问令牌")
AUTH_TOKEN_TIME_OUT = ErrorCode(*_TOKEN, "aop.auth-token-time-out", "访问令牌已过期")

# 40001: a public request parameter is absent (an empty value counts as absent).
MISSING_METHOD = ErrorCode(*_MISSING, "isv.missing-method", "缺少方法名参数")
MISSING_SIGNATURE = ErrorCode(*_MISSING, "isv.missing-signature", "缺少签名参数")
MISSING_SIGNATURE_TYPE = ErrorCode(*_MISSING, "isv.missing-signature-type", "缺少签名类型参数")
MISSING_APP_ID = ErrorCode(*_MISSING, "isv.missing-app-id", "缺少AppID参数")
MISSING_TIMESTAMP = ErrorCode(*_MISSING, "isv.missing-timestamp", "缺少时间戳参数")
MISSING_VERSION = ErrorCode(*_MISSING, "isv.missing-version", "缺少版本参数")

# 40002: a parameter is present but wrong.
INVALID_METHOD = ErrorCode(*_INVALID, "isv.invalid-method", "不存在的方法名")
INVALID_APP_ID = ErrorCode(*_INVALID, "isv.invalid-app-id", "无效的AppID参数")
INVALID_TIMESTAMP = ErrorCode(*_INVALID, "isv.invalid-timestamp", "非法的时间戳参数")
INVALID_CHARSET = ErrorCode(*_INVALID, "isv.invalid-charset", "字符集错误")
INVALID_SIGNATURE_TYPE = ErrorCode(*_INVALID, "isv.invalid-signature-type", "无效签名类型")
MISSING_SIGNATURE_CONFIG = ErrorCode(
    *_INVALID, "isv.missing-signature-config", "验签出错, 未配置对应签名算法的公钥或者证书"
)
INVALID_SIGNATURE = ErrorCode(
    *_INVALID,
    "isv.invalid-signature",
    "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：",
)

# Certificate mode. Alipay's error page for the public gateway (opendocs common/02kdnf) names
# isv.missing-app-cert-sn, isv.missing-alipay-root-cert-sn, isv.invalid-alipay-root-cert-sn,
# isv.app-cert-not-exist, isv.app-cert-expired and isv.alipay-cert-not-exist; it names no
# "app cert SN does not match" code, so an app_cert_sn that is not the app's certificate answers
# isv.app-cert-not-exist (no certificate of this app has that SN). The families (40001 missing,
# 40002 invalid) follow the rest of the table; the sub_msg texts are ours, not checked against the
# real gateway.
MISSING_APP_CERT_SN = ErrorCode(*_MISSING, "isv.missing-app-cert-sn", "缺少应用公钥证书序列号")
MISSING_ALIPAY_ROOT_CERT_SN = ErrorCode(
    *_MISSING, "isv.missing-alipay-root-cert-sn", "缺少支付宝根证书序列号"
)
INVALID_ALIPAY_ROOT_CERT_SN = ErrorCode(
    *_INVALID, "isv.invalid-alipay-root-cert-sn", "无效的支付宝根证书序列号"
)
APP_CERT_NOT_EXIST = ErrorCode(*_INVALID, "isv.app-cert-not-exist", "应用公钥证书不存在")

# 40006: the app may not call the method. Alipay answers it under the method's own key, signed
# (python-alipay-sdk returns it as a result), for a method whose product the app has not signed
# up for or added.
INSUFFICIENT_ISV_PERMISSIONS = ErrorCode(
    *_PERMISSIONS,
    "isv.insufficient-isv-permissions",
    "ISV权限不足，建议在开发者中心检查签约是否已经生效",
)

# alipay.system.oauth.token (https://opendocs.alipay.com/apis/api_9/alipay.system.oauth.token)
GRANT_TYPE_INVALID = ErrorCode(*_INVALID, "isv.grant-type-invalid", "grant_type参数不正确")
CODE_INVALID = ErrorCode(*_INVALID, "isv.code-invalid", "授权码code无效")
REFRESH_TOKEN_INVALID = ErrorCode(
    *_INVALID, "isv.refresh-token-invalid", "刷新令牌refresh_token无效"
)
REFRESH_TOKEN_TIME_OUT = ErrorCode(
    *_INVALID, "isv.refresh-token-time-out", "刷新令牌refresh_token过期"
)


def system_error(sub_code: str | None) -> AlipayError:
    """Alipay's 20000 family, for an injected outage; `sub_code` picks the variant."""
    for known in (UNKNOWN_ERROR, GATEWAY_UNKNOWN_ERROR):
        if sub_code in (None, known.sub_code):
            return AlipayError(known)
    return AlipayError(ErrorCode(*_SYSTEM, str(sub_code), "服务暂不可用"))


# 40004: the call was well formed but the business refused it. The trade APIs answer these
# under the method's own key, signed (python-alipay-sdk returns them, it does not raise). The
# ACQ.* sub-codes are the ones Alipay's trade API pages list; the sub_msg texts follow those
# pages' descriptions and were not checked against the real gateway's answers.
_BUSINESS = ("40004", "Business Failed")
ACQ_INVALID_PARAMETER = ErrorCode(*_BUSINESS, "ACQ.INVALID_PARAMETER", "参数无效")
ACQ_BUYER_NOT_EXIST = ErrorCode(*_BUSINESS, "ACQ.BUYER_NOT_EXIST", "买家不存在")
ACQ_TRADE_NOT_EXIST = ErrorCode(*_BUSINESS, "ACQ.TRADE_NOT_EXIST", "交易不存在")
ACQ_TRADE_HAS_SUCCESS = ErrorCode(*_BUSINESS, "ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
ACQ_TRADE_HAS_CLOSE = ErrorCode(*_BUSINESS, "ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
ACQ_TRADE_HAS_FINISHED = ErrorCode(*_BUSINESS, "ACQ.TRADE_HAS_FINISHED", "交易已完结")
ACQ_CONTEXT_INCONSISTENT = ErrorCode(*_BUSINESS, "ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
ACQ_TOTAL_FEE_EXCEED = ErrorCode(*_BUSINESS, "ACQ.TOTAL_FEE_EXCEED", "订单总金额不在允许范围内")
ACQ_TRADE_STATUS_ERROR = ErrorCode(*_BUSINESS, "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
ACQ_REFUND_AMT_NOT_EQUAL_TOTAL = ErrorCode(
    *_BUSINESS, "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"
)
ACQ_DISCORDANT_REPEAT_REQUEST = ErrorCode(
    *_BUSINESS, "ACQ.DISCORDANT_REPEAT_REQUEST", "不一致的请求"
)
