"""`make deploy` against the local cloud, exactly as docs/deploy.md gives it for Alibaba Cloud, with
local endpoints and the local root key: the stack builds, the whole todo flow and the 2020
protocol run through client-config/<stack>.json, a code change updates the stack, two stacks
with different ServiceNames coexist, and bad input ends with one clear message."""

from __future__ import annotations

import hashlib
import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import fc2
import pytest
import yaml

from localcloud.miniprogram import MiniProgram, new_user_id
from tests.conftest import ROOT, running_local_cloud
from tests.e2e.deploying import Deployer, failure

VERSION_PROBE = b'"deployed-version"'
STAGING = (
    "--parameter",
    "ServiceName=todo-staging",
    "--parameter",
    "RoleNamePrefix=todo-staging",
    "--parameter",
    "LogProjectName=todo-staging-logs",
)


# A cloud of its own: `make deploy` creates, updates and deletes whole stacks here (deleting one
# deletes its tables and logstores), which the shared cloud's functions must keep.
@pytest.fixture(scope="module")
def deployer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployer]:
    with running_local_cloud(tmp_path_factory.mktemp("deploy-state")) as cloud:
        yield Deployer(cloud, tmp_path_factory.mktemp("deploy-work"))
    for stack in ("deploy-staging", "deploy-prod", "deploy-broken", "deploy-half", "deploy-rotate"):
        (ROOT / "client-config" / f"{stack}.json").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def staging(deployer: Deployer) -> dict[str, str]:
    config = deployer.deploy("deploy-staging", "todo-staging")
    # The first deploy uploads each package once, the very bytes `make package` wrote.
    # (make-deploy-bucket.json: the marker of a bucket make deploy created)
    uploaded = [key for key in deployer.puts if key.startswith("packages/")]
    keys = {key.split("/")[2].split("-")[0]: key for key in uploaded}
    assert sorted(uploaded) == sorted(keys.values()) and set(keys) == {"session", "db", "payments"}
    for name, key in keys.items():
        data = (ROOT / "build" / f"{name}.zip").read_bytes()
        digest = hashlib.sha256(data).hexdigest()[:20]
        assert key == f"packages/deploy-staging/{name}-{digest}.zip"
        assert deployer.bucket().get_object(key).read() == data
    return config


# The resources of template.yml: a first deploy creates them all.
RESOURCES = len(yaml.safe_load((ROOT / "template.yml").read_text())["Resources"])


def test_the_first_deploy_creates_every_resource_and_prints_the_session_url(staging, deployer):
    lines = deployer.first.stdout.splitlines()
    assert f"changes: 0 updated, {RESOURCES} created, 0 deleted, 0 unchanged" in lines
    assert f"session URL: {staging['sessionUrl']}" in lines


def patched_build(tmp_path: Path, function: str, extra_code: str) -> Path:
    """A copy of build/*.zip whose `function` package has `extra_code` appended to index.py, as
    `make package` would zip an edited handler (its stale bytecode left out)."""
    build = tmp_path / "build"
    build.mkdir()
    for source in (ROOT / "build").glob("*.zip"):
        if source.stem != function:
            shutil.copy(source, build / source.name)
            continue
        with (
            zipfile.ZipFile(source) as old,
            zipfile.ZipFile(build / source.name, "w", zipfile.ZIP_DEFLATED) as new,
        ):
            for info in old.infolist():
                if info.filename.startswith("__pycache__/index."):
                    continue
                data = old.read(info)
                if info.filename == "index.py":
                    data += extra_code.encode()
                new.writestr(info, data)
    return build


def test_deploy_writes_a_client_config_without_secrets(staging, deployer):
    assert staging["serviceName"] == "todo-staging"
    assert (staging["sessionFunctionName"], staging["dbFunctionName"]) == ("session", "db")
    assert staging["sessionServiceName"] == "todo-staging-session"
    assert staging["sessionUrl"] == (
        f"{deployer.cloud.url('fc')}/2016-08-15/proxy/todo-staging-session/session/"
    )
    text = (ROOT / "client-config" / "deploy-staging.json").read_text()
    # the keys of make dev's client-config/local.json, and nothing else
    assert list(json.loads(text)) == [
        "accountId",
        "region",
        "serviceName",
        "sessionServiceName",
        "sessionFunctionName",
        "dbFunctionName",
        "fcEndpoint",
        "sessionUrl",
    ]
    assert (
        "PRIVATE KEY" not in text
        and json.loads(deployer.secrets.read_text())["DataKey"] not in text
    )


def test_the_todo_flow_runs_on_the_deployed_stack(staging):
    app = MiniProgram(staging)
    session = app.login()
    added = app.invoke(
        session, {"v": 2, "sid": session.session_id, "op": "add", "text": "ship it"}
    )["data"]
    assert added["text"] == "ship it" and added["completed"] is False
    listed = app.invoke(session, {"v": 2, "sid": session.session_id, "op": "list"})["data"]
    assert [t["id"] for t in listed["items"]] == [added["id"]]


def test_the_2020_protocol_runs_on_the_deployed_stack(staging):
    app = MiniProgram(staging)
    session = app.login()
    assert app.db(session, "put", obj={"id": "a1", "title": "old client"}) == {"data": None}
    assert app.db(session, "get", id="a1")["data"]["title"] == "old client"
    assert [row["id"] for row in app.db(session, "list")["data"]] == ["a1"]
    assert app.db(session, "remove", id="a1") == {"data": None}


def test_deploying_an_unchanged_stack_again_is_up_to_date(staging, deployer):
    first = deployer.run("deploy-staging", *STAGING)  # whatever ran before: this code now
    assert first.returncode == 0, first.stdout + first.stderr
    stack = next(s for s in deployer.cloud.ros.stacks.list() if s.name == "deploy-staging")
    deployer.puts.clear()
    again = deployer.run("deploy-staging", *STAGING)
    print(again.stdout, again.stderr)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "stack deploy-staging is up to date: nothing changed" in again.stdout
    assert f"changes: 0 updated, 0 created, 0 deleted, {RESOURCES} unchanged" in again.stdout
    assert deployer.puts == []  # nothing uploaded
    after = next(s for s in deployer.cloud.ros.stacks.list() if s.name == "deploy-staging")
    assert (after.status, after.updated) == (stack.status, stack.updated)  # no update started
    assert (
        json.loads((ROOT / "client-config" / "deploy-staging.json").read_text())["serviceName"]
        == "todo-staging"
    )


def test_a_code_change_updates_the_stack_and_the_new_code_answers(staging, deployer, tmp_path):
    root_fc = fc2.Client(
        endpoint=deployer.cloud.url("fc"),
        accessKeyID=deployer.cloud.account.access_key_id,
        accessKeySecret=deployer.cloud.account.access_key_secret,
    )
    before = root_fc.invoke_function("todo-staging", "db", payload=VERSION_PROBE).data
    assert b"v2-of-db" not in before
    build = patched_build(
        tmp_path,
        "db",
        (
            "\n_previous_handler = handler\n\n\ndef handler(event, context):\n"
            f"    if event == {VERSION_PROBE!r}:\n        return b'\"v2-of-db\"'\n"
            "    return _previous_handler(event, context)\n"
        ),
    )
    deployer.puts.clear()
    result = deployer.run("deploy-staging", *STAGING, build=build)
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "updating stack deploy-staging" in result.stdout
    assert "session: unchanged" in result.stdout and "db: uploaded" in result.stdout
    # Only the changed package is uploaded: one PutObject, under the new zip's hash.
    new_zip = (build / "db.zip").read_bytes()
    assert deployer.puts == [
        f"packages/deploy-staging/db-{hashlib.sha256(new_zip).hexdigest()[:20]}.zip"
    ]
    # progress shows what the update does, resource by resource: the one function it changes
    # (ROS leaves the others alone), not the statuses it started from
    progress = [line.split() for line in result.stdout.splitlines() if " ALIYUN::" in line]
    assert [words[:3] for words in progress] == [
        ["DBFunction", "ALIYUN::FC::Function", "UPDATE_IN_PROGRESS"],
        ["DBFunction", "ALIYUN::FC::Function", "UPDATE_COMPLETE"],
    ] or [words[:3] for words in progress] == [
        ["DBFunction", "ALIYUN::FC::Function", "UPDATE_COMPLETE"]  # a poll missed the first
    ], progress
    assert "stack deploy-staging: UPDATE_COMPLETE" in result.stdout
    assert (
        f"changes: 1 updated (DBFunction), 0 created, 0 deleted, {RESOURCES - 1} unchanged"
        in result.stdout.splitlines()
    )
    assert f"session URL: {staging['sessionUrl']}" in result.stdout.splitlines()
    after = root_fc.invoke_function("todo-staging", "db", payload=VERSION_PROBE).data
    assert after == b'"v2-of-db"'
    app = MiniProgram(staging)  # and the rest of db still works
    session = app.login()
    assert app.db(session, "list") == {"data": []}


def test_two_stacks_with_different_service_names_coexist(staging, deployer):
    prod = deployer.deploy(
        "deploy-prod", "todo-prod", extra=("--parameter", "DBInstanceName=todo-prod-db")
    )
    assert prod["serviceName"] == "todo-prod"
    user = new_user_id()  # one Alipay user of both
    staging_app, prod_app = MiniProgram(staging, user), MiniProgram(prod, user)
    staged = staging_app.login()
    assert staging_app.db(staged, "put", obj={"id": "t1", "title": "staging only"}) == {
        "data": None
    }
    # prod has its own Tablestore instance: none of staging's rows
    assert prod_app.db(prod_app.login(), "list") == {"data": []}
    assert [row["id"] for row in staging_app.db(staged, "list")["data"]] == ["t1"]
    assert "todo-prod-db" in deployer.cloud.tablestore.instances()


TAKEN = "miniapp-todo"  # the service the local cloud itself serves (make dev's)


def test_a_failing_stack_ends_with_ros_status_and_reason(deployer):
    result = deployer.run(
        "deploy-broken",
        "--parameter",
        f"ServiceName={TAKEN}",
        "--parameter",
        "RoleNamePrefix=todo-broken",
        "--parameter",
        "LogProjectName=todo-broken-logs",
    )
    assert "stack deploy-broken: CREATE_FAILED" in result.stdout
    # the failing resource, with its reason, in the progress lines
    assert any(
        line.split()[:3] == ["Service", "ALIYUN::FC::Service", "CREATE_FAILED"]
        and "EntityAlreadyExists.Service" in line
        for line in result.stdout.splitlines()
    ), result.stdout
    line = failure(result)
    assert "EntityAlreadyExists.Service" in line and "run `make deploy` again" in line


def test_an_object_under_a_package_name_with_other_bytes_is_replaced_before_use(deployer):
    """A package's name is its hash, but whatever sits under that name (a copy cut short, a
    hand-made object) is checked by its ETag and uploaded again: a stack never runs it."""
    zip_bytes = (ROOT / "build" / "db.zip").read_bytes()
    key = f"packages/deploy-half/db-{hashlib.sha256(zip_bytes).hexdigest()[:20]}.zip"
    bucket = deployer.bucket("deploy-half-code")
    bucket.create_bucket()
    bucket.put_object(key, zip_bytes[: len(zip_bytes) // 2])
    deployer.puts.clear()
    config = deployer.deploy("deploy-half", "todo-half", extra=("--bucket", "deploy-half-code"))
    assert key in deployer.puts
    assert bucket.get_object(key).read() == zip_bytes
    app = MiniProgram(config)
    session = app.login()
    assert app.db(session, "list") == {"data": []}


def test_a_failed_update_keeps_the_previous_version_serving(staging, deployer):
    result = deployer.run("deploy-staging", *STAGING, "--parameter", f"ServiceName={TAKEN}")
    assert "stack deploy-staging: UPDATE_FAILED" in result.stdout
    assert "EntityAlreadyExists.Service" in failure(result)
    app = MiniProgram(staging)  # still the stack's previous version
    session = app.login()
    assert app.db(session, "list") == {"data": []}


def sealed_key_id(deployer: Deployer, session_id: str) -> str:
    """The id of the data key that sealed a session's Alipay access token (stored beside it)."""
    from miniapp.domain.session_id import session_key
    from tests.e2e.support import ots_client

    _, row, _ = ots_client(deployer.cloud).get_row(
        "session",
        [("id", session_key(session_id))],
        columns_to_get=["access_token_enc"],
        max_version=1,
    )
    blob = bytes(dict((c[0], c[1]) for c in row.attribute_columns)["access_token_enc"])
    assert blob[:1] == b"\x02"  # the layout with a key id
    return blob[2 : 2 + blob[1]].decode()


def test_after_a_data_key_rotation_a_user_who_logged_in_before_logs_out_and_in_and_keeps_data(
    deployer, tmp_path
):
    secrets_file = tmp_path / "rotate.secrets.json"
    shutil.copy(deployer.secrets, secrets_file)
    config = deployer.deploy("deploy-rotate", "todo-rotate", secrets_file=secrets_file)
    app = MiniProgram(config)
    before = app.login()
    todo = app.invoke(
        before, {"v": 2, "sid": before.session_id, "op": "add", "text": "sealed under key 1"}
    )["data"]
    assert app.db(before, "put", obj={"id": "r1", "title": "2020 row"}) == {"data": None}
    assert sealed_key_id(deployer, before.session_id) == "1"
    old_key = json.loads(secrets_file.read_text())["DataKey"]

    rotated = deployer.run(
        "deploy-rotate",
        "--parameter",
        "ServiceName=todo-rotate",
        "--parameter",
        "RoleNamePrefix=todo-rotate",
        "--parameter",
        "LogProjectName=todo-rotate-logs",
        "--rotate-data-key",
        secrets_file=secrets_file,
    )
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert "data key rotated in rotate.secrets.json: new key 2, 1 older kept" in rotated.stdout
    ring = json.loads(secrets_file.read_text())["DataKey"]
    assert ring.startswith("2:") and ring.endswith(f",1:{old_key}")
    assert oct(secrets_file.stat().st_mode & 0o777) == "0o600"

    assert app.post_session({"sessionId": before.session_id}, path="logout").json() == {"ok": True}
    after = app.login()  # the same Alipay user
    assert sealed_key_id(deployer, after.session_id) == "2"
    listed = app.invoke(after, {"v": 2, "sid": after.session_id, "op": "list"})["data"]
    assert [t["id"] for t in listed["items"]] == [todo["id"]]
    assert app.db(after, "get", id="r1")["data"]["title"] == "2020 row"
