"""`make deploy` against the local cloud, exactly as docs/deploy.md gives it for Alibaba Cloud, with
local endpoints and the local root key: the stack builds, the whole todo flow and the 2020
protocol run through client-config/<stack>.json, a code change updates the stack, two stacks
with different ServiceNames coexist, and bad input ends with one clear message."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fc2
import oss2
import pytest
import requests

from localcloud.miniprogram import MiniProgram, new_user_id
from tests.conftest import ROOT, running_local_cloud

VERSION_PROBE = b'"deployed-version"'
BUCKET = "deploy-test-code"
STAGING = (
    "--parameter",
    "ServiceName=todo-staging",
    "--parameter",
    "RoleNamePrefix=todo-staging",
    "--parameter",
    "LogProjectName=todo-staging-logs",
)


class Deployer:
    def __init__(self, cloud: Any, workdir: Path) -> None:
        self.cloud = cloud
        self.workdir = workdir
        self.puts: list[str] = []  # keys of every PutObject the local OSS stored
        store, put = cloud.oss.store, cloud.oss.store.put

        def counting_put(bucket: str, key: str, *args: Any, **kwargs: Any) -> Any:
            self.puts.append(key)
            return put(bucket, key, *args, **kwargs)

        store.put = counting_put
        account = cloud.account
        self.env = {
            **os.environ,
            "ALIBABA_CLOUD_ACCESS_KEY_ID": account.access_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": account.access_key_secret,
            "ALIBABA_CLOUD_REGION_ID": account.region,
            "ROS_ENDPOINT": cloud.url("ros"),
            "OSS_ENDPOINT": cloud.url("oss"),
            "FC_ENDPOINT": cloud.url("fc"),
        }
        keys = cloud.alipay.keys
        self.secrets = workdir / "deploy.secrets.json"
        self.secrets.write_text(
            json.dumps(
                {
                    "AlipayAppPrivateKey": Path(keys.app_private_key_file).read_text(),
                    "DataKey": base64.b64encode(secrets.token_bytes(32)).decode(),
                    "HashKey": base64.b64encode(secrets.token_bytes(32)).decode(),
                }
            )
        )
        self.parameters = workdir / "deploy.parameters.json"
        self.parameters.write_text(
            json.dumps(
                {
                    "AppId": cloud.alipay_app_id,
                    "AlipayPublicKey": Path(keys.alipay_public_key_file).read_text(),
                    "DBInstanceName": cloud.tablestore_instance,
                    # Roles and log projects are named per stack: RAM and SLS names are
                    # account-wide.
                    "SessionRateLimitPerIp": "100000",
                    "SessionRateLimitPerUser": "100000",
                }
            )
        )

    def run(
        self, stack: str, *args: str, build: Path | None = None, secrets_file: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        argv = [
            "--stack-name",
            stack,
            "--secrets-file",
            str(secrets_file or self.secrets),
            "--parameters-file",
            str(self.parameters),
            "--bucket",
            BUCKET,
            "--poll-seconds",
            "0.1",
            *args,
        ]  # a later --bucket wins
        if build is not None:
            argv += ["--build-dir", str(build)]
        return subprocess.run(
            ["make", "--no-print-directory", "deploy", "ARGS=" + " ".join(f"'{a}'" for a in argv)],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def bucket(self, name: str = BUCKET) -> oss2.Bucket:
        account = self.cloud.account
        return oss2.Bucket(
            oss2.Auth(account.access_key_id, account.access_key_secret), self.cloud.url("oss"), name
        )

    def deploy(
        self, stack: str, service: str, extra: tuple[str, ...] = (), **kwargs: Any
    ) -> dict[str, str]:
        result = self.run(
            stack,
            "--parameter",
            f"ServiceName={service}",
            "--parameter",
            f"RoleNamePrefix={service}",
            "--parameter",
            f"LogProjectName={service}-logs",
            *extra,
            **kwargs,
        )
        print(result.stdout, result.stderr)
        assert result.returncode == 0, result.stdout + result.stderr
        config = json.loads((ROOT / "client-config" / f"{stack}.json").read_text())
        self.warm_up(config)
        # The sandbox plays the Alipay app; everything else comes from the stack's config.
        return {**config, "alipaySandbox": self.cloud.url("alipay") + "/sandbox"}

    def warm_up(self, config: dict[str, str]) -> None:
        """Call each function until an instance answers. A cold start imports ~1,400 modules
        (Tablestore, SLS, Alipay SDKs); on a loaded 2-core CI machine that alone can pass the
        template's 10 s timeout, which FC answers as a timeout, as here. The flow is tested on
        warm instances; the first answers are not what these tests are about."""
        root = fc2.Client(
            endpoint=config["fcEndpoint"],
            accessKeyID=self.cloud.account.access_key_id,
            accessKeySecret=self.cloud.account.access_key_secret,
        )
        for _ in range(4):
            try:
                root.invoke_function(
                    config["serviceName"],
                    config["dbFunctionName"],
                    payload=json.dumps({"sid": "x" * 43, "op": "list"}),
                )
                break
            except fc2.fc_exceptions.FcError as exc:
                if "timed out" not in str(exc):
                    raise
        for _ in range(4):
            answer = requests.post(config["sessionUrl"], json={}, timeout=30)
            if "timed out" not in answer.text:
                assert answer.status_code == 400, answer.text  # our typed InvalidRequest
                break


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
    keys = {key.split("/")[1].split("-")[0]: key for key in deployer.puts}
    assert sorted(deployer.puts) == sorted(keys.values()) and set(keys) == {"session", "db"}
    for name, key in keys.items():
        data = (ROOT / "build" / f"{name}.zip").read_bytes()
        assert key == f"packages/{name}-{hashlib.sha256(data).hexdigest()[:20]}.zip"
        assert deployer.bucket().get_object(key).read() == data
    return config


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
    assert deployer.puts == [f"packages/db-{hashlib.sha256(new_zip).hexdigest()[:20]}.zip"]
    # progress shows what the update does, resource by resource, not the statuses it started from
    progress = [line for line in result.stdout.splitlines() if " ALIYUN::" in line]
    assert progress and all(line.split()[2].startswith("UPDATE_") for line in progress), progress
    assert "stack deploy-staging: UPDATE_COMPLETE" in result.stdout
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


def failure(result: subprocess.CompletedProcess[str]) -> str:
    """The script's one line about what went wrong (make adds its own line after it)."""
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith("deploy failed: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_bad_parameter_is_refused_with_the_reason(deployer):
    line = failure(deployer.run("deploy-broken", "--parameter", "ServiceName=Not Valid!"))
    assert "StackValidationFailed" in line and "AllowedPattern" in line


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


def secrets_text(deployer: Deployer, case: str) -> str:
    good = json.loads(deployer.secrets.read_text())
    public_key = Path(deployer.cloud.alipay.keys.alipay_public_key_file).read_text()
    return {
        "not json": "{not json",
        "not an object": '["AlipayAppPrivateKey", "DataKey"]',
        "a missing secret": json.dumps({"DataKey": good["DataKey"], "HashKey": good["HashKey"]}),
        "an unknown key": json.dumps({**good, "AppId": "2021"}),
        "a short data key": json.dumps({**good, "DataKey": "c2hvcnQ="}),
        "a malformed key ring": json.dumps({**good, "DataKey": f"2:c2hvcnQ=,1:{good['DataKey']}"}),
        "a short hash key": json.dumps({**good, "HashKey": "c2hvcnQ="}),
        "a public key": json.dumps({**good, "AlipayAppPrivateKey": public_key}),
    }[case]


@pytest.mark.parametrize(
    "case, expected",
    [
        ("not json", "not valid JSON"),
        ("not an object", "expected a JSON object of strings; write"),
        ("a missing secret", "missing secrets AlipayAppPrivateKey: put them in"),
        ("an unknown key", "unknown keys ['AppId']; it holds only"),
        ("a short data key", "DataKey in "),
        ("a malformed key ring", "DataKey in "),
        ("a short hash key", "HashKey in "),
        ("a public key", "AlipayAppPrivateKey in "),
    ],
)
def test_a_bad_secrets_file_names_the_problem_and_uploads_nothing(
    deployer, tmp_path, case, expected
):
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(secrets_text(deployer, case))
    deployer.puts.clear()
    line = failure(deployer.run("deploy-broken", secrets_file=secrets_file))
    assert expected in line
    assert deployer.puts == []  # refused before anything is uploaded or any stack is touched
    good = json.loads(deployer.secrets.read_text())
    for secret in (good["DataKey"], good["AlipayAppPrivateKey"].splitlines()[1], "c2hvcnQ="):
        assert secret not in line  # no secret quoted back
    if case in ("a short data key", "a malformed key ring", "a short hash key"):
        assert "openssl rand -base64 32" in line
    if case == "a public key":
        assert "expected an RSA private key" in line


def test_a_missing_secrets_file_names_the_fix(deployer, tmp_path):
    line = failure(deployer.run("deploy-broken", secrets_file=tmp_path / "nowhere.json"))
    assert "nowhere.json does not exist; create it" in line
    assert "MINIAPP_ALIPAY_APP_PRIVATE_KEY, MINIAPP_DATA_KEY, MINIAPP_HASH_KEY" in line


def test_a_malformed_parameters_file_names_the_fix(deployer, tmp_path):
    saved = deployer.parameters
    deployer.parameters = tmp_path / "parameters.json"
    deployer.parameters.write_text("[1, 2]")
    try:
        line = failure(deployer.run("deploy-broken"))
    finally:
        deployer.parameters = saved
    assert "parameters file" in line and "expected a JSON object" in line


def test_no_credentials_names_the_two_ways_to_give_them(deployer, tmp_path):
    saved = dict(deployer.env)
    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
        deployer.env.pop(name)
    deployer.env["ALIBABA_CLOUD_CONFIG_FILE"] = str(tmp_path / "no-aliyun-config.json")
    try:
        line = failure(deployer.run("deploy-broken"))
    finally:
        deployer.env.clear()
        deployer.env.update(saved)
    assert "no Alibaba Cloud credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID" in line
    assert "aliyun configure" in line


def test_a_secret_on_the_command_line_is_refused(deployer):
    line = failure(deployer.run("deploy-broken", "--parameter", "DataKey=abc"))
    assert "use the secrets file" in line


def test_a_bad_bucket_name_is_refused(deployer):
    assert "is not valid for OSS" in failure(
        deployer.run("deploy-broken", "--bucket", "Bad_Bucket")
    )


@pytest.mark.parametrize("service", ["OSS", "ROS"])
def test_an_unreachable_endpoint_is_named(deployer, service):
    variable = f"{service}_ENDPOINT"
    deployer.env[variable], saved = "http://127.0.0.1:9", deployer.env[variable]
    try:
        result = deployer.run("deploy-broken")
    finally:
        deployer.env[variable] = saved
    assert f"cannot reach {service} at http://127.0.0.1:9" in failure(result)
    assert f"check {variable} and your network" in failure(result)


def test_an_object_under_a_package_name_with_other_bytes_is_replaced_before_use(deployer):
    """A package's name is its hash, but whatever sits under that name (a copy cut short, a
    hand-made object) is checked by its ETag and uploaded again: a stack never runs it."""
    zip_bytes = (ROOT / "build" / "db.zip").read_bytes()
    key = f"packages/db-{hashlib.sha256(zip_bytes).hexdigest()[:20]}.zip"
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


def test_a_rotation_of_a_malformed_ring_is_refused_before_anything_is_uploaded(deployer, tmp_path):
    secrets_file = tmp_path / "bad.secrets.json"
    good = json.loads(deployer.secrets.read_text())
    secrets_file.write_text(json.dumps({**good, "DataKey": f"1:{good['DataKey']},1:c2hvcnQ="}))
    before = secrets_file.read_text()
    deployer.puts.clear()
    line = failure(deployer.run("deploy-broken", "--rotate-data-key", secrets_file=secrets_file))
    assert "DataKey in " in line and "key ring" in line
    assert deployer.puts == [] and secrets_file.read_text() == before
