"""`make dev`'s own stack: the project's template deployed to the local cloud by `make deploy`'s
script itself (scripts/deploy.py, run as a developer runs it, pointed at the local OSS and ROS
with the local root key), so what `make dev` serves is exactly what `make deploy` would ship:
the zips `make package` wrote, uploaded under their hash, the template evaluated by ROS.

The parameters are the ones the local cloud plays (the sandbox's AppId and keys, its data key,
the developer's `local.parameters.json`); the two secrets go in a 0600 file under the state
folder, never on a command line. A developer's own cloud credentials or secrets in the
environment are not passed on: this deploy only ever talks to the local cloud.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEV_STACK = "local"  # the stack `make dev` serves; others (staging, prod) may stand beside it
SECRET_PARAMETERS = ("AlipayAppPrivateKey", "DataKey", "HashKey")
# What deploy.py would otherwise take from the developer's shell: never for the local cloud.
_NOT_PASSED_ON = ("ALIBABA_CLOUD_", "MINIAPP_", "ROS_ENDPOINT", "OSS_ENDPOINT", "FC_ENDPOINT")


class DevStackFailed(Exception):
    """The deploy of make dev's stack failed; the message is deploy.py's own line."""


@dataclass(frozen=True)
class DevStack:
    repo_root: Path
    state_dir: Path
    region: str
    access_key_id: str
    access_key_secret: str = field(repr=False)
    endpoints: Mapping[str, str]  # "ros", "oss", "fc" -> URL
    parameters: Mapping[str, str] = field(repr=False)  # every template parameter, secrets too
    name: str = DEV_STACK

    @property
    def folder(self) -> Path:
        return self.state_dir / "devstack"

    @property
    def client_config_path(self) -> Path:
        """Where deploy.py writes the stack's client config (the cloud's own is written from
        the stack's outputs)."""
        return self.folder / f"{self.name}.client-config.json"

    def deploy(self, output: Callable[[str], None] = print) -> None:
        """Create or update the stack and wait for it; DevStackFailed if it does not deploy."""
        self.folder.mkdir(parents=True, exist_ok=True)
        params_file = self.folder / f"{self.name}.parameters.json"
        secrets_file = self.folder / f"{self.name}.secrets.json"
        params_file.write_text(
            json.dumps(
                {
                    k: v
                    for k, v in self.parameters.items()
                    if k not in SECRET_PARAMETERS and k != "CodeBucket"
                },
                indent=2,
            )
        )
        fd = os.open(secrets_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps({k: self.parameters[k] for k in SECRET_PARAMETERS}))
        env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_PASSED_ON)}
        env.update(
            ALIBABA_CLOUD_ACCESS_KEY_ID=self.access_key_id,
            ALIBABA_CLOUD_ACCESS_KEY_SECRET=self.access_key_secret,
            ALIBABA_CLOUD_REGION_ID=self.region,
            ROS_ENDPOINT=self.endpoints["ros"],
            OSS_ENDPOINT=self.endpoints["oss"],
            FC_ENDPOINT=self.endpoints["fc"],
        )
        argv = [
            sys.executable,
            str(self.repo_root / "scripts" / "deploy.py"),
            "--stack-name",
            self.name,
            "--parameters-file",
            str(params_file),
            "--secrets-file",
            str(secrets_file),
            "--build-dir",
            str(self.repo_root / "build"),
            "--client-config",
            str(self.client_config_path),
            "--poll-seconds",
            "0.2",
        ]
        process = subprocess.Popen(
            argv,
            cwd=self.repo_root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        last = ""
        for line in process.stdout:
            line = line.rstrip("\n")
            output(line)
            if line.startswith("deploy failed: "):
                last = line.removeprefix("deploy failed: ")
        if process.wait() != 0:
            raise DevStackFailed(last or f"scripts/deploy.py exited with {process.returncode}")
