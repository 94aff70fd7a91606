"""`make demo`: the todo list as the mini program runs it, step by step.

Uses the local cloud that `make dev` started (found from the `.local/cloud.json` it wrote, if
its FC endpoint answers); otherwise starts its own on ephemeral ports with a throw-away state
folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent


def _running_config(state_dir: Path) -> dict[str, str] | None:
    from localcloud.running import NoRunningCloud, running_cloud

    try:
        return running_cloud(state_dir)
    except NoRunningCloud:
        return None


def _show(step: str, value: Any) -> None:
    print(f"\n== {step}")
    print(json.dumps(value, indent=2, ensure_ascii=False))


def run(config: dict[str, str]) -> None:
    from localcloud.miniprogram import MiniProgram

    app = MiniProgram(config)
    try:
        code = app.get_auth_code()
    except requests.RequestException as exc:
        raise SystemExit(f"the Alipay sandbox did not answer: {exc}") from None
    _show(f"my.getAuthCode (sandbox user {app.user_id})", {"authCode": code[:6] + "..."})
    resp = app.post_session({"authCode": code, "authSuccessScopes": ["auth_base"]})
    if resp.status_code != 200:
        raise SystemExit(f"login failed: HTTP {resp.status_code} {resp.text}")
    body = resp.json()
    from localcloud.miniprogram import Session

    session = Session(body["sessionId"], body["sts"])
    _show(
        "POST sessionUrl -> session + STS credentials",
        {
            "sessionId": session.session_id[:8] + "...",
            "sts": {
                "AccessKeyId": session.sts["AccessKeyId"][:10] + "...",
                "Expiration": session.sts["Expiration"],
            },
        },
    )

    def db(op: str, **fields: Any) -> Any:
        result = app.db(session, op, v=2, **fields)
        if "error" in result:
            raise SystemExit(f"db {op} failed: {result['error']}")
        _show(f"db {op} {json.dumps(fields, ensure_ascii=False)}", result)
        return result["data"]

    milk = db("add", text="Buy milk")
    db("add", text="Write the mini program")
    db("update", id=milk["id"], completed=True, expectedVersion=milk["version"])
    listing = db("list")
    assert len(listing["items"]) == 2, listing
    db("remove", id=milk["id"])
    final = db("list")
    assert [t["text"] for t in final["items"]] == ["Write the mini program"], final
    resp = app.post_session({"sessionId": session.session_id}, path="logout")
    _show("POST sessionUrl + logout", resp.json())
    print("\ndemo finished: every step answered as expected")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Play the todo mini program against the local cloud, step by step (it "
        "writes a sandbox user's todos). Uses the cloud `make dev` runs, or starts "
        "a throw-away one.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--state-dir",
        default=".local",
        help="state folder of the running cloud (its cloud.json), relative to the repository",
    )
    args = parser.parse_args(argv)
    config = _running_config(ROOT / args.state_dir)
    with ExitStack() as stack:
        if config is None:
            from localcloud.cloud import CloudOptions, LocalCloud, Ports

            print("no local cloud running: starting one on ephemeral ports")
            state = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            cloud = stack.enter_context(
                LocalCloud(
                    CloudOptions(
                        repo_root=ROOT,
                        state_dir=state,
                        template_path=ROOT / "template.yml",
                        ports=Ports.ephemeral(),
                    )
                )
            )
            config = cloud.cloud_config()
        else:
            print(f"using the running local cloud at {config['fcEndpoint']}")
        run(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
