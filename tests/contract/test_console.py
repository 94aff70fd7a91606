"""The local console in a real browser (Chromium or Google Chrome driven by playwright-core, see
tests/console/console.mjs): after a demo run it shows the demo's todo rows, log records and
invocations, a stack deployed with `make deploy` with its status and outputs, and a fault set
from the page makes the next login fail. Also its JSON calls: no secret in any answer (a stack's
NoEcho parameters included), mutations need the console's header, state export/reset/import."""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import oss2
import pytest
import requests

from localcloud.miniprogram import MiniProgram
from tests import rawhttp
from tests.conftest import (
    BROWSERS,
    ROOT,
    SHARED_CLOUD_PARAMETERS,
    find_browser,
    running_local_cloud,
    warm_up,
)
from tests.contract.osskit import upload_picture
from tests.e2e.deploying import Deployer

CONSOLE_DIR = ROOT / "tests" / "console"
PICTURE_NAME = "照片 1.png"
MUTATE = {"X-Localcloud-Console": "1"}
STACK, STACK_SERVICE = "console-stack", "console-todo"


@pytest.fixture(scope="module")
def demo_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A cloud of its own on which `make demo` ran (the demo finds it from its cloud.json): the
    console's reset and import here replace the whole state, which no shared cloud may lose."""
    state = tmp_path_factory.mktemp("console-state")
    with running_local_cloud(state, SHARED_CLOUD_PARAMETERS) as cloud:
        warm_up(cloud.cloud_config())
        for _ in range(3):  # on a loaded machine a step can overrun a function's timeout
            demo = subprocess.run(
                [sys.executable, str(ROOT / "scripts" / "demo.py"), "--state-dir", str(state)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if demo.returncode == 0:
                break
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "using the running local cloud" in demo.stdout
        yield cloud


@pytest.fixture(scope="module")
def stack_secrets(demo_cloud: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A stack deployed on the demo's cloud the way docs/deploy.md deploys one (`make deploy` with
    the local endpoints); the secrets it was given."""
    work = tmp_path_factory.mktemp("console-deploy")
    deployer = Deployer(demo_cloud, work)
    result = deployer.run(
        STACK,
        "--parameter",
        f"ServiceName={STACK_SERVICE}",
        "--parameter",
        f"RoleNamePrefix={STACK_SERVICE}",
        "--parameter",
        f"LogProjectName={STACK_SERVICE}-logs",
        "--client-config",
        str(work / "client.json"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {str(k): str(v) for k, v in json.loads(deployer.secrets.read_text()).items()}


def _browser() -> str:
    found = find_browser()
    assert found, (
        f"the browser test needs one of {', '.join(BROWSERS)} on the PATH (or "
        "CHROMIUM=/path/to/it): apt-get install -y chromium (.ci/run does it)"
    )
    return found


def _executables(folder: Path, *names: str) -> str:
    for name in names:
        (folder / name).write_text("#!/bin/sh\n")
        (folder / name).chmod(0o755)
    return str(folder)


def test_the_browser_is_the_google_chrome_githubs_runners_ship(tmp_path, monkeypatch):
    monkeypatch.delenv("CHROMIUM", raising=False)
    folder = _executables(tmp_path, "google-chrome")
    assert find_browser(folder) == str(tmp_path / "google-chrome")


def test_debians_chromium_comes_first_and_chromium_names_any_browser(tmp_path, monkeypatch):
    monkeypatch.delenv("CHROMIUM", raising=False)
    folder = _executables(tmp_path, "google-chrome", "chromium")
    assert find_browser(folder) == str(tmp_path / "chromium")
    assert find_browser(str(tmp_path / "none")) is None
    monkeypatch.setenv("CHROMIUM", "/opt/browser/chrome")
    assert find_browser(folder) == "/opt/browser/chrome"


def _node_modules() -> None:
    assert shutil.which("node") and shutil.which("npm"), "the browser test needs node and npm"
    if not (CONSOLE_DIR / "node_modules" / "playwright-core").is_dir():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"], cwd=CONSOLE_DIR, check=True, timeout=300
        )


def _png() -> bytes:
    """A 2x2 red PNG (a browser decodes it: the preview has a width)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_the_console_shows_the_demo_and_its_fault_switch_breaks_login(
    demo_cloud, stack_secrets, tmp_path
):
    chromium = _browser()
    _node_modules()
    config = demo_cloud.cloud_config()
    screenshot = Path(os.environ.get("CONSOLE_SCREENSHOT") or tmp_path / "console.png")
    pictured = MiniProgram(config)  # a sandbox user with a picture, for the Files page
    upload_picture(pictured, PICTURE_NAME, _png())
    result = subprocess.run(
        ["node", "console.mjs"],
        cwd=CONSOLE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "CONSOLE_URL": config["consoleUrl"],
            "CHROMIUM": chromium,
            "SCREENSHOT": str(screenshot),
            "STACK": STACK,
            "STACK_SERVICE": STACK_SERVICE,
            "PICTURE_USER": pictured.user_id,
            "PICTURE_NAME": PICTURE_NAME,
        },
    )
    print(result.stdout, result.stderr)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        assert "stacks: the deployed stack shows its status and outputs" in result.stdout
        assert "faults: alipay down set from the page" in result.stdout
        assert "files: a user's picture shows by its name, previewed" in result.stdout
        assert screenshot.stat().st_size > 10_000
        assert [(f.service, f.kind) for f in demo_cloud.faults.active()] == [("alipay", "down")]
        app = MiniProgram(config)
        resp = app.post_session({"authCode": app.get_auth_code()})
        assert resp.status_code == 503
        assert resp.json()["error"]["code"] == "UpstreamUnavailable"
    finally:
        demo_cloud.faults.clear()


def test_a_page_on_another_origin_cannot_change_the_cloud_from_a_browser(demo_cloud):
    """fetch no-cors and form posts from another origin reach the cloud and are refused."""
    chromium = _browser()
    _node_modules()
    user = _api(demo_cloud, "GET", "users").json()["users"][0]["userId"]
    routes = [
        "/_localcloud/faults",
        "/_localcloud/clock",
        "/_localcloud/alipay/identity",
        "/_localcloud/api/users",
        f"/_localcloud/api/users/{user}/auth-code",
        f"/_localcloud/api/users/{user}/session",
        "/_localcloud/api/state",
        "/_localcloud/api/stacks",  # the Create stack page: no stack from another site's page
        "/_localcloud/api/templates",  # nor a URL read through the cloud
    ]
    demo_cloud.faults.clear()
    stacks = [(s.id, s.status) for s in demo_cloud.ros.stacks.list()]
    before = (
        _api(demo_cloud, "GET", "users").json(),
        demo_cloud.alipay.apps.all(),
        _api(demo_cloud, "GET", "tables/user_data/rows").json()["total"],
    )
    with demo_cloud.alipay.database.transaction() as conn:
        codes = conn.execute("SELECT COUNT(*) FROM auth_codes").fetchone()[0]
    result = subprocess.run(
        ["node", "attack.mjs"],
        cwd=CONSOLE_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "CLOUD_URL": demo_cloud.url("fc"),
            "CHROMIUM": chromium,
            "ROUTES": ",".join(routes),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    answers = [line.split() for line in result.stdout.splitlines()]
    assert sorted((kind, path) for kind, path, _ in answers) == sorted(
        (kind, path)
        for path in routes
        for kind in ("fetch-no-cors", "form-x-www-form-urlencoded", "form-plain")
    )
    assert {status for _, _, status in answers} == {"403"}
    assert demo_cloud.faults.active() == []
    assert [(s.id, s.status) for s in demo_cloud.ros.stacks.list()] == stacks
    assert demo_cloud.clock.now() - time.time() < 3600
    with demo_cloud.alipay.database.transaction() as conn:
        assert conn.execute("SELECT COUNT(*) FROM auth_codes").fetchone()[0] == codes
    assert (
        _api(demo_cloud, "GET", "users").json(),
        demo_cloud.alipay.apps.all(),
        _api(demo_cloud, "GET", "tables/user_data/rows").json()["total"],
    ) == before


def _api(cloud: Any, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(
        method, cloud.url("fc") + "/_localcloud/api/" + path, timeout=30, **kwargs
    )


def test_no_console_answer_holds_a_secret(demo_cloud):
    config = demo_cloud.cloud_config()
    user = _api(demo_cloud, "GET", "users").json()["users"][0]["userId"]
    opened = _api(demo_cloud, "POST", f"users/{user}/session", headers=MUTATE).json()
    assert opened["ok"] and len(opened["sessionHash"]) == 64
    answers = [opened] + [
        _api(demo_cloud, "GET", path).json()
        for path in (
            "overview",
            "users",
            "tables",
            "tables/session/rows",
            "tables/todo_list/rows",
            "tables/user_data/rows",
            "logs?limit=100",
            "invocations",
        )
    ]
    text = json.dumps(answers)
    for secret in (config["accessKeySecret"], "SecurityToken", "AccessKeySecret", "PRIVATE KEY"):
        assert secret not in text
    sessions = _api(demo_cloud, "GET", "tables/session/rows").json()
    assert opened["sessionHash"] in [row["key"]["id"] for row in sessions["rows"]]
    for row in sessions["rows"]:
        assert row["columns"]["access_token_enc"] == "‹hidden›"
        assert row["columns"]["refresh_token_enc"] == "‹hidden›"


def test_the_stacks_call_shows_a_stack_without_its_secrets(demo_cloud, stack_secrets):
    answer = _api(demo_cloud, "GET", "stacks").json()
    assert answer["endpoint"] == demo_cloud.url("ros")
    stack = next(s for s in answer["stacks"] if s["name"] == STACK)
    assert stack["status"] == "CREATE_COMPLETE"
    assert stack["outputs"]["ServiceName"] == STACK_SERVICE
    assert stack["outputs"]["SessionFunctionName"] == "session"
    resources = {r["logicalId"]: r for r in stack["resources"]}
    assert {"Service", "SessionFunction", "DBFunction"} <= set(resources)
    assert {r["status"] for r in resources.values()} == {"CREATE_COMPLETE"}
    assert resources["Service"]["type"] == "ALIYUN::FC::Service"
    # NoEcho parameters, and those named like keys, are hidden; the others are shown.
    parameters = stack["parameters"]
    assert parameters["AlipayAppPrivateKey"] == parameters["DataKey"] == "‹hidden›"
    assert parameters["AlipayPublicKey"] == "‹hidden›"
    assert parameters["ServiceName"] == STACK_SERVICE
    text = json.dumps(answer)
    for secret in stack_secrets.values():
        assert secret not in text
    assert "PRIVATE KEY" not in text and "PUBLIC KEY" not in text


def test_the_files_call_lists_a_users_folder_with_signed_urls(demo_cloud):
    config = demo_cloud.cloud_config()
    bucket = oss2.Bucket(
        oss2.Auth(config["accessKeyId"], config["accessKeySecret"]),
        demo_cloud.url("oss"),
        "user-files",
    )
    bucket.create_bucket()
    picture = b"\x89PNG\r\n\x1a\n" + bytes(64)
    bucket.put_object("users/u1/a.png", picture, headers={"Content-Type": "image/png"})
    bucket.put_object("users/u1/deep/b.txt", b"b")
    bucket.put_object("users/u2/c.png", b"c")
    answer = _api(demo_cloud, "GET", "files?bucket=user-files&prefix=users/u1/").json()
    assert [o["key"] for o in answer["objects"]] == ["users/u1/a.png"]
    assert answer["prefixes"] == ["users/u1/deep/"] and "user-files" in answer["buckets"]
    shown = answer["objects"][0]
    assert shown["contentType"] == "image/png" and shown["size"] == len(picture)
    assert requests.get(shown["url"], timeout=10).content == picture  # what the preview loads
    assert config["accessKeySecret"] not in json.dumps(answer)
    refused = _api(demo_cloud, "GET", "files?bucket=user-files&prefix=%00")
    assert refused.status_code == 400 and "prefix" in refused.json()["error"]


def test_console_calls_that_change_state_need_its_header(demo_cloud):
    assert _api(demo_cloud, "DELETE", "state").status_code == 403
    assert _api(demo_cloud, "POST", "users").status_code == 403
    tables = {t["name"]: t for t in _api(demo_cloud, "GET", "tables").json()["tables"]}
    assert tables["user_data"]["rows"] > 0  # and reads need no header


def test_state_exports_resets_and_imports(demo_cloud):
    # The demo's v2 todos live in user_data (every collection's rows).
    before = _api(demo_cloud, "GET", "tables/user_data/rows").json()
    assert before["total"] >= 1
    exported = _api(demo_cloud, "GET", "state")
    assert exported.headers["Content-Type"] == "application/zip"
    assert _api(demo_cloud, "DELETE", "state", headers=MUTATE).status_code == 200
    assert _api(demo_cloud, "GET", "tables/user_data/rows").json()["total"] == 0
    assert _api(demo_cloud, "GET", "users").json()["users"] == []
    refused = _api(demo_cloud, "POST", "state", data=b"not a zip", headers=MUTATE)
    assert refused.status_code == 400 and "not a local cloud state export" in refused.text
    assert _api(demo_cloud, "POST", "state", data=exported.content, headers=MUTATE).json() == {
        "imported": ["tablestore", "sls", "alipay", "oss"]
    }
    after = _api(demo_cloud, "GET", "tables/user_data/rows").json()
    assert after["rows"] == before["rows"]


def _entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _zipped(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def _without_table(database: bytes, table: str, tmp_path: Path) -> bytes:
    path = tmp_path / "edited.sqlite3"
    path.write_bytes(database)
    conn = sqlite3.connect(path)
    conn.execute(f"DROP TABLE {table}")
    conn.commit()
    conn.close()
    return path.read_bytes()


def _live_state(cloud: Any) -> tuple[Any, Any]:
    return (
        _api(cloud, "GET", "users").json()["users"],
        _api(cloud, "GET", "tables/user_data/rows?limit=100").json()["rows"],
    )


def test_the_export_leaves_out_alipay_tokens_and_unused_auth_codes(demo_cloud):
    user = _api(demo_cloud, "GET", "users").json()["users"][0]["userId"]
    assert _api(demo_cloud, "POST", f"users/{user}/session", headers=MUTATE).json()["ok"]
    unused = _api(demo_cloud, "POST", f"users/{user}/auth-code", headers=MUTATE).json()
    with demo_cloud.alipay.database.transaction() as conn:
        secrets = [
            row[0]
            for table in ("access_tokens", "refresh_tokens", "auth_codes")
            for row in conn.execute(f"SELECT * FROM {table}")
        ]
    assert unused["authCode"] in secrets and len(secrets) >= 3
    entries = _entries(_api(demo_cloud, "GET", "state").content)
    manifest = json.loads(entries["manifest.json"])
    assert manifest["leftOut"] == {"alipay": ["access_tokens", "refresh_tokens", "auth_codes"]}
    for content in entries.values():
        assert not any(secret.encode() in content for secret in secrets)
    databases = {"manifest.json", "tablestore.sqlite3", "sls.sqlite3", "alipay.sqlite3"}
    assert {e for e in entries if not e.startswith("oss/")} == databases  # users' files beside


def test_an_import_whose_database_lacks_a_table_is_refused_and_changes_nothing(
    demo_cloud, tmp_path
):
    good = _api(demo_cloud, "GET", "state").content
    entries = _entries(good)
    entries["alipay.sqlite3"] = _without_table(entries["alipay.sqlite3"], "users", tmp_path)
    assert _api(demo_cloud, "DELETE", "state", headers=MUTATE).status_code == 200
    emptied = _live_state(demo_cloud)
    # The file's Tablestore rows are valid and come first: they must not be taken either.
    refused = _api(demo_cloud, "POST", "state", data=_zipped(entries), headers=MUTATE)
    assert refused.status_code == 400
    said = refused.json()["error"]
    assert "alipay.sqlite3" in said and "missing: users" in said
    assert _live_state(demo_cloud) == emptied == ([], [])
    assert _api(demo_cloud, "POST", "state", data=good, headers=MUTATE).status_code == 200
    assert _live_state(demo_cloud)[1]


@pytest.mark.parametrize(
    "damage", ["not a database", "damaged pages", "extra table", "unknown entry", "no manifest"]
)
def test_a_broken_state_file_is_refused_and_changes_nothing(demo_cloud, damage, tmp_path):
    entries = _entries(_api(demo_cloud, "GET", "state").content)
    before = _live_state(demo_cloud)
    if damage == "not a database":
        entries["sls.sqlite3"] = b"SQLite format 3\x00" + b"\xff" * 4096
    elif damage == "damaged pages":
        database = bytearray(entries["tablestore.sqlite3"])
        database[4096:] = b"\x5a" * (len(database) - 4096)
        entries["tablestore.sqlite3"] = bytes(database)
    elif damage == "extra table":
        path = tmp_path / "extra.sqlite3"
        path.write_bytes(entries["sls.sqlite3"])
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TRIGGER spy AFTER INSERT ON sls_logs BEGIN SELECT 1; END")
        entries["sls.sqlite3"] = path.read_bytes()
    elif damage == "unknown entry":
        entries["../../escape.sqlite3"] = b"x"
    else:
        del entries["manifest.json"]
    refused = _api(demo_cloud, "POST", "state", data=_zipped(entries), headers=MUTATE)
    assert refused.status_code == 400, refused.text
    assert _live_state(demo_cloud) == before


def test_a_zip_bomb_is_refused_with_memory_bounded_and_changes_nothing(demo_cloud):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps({"format": "localcloud-state", "version": 1}))
        with archive.open("tablestore.sqlite3", "w", force_zip64=True) as entry:
            entry.write(b"SQLite format 3\x00")
            zeros = bytes(1024 * 1024)
            for _ in range(1024):  # 1 GiB of zeros
                entry.write(zeros)
    bomb = out.getvalue()
    assert len(bomb) < 2 * 1024 * 1024
    before = _live_state(demo_cloud)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB; the cloud runs in-process
    refused = _api(demo_cloud, "POST", "state", data=bomb, headers=MUTATE)
    assert refused.status_code == 400 and "unpacks to more than" in refused.json()["error"]
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
    assert grown < 64 * 1024, f"the import took {grown} KiB more at its peak"
    assert _live_state(demo_cloud) == before


@pytest.mark.parametrize(
    "name",
    [
        "%00",
        "app.js%00",
        "../api.py",
        "..%2fapi.py",
        "%2e%2e/state.py",
        "vendor",
        "vendor/",
        "static/app.js",
        "nothing.js",
        "/etc/hosts",
    ],
)
def test_the_console_answers_only_its_own_files_and_404_for_any_other_name(local_cloud, name):
    port = int(local_cloud.url("fc").rsplit(":", 1)[1])
    answer, _ = rawhttp.exchange(
        "127.0.0.1",
        port,
        (f"GET /_localcloud/console/{name} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").encode(),
    )
    assert answer.startswith(b"HTTP/1.1 404 "), answer[:200]


def test_the_console_serves_its_page_and_its_vendored_module(local_cloud):
    base = local_cloud.url("fc") + "/_localcloud/console/"
    assert "Local cloud console" in requests.get(base, timeout=10).text
    module = requests.get(base + "vendor/htm-preact-standalone.module.js", timeout=10)
    assert module.status_code == 200 and "javascript" in module.headers["Content-Type"]


@pytest.mark.parametrize(
    "query, field",
    [
        ("logs?minutes=inf", "minutes"),
        ("logs?minutes=nan", "minutes"),
        ("logs?minutes=-5", "minutes"),
        ("logs?limit=abc", "limit"),
        ("logs?offset=-1", "offset"),
        ("invocations?limit=1e3", "limit"),
        ("tables/session/rows?offset=99999999999999999999", "offset"),
    ],
)
def test_a_console_query_value_out_of_range_is_a_400_naming_it(local_cloud, query, field):
    answer = _api(local_cloud, "GET", query)
    assert answer.status_code == 400 and field in answer.json()["error"]
