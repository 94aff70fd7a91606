"""`make release` against the local cloud, and the one-click deploy it is for: the packages and a
release template published to a public-read bucket under the version, the local console's link
printed; a user opens that link in a browser, fills the form with the sandbox's Alipay values,
creates the stack (its code from the release, no file of this checkout), copies the outputs into
a client config and runs the todo flow. A published version is never overwritten, and a zip not
where the template says is named."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import oss2
import pytest
import requests
import yaml

from localcloud.miniprogram import MiniProgram
from localcloud.template.interface import problems
from tests.conftest import ROOT, find_browser, running_local_cloud, template_parameters

CONSOLE_DIR = ROOT / "tests" / "console"
STACK = "one-click"
CONFIG = ROOT / "client-config" / f"{STACK}.json"


class Release:
    def __init__(self, cloud: Any, state: Path) -> None:
        self.cloud, self.state = cloud, state
        self.puts: list[str] = []
        store, put = cloud.oss.store, cloud.oss.store.put

        def counting_put(bucket: str, key: str, *args: Any, **kwargs: Any) -> Any:
            self.puts.append(key)
            return put(bucket, key, *args, **kwargs)

        store.put = counting_put
        self.bucket = f"miniapp-release-{cloud.account.region}"

    def run(self, version: str, *args: str) -> subprocess.CompletedProcess[str]:
        """scripts/release.py itself (the make target also builds the packages, done once)."""
        argv = ["--version", version, "--local", "--state-dir", str(self.state), *args]
        return subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "release.py"), *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def oss(self) -> oss2.Bucket:
        account = self.cloud.account
        auth = oss2.Auth(account.access_key_id, account.access_key_secret)
        return oss2.Bucket(auth, self.cloud.url("oss"), self.bucket)


# A cloud of its own: the release makes a bucket and the browser test a whole stack.
@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Release]:
    state = tmp_path_factory.mktemp("release-state")
    with running_local_cloud(state) as cloud:
        yield Release(cloud, state)
    CONFIG.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def published(release: Release) -> dict[str, str]:
    """`make release VERSION=1.0.0` as the docs give it, against the local cloud."""
    readme = (ROOT / "README.md").read_bytes()
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "release",
            "VERSION=1.0.0",
            f"ARGS=--local --state-dir {release.state}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (ROOT / "README.md").read_bytes() == readme  # a local release leaves the repo alone
    links = re.findall(r"^  (http\S+#create-stack\?\S+)$", result.stdout, re.M)
    assert len(links) == 1, result.stdout
    return {"stdout": result.stdout, "link": links[0]}


def template_url(link: str) -> str:
    return parse_qs(urlsplit(link).fragment.partition("?")[2])["templateUrl"][0]


def test_the_release_publishes_each_package_by_its_hash_and_a_complete_template(release, published):
    link = published["link"]
    assert link.startswith(release.cloud.cloud_config()["consoleUrl"] + "#create-stack?")
    url = template_url(link)
    assert url == f"{release.cloud.url('oss')}/{release.bucket}/1.0.0/template.yml"
    answer = requests.get(url, timeout=30)  # unsigned, as the console and anyone read it
    assert answer.status_code == 200
    doc = yaml.safe_load(answer.text)
    assert problems(doc) == []  # a label and description in both languages, a group each
    assert doc["Parameters"]["CodeBucket"]["Default"] == release.bucket
    for name in ("session", "db"):
        data = (ROOT / "build" / f"{name}.zip").read_bytes()
        key = f"1.0.0/{name}-{hashlib.sha256(data).hexdigest()}.zip"
        assert (
            requests.get(f"{release.cloud.url('oss')}/{release.bucket}/{key}", timeout=60).content
            == data
        )
        assert key in answer.text
    assert release.oss().get_bucket_acl().acl == "public-read"
    button = release.state / "deploy-button.md"
    assert link in button.read_text() and stat.S_IMODE(button.stat().st_mode) == 0o600


def test_a_published_version_is_never_overwritten(release, published):
    before = release.oss().head_object("1.0.0/template.yml").etag
    release.puts.clear()
    again = release.run("1.0.0")
    assert again.returncode == 2
    assert "version 1.0.0 is already published in" in again.stderr
    assert "a release never overwrites one: choose a new VERSION" in again.stderr
    assert release.puts == []
    assert release.oss().head_object("1.0.0/template.yml").etag == before


def test_a_zip_not_where_the_template_says_is_a_named_error(release, published):
    result = release.run("1.0.1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert release.run("1.0.1", "--verify").returncode == 0
    doc = yaml.safe_load(release.oss().get_object("1.0.1/template.yml").read())
    key = doc["Resources"]["DBFunction"]["Properties"]["Code"]["OssObjectName"]
    release.oss().put_object(key, b"not the package")
    tampered = release.run("1.0.1", "--verify")
    assert tampered.returncode == 2
    assert f"DBFunction's code oss://{release.bucket}/{key} does not hold the package" in (
        tampered.stderr
    )
    release.oss().delete_object(key)
    missing = release.run("1.0.1", "--verify")
    assert missing.returncode == 2
    assert (
        f"DBFunction's code oss://{release.bucket}/{key} is not where the release template says"
        in missing.stderr
    )


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "1.0.0;rm", "01.0.0"])
def test_a_version_that_is_not_semver_is_refused_before_anything(release, version):
    release.puts.clear()
    result = release.run(version)
    assert result.returncode == 2 and "is not x.y.z" in result.stderr
    assert release.puts == []


def bare_base64(pem: str) -> str:
    """A PEM key as Alipay's key tool prints it: the base64 alone, on one line."""
    return "".join(line for line in pem.splitlines() if not line.startswith("-----"))


def test_a_user_deploys_from_the_printed_link_and_runs_the_todo_flow(release, published, tmp_path):
    """The acceptance of the one-click deploy, in a real browser."""
    chromium = find_browser()
    assert chromium, (
        "the browser test needs chromium (or CHROMIUM=/path/to/it); .ci/run installs it"
    )
    if not (CONSOLE_DIR / "node_modules" / "playwright-core").is_dir():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"], cwd=CONSOLE_DIR, check=True, timeout=300
        )
    cloud = release.cloud
    keys = cloud.alipay.keys
    service = "one-click"
    values = {  # what the sandbox's Alipay console and a key generator give a user
        "AppId": cloud.alipay_app_id,
        "AlipayAppPrivateKey": bare_base64(Path(keys.app_private_key_file).read_text()),
        "AlipayPublicKey": Path(keys.alipay_public_key_file).read_text(),
        "DataKey": base64.b64encode(secrets.token_bytes(32)).decode(),
        "HashKey": base64.b64encode(secrets.token_bytes(32)).decode(),
        "ServiceName": service,
        "RoleNamePrefix": service,
        "LogProjectName": f"{service}-logs",
        "DBInstanceName": "one-click-db",
        "SessionRateLimitPerIp": "100000",
    }
    bad = published["link"].replace("1.0.0%2Ftemplate.yml", "9.9.9%2Ftemplate.yml")
    result = subprocess.run(
        ["node", "create-stack.mjs"],
        cwd=CONSOLE_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **os.environ,
            "LINK": published["link"],
            "BAD_LINK": bad,
            "CHROMIUM": chromium,
            "STACK": STACK,
            "VALUES": json.dumps(values),
            "SCREENSHOT": os.environ.get("CREATE_STACK_SCREENSHOT", ""),
        },
    )
    print(result.stdout, result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("OUTPUTS ")]
    pasted = tmp_path / "outputs.json"
    pasted.write_text(line[len("OUTPUTS ") :])
    stack = next(s for s in cloud.ros.stacks.list() if s.name == STACK)
    assert "1.0.0/db-" in stack.template  # its code came from the release, not from build/

    made = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "client-config-from-stack",
            f"STACK={STACK}",
            f"OUTPUTS={pasted}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    config = json.loads(CONFIG.read_text())
    assert config["fcEndpoint"] == cloud.url("fc") and config["serviceName"] == service
    app = MiniProgram({**config, "alipaySandbox": cloud.url("alipay") + "/sandbox"})
    session = None
    for _ in range(4):  # a cold start on a loaded machine may overrun the first login's timeout
        try:
            session = app.login()
            break
        except RuntimeError:
            continue
    assert session is not None
    added = app.invoke(
        session, {"v": 2, "sid": session.session_id, "op": "add", "text": "one click"}
    )
    assert added["data"]["text"] == "one click"
    listed = app.invoke(session, {"v": 2, "sid": session.session_id, "op": "list"})["data"]
    assert [t["text"] for t in listed["items"]] == ["one click"]


def console(cloud: Any, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    return requests.post(
        f"{cloud.url('fc')}/_localcloud/api/{path}",
        data=body if isinstance(body, (str, bytes)) else json.dumps(body),
        headers={"Content-Type": "application/json", **(headers or {})},
        timeout=60,
    )


MUTATE = {"X-Localcloud-Console": "1"}


def test_the_create_page_calls_need_the_consoles_header(release, published):
    url = template_url(published["link"])
    for path, body in (("templates", {"url": url}), ("stacks", {"name": "x", "templateUrl": url})):
        refused = console(release.cloud, path, body)
        assert refused.status_code == 403, refused.text
        assert "x-localcloud-console" in refused.text.lower()


def test_the_form_comes_in_the_chosen_language_from_the_url(release, published):
    url = template_url(published["link"])
    form = console(release.cloud, "templates", {"url": url, "language": "zh-cn"}, MUTATE).json()
    assert [g["label"] for g in form["groups"]] == ["支付宝应用", "安全", "限额", "资源名称"]
    fields = {f["key"]: f for g in form["groups"] for f in g["fields"]}
    assert fields["DataKey"]["no_echo"] and fields["DataKey"]["default"] is None
    assert fields["CodeBucket"]["default"] == release.bucket


@pytest.mark.parametrize(
    ("path", "body", "status", "said"),
    [
        ("templates", {"url": "{bad}"}, 400, "could not be read: OSS answered 404"),
        ("templates", {"url": "{good}", "language": "fr"}, 400, "language is one of en, zh-cn"),
        ("templates", "[1]", 400, "send a JSON object"),
        (
            "stacks",
            {"name": "bad-quota", "templateUrl": "{good}", "parameters": {"ItemQuota": "0"}},
            400,
            "Parameters.ItemQuota",
        ),
        (
            "stacks",
            {"name": "bad-values", "templateUrl": "{good}", "parameters": {"x": 1}},
            400,
            "parameters is an object of strings",
        ),
    ],
)
def test_a_refusal_is_answered_with_rosss_message_and_changes_nothing(
    release, published, path, body, status, said
):
    good = template_url(published["link"])
    bad = good.replace("1.0.0/", "9.9.9/")
    if isinstance(body, dict):
        body = json.loads(json.dumps(body).replace("{good}", good).replace("{bad}", bad))
        if "parameters" in body and body["parameters"].get("ItemQuota"):
            body["parameters"] = template_parameters(**body["parameters"])
    before = len(release.cloud.ros.stacks.list())
    answer = console(release.cloud, path, body, MUTATE)
    assert answer.status_code == status
    assert said in answer.json()["error"]
    if "ItemQuota" in said:
        assert answer.json()["parameter"] == "ItemQuota"
        assert answer.json()["code"] == "StackValidationFailed"
    assert len(release.cloud.ros.stacks.list()) == before


def test_a_template_ros_refuses_stops_the_release_naming_the_parameter(release, tmp_path):
    broken = yaml.safe_load((ROOT / "template.yml").read_text())
    broken["Parameters"]["ItemQuota"]["Default"] = 0  # below its MinValue
    path = tmp_path / "template.yml"
    path.write_text(yaml.safe_dump(broken, allow_unicode=True))
    result = release.run("2.0.0", "--template", str(path))
    assert result.returncode == 2
    assert "ROS refused the release template at" in result.stderr
    assert "StackValidationFailed: Parameters.ItemQuota: 0 is below MinValue 1" in result.stderr
