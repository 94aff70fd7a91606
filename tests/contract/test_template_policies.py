"""Least privilege, read from template.yml: each function's effective policy (the policies of its
service's role, evaluated with RAM's rules by `localcloud.policy`) allows exactly the tables,
logstores, secrets and roles its design needs. On FC 2.0 a role belongs to a service, so each
function has a service and a role of its own (docs/security.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from localcloud.policy import any_allows
from localcloud.template import Template, load_template
from tests.conftest import ROOT, template_parameters

ACCOUNT, REGION = "1234567890123456", "cn-hangzhou"
PARAMS = template_parameters(
    ServiceName="todo", DBInstanceName="todo-db", LogProjectName="todo-logs", RoleNamePrefix="todo"
)
TABLES = (
    "todo_list",
    "user_data",
    "usage",
    "idempotency",
    "session",
    "identity",
    "guard",
    "order_index",
)
OTS = ("GetRow", "PutRow", "UpdateRow", "DeleteRow", "GetRange", "BatchGetRow", "BatchWriteRow")
SECRETS = ("alipay-app-private-key", "data-key", "hash-key")
ROLES = ("todo-client", "todo-session", "todo-db")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    code = tmp_path_factory.mktemp("unpacked")
    (code / "index.py").write_text("def handler(event, context):\n    return event\n")

    def locate(bucket: str, key: str, path: str) -> Path:
        return code

    return load_template(
        ROOT / "template.yml", PARAMS, account_id=ACCOUNT, region=REGION, code=locate
    )


@pytest.fixture(scope="module")
def policies(template: Template) -> dict[str, tuple[dict[str, Any], ...]]:
    """Function name -> the policies of its service's role."""
    found = {}
    for service in template.services:
        assert service.role_arn is not None
        role = template.role_by_arn(service.role_arn)
        assert role is not None
        for function in service.functions:
            found[function.name] = role.policies
    return found


def allowed(policies: tuple[dict[str, Any], ...], action: str, resource: str) -> bool:
    return any_allows(policies, action, resource)


def table_grants(policies: tuple[dict[str, Any], ...]) -> dict[str, set[str]]:
    base = f"acs:ots:{REGION}:{ACCOUNT}:instance/todo-db/table/"
    grants = {
        table: {api for api in OTS if allowed(policies, f"ots:{api}", base + table)}
        for table in TABLES
    }
    return {table: apis for table, apis in grants.items() if apis}


def secret_grants(policies: tuple[dict[str, Any], ...]) -> set[str]:
    return {
        name
        for name in SECRETS
        if allowed(policies, "kms:GetSecretValue", f"acs:kms:{REGION}:{ACCOUNT}:secret/todo/{name}")
    }


def role_grants(policies: tuple[dict[str, Any], ...]) -> set[str]:
    return {
        name
        for name in ROLES
        if allowed(policies, "sts:AssumeRole", f"acs:ram::{ACCOUNT}:role/{name}")
    }


def logstore_grants(policies: tuple[dict[str, Any], ...]) -> set[str]:
    return {
        store
        for store in ("function-logs", "other")
        if allowed(
            policies,
            "log:PostLogStoreLogs",
            f"acs:log:{REGION}:{ACCOUNT}:project/todo-logs/logstore/{store}",
        )
    }


def test_each_function_has_a_service_and_a_role_of_its_own(policies):
    assert set(policies) == {"session", "db", "notify", "orders"}
    assert len({repr(p) for p in policies.values()}) == 4


def test_notify_holds_no_secret_and_only_reads_and_changes_orders(policies):
    notify = policies["notify"]
    assert secret_grants(notify) == set() and role_grants(notify) == set()
    assert table_grants(notify) == {
        "user_data": {"GetRow", "PutRow", "UpdateRow"},
        "order_index": {"GetRow"},
    }


def test_orders_reads_the_private_key_and_settles_the_index(policies):
    orders = policies["orders"]
    assert secret_grants(orders) == {"alipay-app-private-key"} and role_grants(orders) == set()
    assert table_grants(orders) == {
        "user_data": {"GetRow", "PutRow", "UpdateRow"},
        "order_index": {"GetRow", "GetRange", "DeleteRow"},
    }


def test_db_reaches_user_data_and_only_reads_and_touches_sessions(policies):
    every = set(OTS)
    assert table_grants(policies["db"]) == {
        "todo_list": every,
        "user_data": every,
        "usage": every,
        "idempotency": every,
        # resolve the caller and record the session's use; never create or delete one
        "session": {"GetRow", "BatchGetRow", "UpdateRow"},
        # index a new order (owner and open rows); never read or delete the index
        "order_index": {"PutRow", "BatchWriteRow"},
    }


def test_db_reaches_neither_identity_nor_login_limits_nor_any_role_nor_the_token_key(policies):
    db = policies["db"]
    assert "identity" not in table_grants(db) and "guard" not in table_grants(db)
    assert role_grants(db) == set()
    # the hash key keys user hashes and cursors; the app's private key signs the trades of
    # orders (read on an instance's first order). Neither opens an Alipay token.
    assert secret_grants(db) == {"hash-key", "alipay-app-private-key"}


def test_session_reaches_no_user_data(policies):
    assert table_grants(policies["session"]) == {
        "session": {"GetRow", "PutRow", "UpdateRow", "DeleteRow"},
        "identity": {"GetRow", "PutRow", "UpdateRow", "DeleteRow"},
        "guard": {"GetRow", "PutRow", "UpdateRow", "BatchWriteRow"},
    }


def test_session_assumes_only_the_client_role_and_reads_its_three_secrets(policies):
    assert role_grants(policies["session"]) == {"todo-client"}
    assert secret_grants(policies["session"]) == set(SECRETS)


def test_every_function_writes_only_its_logstore(policies):
    for function in policies:
        assert logstore_grants(policies[function]) == {"function-logs"}


def test_no_function_may_invoke_functions_or_read_other_secrets(policies):
    for function in policies:
        assert not allowed(
            policies[function],
            "fc:InvokeFunction",
            f"acs:fc:{REGION}:{ACCOUNT}:services/todo/functions/db",
        )
        assert not allowed(
            policies[function],
            "kms:GetSecretValue",
            f"acs:kms:{REGION}:{ACCOUNT}:secret/other/data-key",
        )


def test_the_client_role_still_invokes_only_the_db_function(template):
    # What the session function hands out is unchanged by the split: the db function of the
    # service clients invoke, qualified or not, and nothing else.
    client = next(r for r in template.roles if r.name == "todo-client").policies
    fc = f"acs:fc:{REGION}:{ACCOUNT}:services"
    assert allowed(client, "fc:InvokeFunction", f"{fc}/todo/functions/db")
    assert allowed(client, "fc:InvokeFunction", f"{fc}/todo.LATEST/functions/db")
    assert not allowed(client, "fc:InvokeFunction", f"{fc}/todo-session/functions/session")
    assert not allowed(client, "fc:InvokeFunction", f"{fc}/todo/functions/session")


OSS_APIS = ("GetObject", "PutObject", "DeleteObject", "ListObjects")


def oss_grants(policies: tuple[dict[str, Any], ...], bucket: str) -> dict[str, set[str]]:
    """Prefix of the files bucket (or the bucket itself, "") -> the OSS APIs allowed there."""
    grants = {}
    for prefix in ("uploads/", "files/", ""):
        resource = f"acs:oss:*:{ACCOUNT}:{bucket}" + (f"/{prefix}u1/f1" if prefix else "")
        grants[prefix] = {api for api in OSS_APIS if allowed(policies, f"oss:{api}", resource)}
    return {prefix: apis for prefix, apis in grants.items() if apis}


def test_files_db_may_check_copy_and_delete_but_never_write_an_upload(template, policies):
    (bucket,) = template.buckets
    assert bucket.name == f"miniapp-files-{ACCOUNT}-{REGION}"
    assert oss_grants(policies["db"], bucket.name) == {
        "uploads/": {"GetObject", "DeleteObject"},
        "files/": {"GetObject", "PutObject", "DeleteObject"},
    }
    assert allowed(policies["db"], "sts:AssumeRole", f"acs:ram::{ACCOUNT}:role/todo-files")
    assert oss_grants(policies["session"], bucket.name) == {}


def test_files_what_any_signature_the_client_holds_can_ever_do(template):
    (bucket,) = template.buckets
    role = template.role_by_arn(f"acs:ram::{ACCOUNT}:role/todo-files")
    assert role is not None
    assert oss_grants(role.policies, bucket.name) == {
        "uploads/": {"PutObject"},
        "files/": {"GetObject"},
    }
    assert [(r.prefix, r.days) for r in bucket.expiration] == [("uploads/", 1)]
