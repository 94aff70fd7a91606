"""`python -m localcloud` (what `make dev` runs): starts every emulator, writes the client config
(only what a mini program needs) and the developer's cloud.json, keeps its state across restarts,
`--reset` clears it, Ctrl-C stops it; ports come from one base port or one flag each, a taken
port is named in one line; the `fault` CLI finds the cloud from its cloud.json."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, build_packages

CLIENT_KEYS = [
    "accountId",
    "region",
    "serviceName",
    "sessionServiceName",
    "sessionFunctionName",
    "dbFunctionName",
    "fcEndpoint",
    "sessionUrl",
]
CLOUD_KEYS = CLIENT_KEYS + [
    "otsEndpoint",
    "otsInstance",
    "slsEndpoint",
    "slsProject",
    "slsLogstore",
    "stsEndpoint",
    "alipayGateway",
    "alipaySandbox",
    "alipayAppId",
    "alipayAppPrivateKeyFile",
    "alipayPublicKeyFile",
    "accessKeyId",
    "accessKeySecret",
    "ossEndpoint",
    "rosEndpoint",
    "consoleUrl",
    "kmsEndpoint",
    "notifyUrl",
    "ordersServiceName",
    "ordersFunctionName",
]


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localcloud", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _start(state: Path, config: Path, *extra: str) -> subprocess.Popen[str]:
    config.unlink(missing_ok=True)
    (state / "cloud.json").unlink(missing_ok=True)
    ports = [] if any(a.startswith("--base-port") for a in extra) else ["--base-port", "0"]
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "localcloud",
            "--state-dir",
            str(state),
            "--client-config",
            str(config),
            *ports,
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(state: Path, proc: subprocess.Popen[str]) -> dict[str, str]:
    """The cloud.json the cloud writes once every service listens (the CLI then writes the
    client config beside its state folder, which the tests put in the same folder)."""
    path = state / "cloud.json"
    # A ceiling, not a speed check: a cold start on a loaded 2-core machine can take a minute.
    deadline = time.time() + 120
    while not (path.exists() and (state.parent / "local.json").exists()):
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "the local cloud did not write its cloud.json"
        time.sleep(0.1)
    return json.loads(path.read_text())


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0
    return out


@pytest.fixture(scope="module")
def first_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, str], dict[str, str], str]:
    build_packages()
    base = tmp_path_factory.mktemp("cli")
    proc = _start(base / "state", base / "local.json")
    cloud = _wait_for(base / "state", proc)
    client = json.loads((base / "local.json").read_text())
    health = requests.get(cloud["fcEndpoint"] + "/_localcloud/health", timeout=5).json()
    out = _stop(proc)
    assert health == {"ok": True}
    return base, client, cloud, out


def test_client_config_holds_only_what_a_mini_program_needs(first_run):
    _, client, cloud, _ = first_run
    assert list(client) == CLIENT_KEYS
    assert client == {key: cloud[key] for key in CLIENT_KEYS}
    assert client["sessionUrl"] == (
        f"{client['fcEndpoint']}/2016-08-15/proxy/"
        f"{client['sessionServiceName']}/"
        f"{client['sessionFunctionName']}/"
    )
    assert client["sessionServiceName"] == client["serviceName"] + "-session"


def test_client_config_holds_no_secret(first_run):
    base, _, cloud, _ = first_run
    text = (base / "local.json").read_text()
    private_key = (ROOT / cloud["alipayAppPrivateKeyFile"]).read_text()  # absolute stays so
    for secret in (
        cloud["accessKeySecret"],
        cloud["accessKeyId"],
        cloud["alipayAppPrivateKeyFile"],
        cloud["alipayPublicKeyFile"],
    ):
        assert secret not in text
    assert "PRIVATE KEY" not in text and private_key.splitlines()[1] not in text
    assert not any(word in text.lower() for word in ("secret", "keyfile", "accesskey"))


def test_cloud_json_holds_what_the_tools_need_for_its_owner_only(first_run):
    base, _, cloud, _ = first_run
    assert list(cloud) == CLOUD_KEYS
    assert (cloud["slsProject"], cloud["slsLogstore"]) == ("miniapp-todo-logs", "function-logs")
    assert Path(cloud["alipayAppPrivateKeyFile"]).exists()
    assert (base / "state" / "cloud.json").stat().st_mode & 0o077 == 0


def test_the_banner_shows_endpoints_and_the_key_id_but_not_its_secret(first_run):
    _, _, cloud, out = first_run
    for value in (
        cloud["fcEndpoint"],
        cloud["otsEndpoint"],
        cloud["slsEndpoint"],
        cloud["stsEndpoint"],
        cloud["alipayGateway"],
        cloud["accessKeyId"],
        cloud["slsLogstore"],
        cloud["consoleUrl"],
    ):
        assert value in out
    assert cloud["accessKeySecret"] not in out
    assert "stopping" in out


def test_state_survives_a_restart_and_reset_clears_it(first_run):
    base, _, cloud, _ = first_run
    proc = _start(base / "state", base / "local.json")
    again = _wait_for(base / "state", proc)
    _stop(proc)
    assert (again["accountId"], again["accessKeySecret"], again["alipayAppId"]) == (
        cloud["accountId"],
        cloud["accessKeySecret"],
        cloud["alipayAppId"],
    )
    proc = _start(base / "state", base / "local.json", "--reset")
    fresh = _wait_for(base / "state", proc)
    _stop(proc)
    assert fresh["accountId"] != cloud["accountId"]
    assert fresh["accessKeySecret"] != cloud["accessKeySecret"]


# -- ports -----------------------------------------------------------------------------------
def _free_run(count: int) -> int:
    """A base port with `count` free ports from it (checked by binding them)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + count > 65535:
            continue
        held = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError("no run of free ports found")


def test_the_base_port_places_the_seven_services_and_a_flag_moves_one(tmp_path):
    build_packages()
    base = _free_run(7)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        sts_port = probe.getsockname()[1]
    proc = _start(
        tmp_path / "state",
        tmp_path / "local.json",
        "--base-port",
        str(base),
        "--sts-port",
        str(sts_port),
    )
    try:
        cloud = _wait_for(tmp_path / "state", proc)
    finally:
        _stop(proc)
    assert cloud["fcEndpoint"] == f"http://127.0.0.1:{base}"
    assert cloud["otsEndpoint"] == f"http://127.0.0.1:{base + 1}"
    assert cloud["slsEndpoint"] == f"http://127.0.0.1:{base + 2}"
    assert cloud["stsEndpoint"] == f"http://127.0.0.1:{sts_port}"
    assert cloud["alipayGateway"] == f"http://127.0.0.1:{base + 4}/gateway.do"
    assert cloud["ossEndpoint"] == f"http://127.0.0.1:{base + 5}"
    assert cloud["rosEndpoint"] == f"http://127.0.0.1:{base + 6}"
    assert cloud["kmsEndpoint"] == f"http://127.0.0.1:{base + 7}"


def test_a_port_in_use_is_named_in_one_line_with_its_service_and_flag(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = cli(
            "--state-dir",
            str(tmp_path / "state"),
            "--client-config",
            str(tmp_path / "local.json"),
            "--base-port",
            "0",
            "--sls-port",
            str(port),
        )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(port) in lines[0] and "Log Service" in lines[0] and "--sls-port" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--base-port", "70000"),
        ("--base-port", "65529"),
        ("--fc-port", "65536"),
        ("--sls-port", "-1"),
    ],
)
def test_a_port_out_of_range_is_refused_in_one_line_naming_the_flag_and_the_range(
    tmp_path, flag, value
):
    result = cli("--state-dir", str(tmp_path / "state"), flag, value)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert flag in lines[0] and value in lines[0]
    assert ("1-65528" if flag == "--base-port" else "1-65535") in lines[0]
    assert not (tmp_path / "state").exists()


def test_a_misspelt_option_is_named_in_one_line_with_the_one_meant(tmp_path):
    result = cli("--state-dir", str(tmp_path / "state"), "--base-prot", "9800")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "localcloud: unknown option --base-prot; did you mean --base-port? "
        "(see python -m localcloud --help)"
    ]


# -- one client config per cloud --------------------------------------------------------------
def _repo_beside(root: Path) -> Path:
    """A repository root of its own (its client-config/ and state dirs), serving this
    checkout's built packages: the real tree's client-config/ stays untouched."""
    root.mkdir()
    for name in ("build", "template.yml"):
        (root / name).symlink_to(ROOT / name)
    return root


def _serve_until_banner(repo: Path, state: str) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "localcloud",
            "--repo-root",
            str(repo),
            "--state-dir",
            state,
            "--base-port",
            "0",
            "--direct",
            "--no-reload",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    banner: list[str] = []
    for line in proc.stdout:
        banner.append(line.rstrip("\n"))
        if line.strip().startswith("invocations ("):
            return proc, banner
    raise AssertionError(proc.communicate())


def test_two_clouds_with_their_own_state_dirs_keep_their_own_client_configs(tmp_path):
    build_packages()
    repo = _repo_beside(tmp_path / "repo")
    first, first_banner = _serve_until_banner(repo, ".local")
    try:
        second, second_banner = _serve_until_banner(repo, ".local-b")
        try:
            mine = json.loads((repo / "client-config" / "local.json").read_text())
            theirs = json.loads((repo / "client-config" / "local-b.json").read_text())
            assert (
                mine["fcEndpoint"]
                == json.loads((repo / ".local" / "cloud.json").read_text())["fcEndpoint"]
            )
            assert (
                theirs["fcEndpoint"]
                == json.loads((repo / ".local-b" / "cloud.json").read_text())["fcEndpoint"]
            )
            assert mine["fcEndpoint"] != theirs["fcEndpoint"]
            assert any(
                "client-config/local-b.json" in line and "STACK=local-b" in line
                for line in second_banner
            ), second_banner
            # Naming the first cloud's file outright is refused, with the fix.
            third = cli(
                "--repo-root",
                str(repo),
                "--state-dir",
                ".local-c",
                "--base-port",
                "0",
                "--client-config",
                "client-config/local.json",
            )
            assert third.returncode == 2
            assert "belongs to the local cloud running at" in third.stderr
            assert "--client-config" in third.stderr
            assert json.loads((repo / "client-config" / "local.json").read_text()) == mine
        finally:
            _stop(second)
    finally:
        _stop(first)
    assert any(
        "client-config/local.json" in line and "STACK=local " in line for line in first_banner
    ), first_banner


def test_the_logs_hint_of_the_banner_runs_as_printed(tmp_path):
    build_packages()
    repo = _repo_beside(tmp_path / "repo")
    proc, banner = _serve_until_banner(repo, ".local-hint")
    try:
        hint = next(line for line in banner if line.strip().startswith("logs:"))
        command = hint.split(", or ", 1)[1].replace(" --follow", "").replace(" [QUERY]", "")
        result = subprocess.run(
            command.split() + ["--repo-root", str(repo)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        _stop(proc)
    assert result.returncode == 0, (command, result.stderr)
    assert "make logs" in hint


# -- the fault and alipay CLIs follow the cloud ---------------------------------------------------
def test_the_fault_and_alipay_clis_follow_a_cloud_on_other_ports_and_print_only_what_changed(
    tmp_path,
):
    build_packages()
    state = tmp_path / "state"
    proc = _start(state, tmp_path / "local.json")
    try:
        cloud = _wait_for(state, proc)
        board = cloud["fcEndpoint"] + "/_localcloud/faults"
        put = cli(
            "--state-dir",
            str(state),
            "fault",
            "set",
            "tablestore",
            "server_busy",
            "--api",
            "PutRow",
            "--share",
            "0.5",
        )
        assert put.returncode == 0, put.stderr
        assert put.stdout.strip() == "fault set: tablestore server_busy --api PutRow --share 0.5"
        # The old name is taken; the board holds the fault under the vocabulary's name.
        assert requests.get(board, timeout=5).json()["faults"] == [
            {
                "service": "tablestore",
                "kind": "busy",
                "api": "PutRow",
                "share": 0.5,
                "seconds": 0.0,
                "code": None,
            }
        ]
        listed = cli("fault", "list", "--state-dir", str(state))
        assert listed.stdout.strip() == "fault on: tablestore busy --api PutRow --share 0.5"
        cleared = cli("fault", "clear", "--state-dir", str(state))
        assert cleared.stdout.strip() == "fault cleared: tablestore busy --api PutRow --share 0.5"
        assert requests.get(board, timeout=5).json()["faults"] == []
        # The alipay command finds the same cloud the same way.
        switched = cli("--state-dir", str(state), "alipay", "identity", "open_id")
        assert switched.returncode == 0, switched.stderr
        assert json.loads(switched.stdout)["apps"][0]["identity"] == "open_id"
        shown = cli("alipay", "show", "--state-dir", str(state))
        assert json.loads(shown.stdout)["apps"][0]["identity"] == "open_id"
        unknown = cli("--state-dir", str(state), "alipay", "identity", "both", "--app-id", "2021")
        assert unknown.returncode == 1 and "the local cloud refused" in unknown.stderr
        assert "Traceback" not in unknown.stderr
        _pays_and_retries_a_notify(state, cloud)
        second = cli("--state-dir", str(state), "--base-port", "0")
        assert second.returncode == 2 and "already runs" in second.stderr
    finally:
        _stop(proc)
    gone = cli("--state-dir", str(state), "fault", "list")
    assert gone.returncode == 1
    assert "does not answer" in gone.stderr and "Traceback" not in gone.stderr


def _pays_and_retries_a_notify(state: Path, cloud: dict[str, str]) -> None:
    """`alipay pay` plays my.tradePay, `alipay notifies` lists the notify it queued and
    `clock advance` runs its retry (nothing listens at the notify_url)."""
    from alipay import AliPay

    assert cli("--state-dir", str(state), "alipay", "identity", "user_id").returncode == 0
    sdk = AliPay(
        cloud["alipayAppId"],
        None,
        app_private_key_string=Path(cloud["alipayAppPrivateKeyFile"]).read_text(),
        alipay_public_key_string=Path(cloud["alipayPublicKeyFile"]).read_text(),
    )
    sdk._gateway = cloud["alipayGateway"]
    trade = sdk.api_alipay_trade_create(
        subject="Pro",
        out_trade_no="cli-1",
        total_amount="1.00",
        notify_url="http://127.0.0.1:9/notify",
        buyer_id="2088000000000001",
    )
    paid = cli("--state-dir", str(state), "alipay", "pay", trade["trade_no"], "2088000000000001")
    assert json.loads(paid.stdout)["resultCode"] == "9000", paid.stderr
    advanced = cli("--state-dir", str(state), "clock", "advance", "240")
    assert advanced.returncode == 0, advanced.stderr
    listed = json.loads(
        cli("--state-dir", str(state), "alipay", "notifies", "--trade-no", trade["trade_no"]).stdout
    )["notifies"]
    assert [(n["attempts"], n["state"]) for n in listed] == [(2, "pending")]
