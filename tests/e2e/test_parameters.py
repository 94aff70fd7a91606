"""Template parameters switch at run time on the shared cloud (`parameters_set`), as a stack
update would set them: the functions' next calls run with the new values, and the cloud's own
come back after the block. The quota, session, rate limit, certificate and client suites rely
on it."""

from __future__ import annotations

from typing import Any

from tests.conftest import parameters_set

from .faultkit import error_code


def _item_quota(cloud: Any) -> str:
    service = cloud.template.service(cloud.cloud_config()["serviceName"])
    return service.function("db").environment["ITEM_QUOTA"]


def test_a_quota_set_for_a_block_holds_inside_it_and_the_clouds_own_after(local_cloud, miniprogram):
    app = miniprogram()
    session = app.login()
    own = _item_quota(local_cloud)
    with parameters_set(local_cloud, {"ItemQuota": "2"}):
        assert _item_quota(local_cloud) == "2"
        answers = [app.db(session, "add", v=2, text=f"chore {n}") for n in range(3)]
        assert [error_code(a) for a in answers] == [None, None, "QuotaExceeded"]
    assert _item_quota(local_cloud) == own != "2"
    assert error_code(app.db(session, "add", v=2, text="chore 3")) is None


def test_the_signing_mode_switches_the_gateways_app_with_the_functions_and_back(
    local_cloud, miniprogram
):
    gateway = local_cloud.alipay
    with parameters_set(local_cloud, {"AlipaySignMode": "cert"}):
        assert gateway.apps.get(gateway.app_id).signing == "cert"
        assert miniprogram().login().session_id
    assert gateway.apps.get(gateway.app_id).signing == "key"
    assert miniprogram().login().session_id
