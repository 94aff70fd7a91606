"""`make deploy` and `make undeploy` run as a developer runs them, against a local cloud: the
Deployer holds the local endpoints, the local root key, a secrets and a parameters file made
from what the cloud plays, and counts every object the local OSS stores."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

import fc2
import oss2
import requests

from tests.conftest import ROOT

BUCKET = "deploy-test-code"


class Deployer:
    def __init__(self, cloud: Any, workdir: Path) -> None:
        self.cloud = cloud
        self.workdir = workdir
        self.puts: list[str] = []  # keys of every PutObject the local OSS stored
        self.first: subprocess.CompletedProcess[str] | None = None  # the first deploy's run
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
        self,
        stack: str,
        *args: str,
        build: Path | None = None,
        secrets_file: Path | None = None,
        bucket: str | None = BUCKET,
    ) -> subprocess.CompletedProcess[str]:
        """`make deploy` of `stack`; `bucket` None: the default bucket, <stack>-code-<region>."""
        argv = [
            "--stack-name",
            stack,
            "--secrets-file",
            str(secrets_file or self.secrets),
            "--parameters-file",
            str(self.parameters),
            *(["--bucket", bucket] if bucket else []),
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

    def undeploy(self, stack: str, *args: str) -> subprocess.CompletedProcess[str]:
        """`make undeploy STACK=stack ARGS=...`, as docs/deploy.md gives it (no terminal: a test
        that does not pass --yes is refused)."""
        argv = ["--poll-seconds", "0.1", *args]
        return subprocess.run(
            [
                "make",
                "--no-print-directory",
                "undeploy",
                f"STACK={stack}",
                "ARGS=" + " ".join(f"'{a}'" for a in argv),
            ],
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
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
        self.first = self.first or result
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


def failure(result: subprocess.CompletedProcess[str], what: str = "deploy") -> str:
    """The script's one line about what went wrong (make adds its own line after it)."""
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"{what} failed: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]
