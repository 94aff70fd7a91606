"""`make undeploy STACK=name` (scripts/deploy.py --delete): delete a stack `make deploy` made,
and what `make deploy` left for it beside the stack.

Steps: say what goes and what stays, and ask (or `--yes`); DeleteStack, followed resource by
resource as a deploy is, until the stack is gone; then the code objects its deploys uploaded
(the bucket's `packages/<stack>/` folder), the bucket if `make deploy` created it and nothing
else is in it, and `client-config/<stack>.json`. A stack that does not delete (DELETE_FAILED)
keeps all of those, and the error names each resource that failed with ROS's reason. Resources
the template retains (`DeletionPolicy: Retain`) and those named with `--retain` stay, with their
data. When no stack has the name, what a deploy left for it is removed all the same (a stack
deleted by hand in the ROS console leaves its objects, bucket and client config behind)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from .bucket import CodeBucket
from .errors import DeployError, RosRefused
from .inputs import credentials_from_chain
from .packages import stack_prefix
from .ros import Ros


def undeploy(
    args: argparse.Namespace,
    env: Mapping[str, str],
    root: Path,
    ask: Callable[[str], str] = input,
) -> int:
    name = args.stack_name
    region = args.region or env.get("ALIBABA_CLOUD_REGION_ID") or "cn-hangzhou"
    ros = Ros(credentials_from_chain(env), region, env.get("ROS_ENDPOINT"))
    stack_id = ros.find(name)
    bucket_name = args.bucket or f"{name.lower()}-code-{region}"
    kept: list[str] = list(args.retain or [])
    if stack_id is None:
        print(f"no stack {name} in {region} (at {ros.where}); removing what make deploy left")
    else:
        stack = ros.get(stack_id)
        given = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters") or []}
        bucket_name = args.bucket or given.get("CodeBucket") or bucket_name
        resources = (yaml.safe_load(ros.template(stack_id)) or {}).get("Resources") or {}
        kept = sorted(
            {k for k, v in resources.items() if (v or {}).get("DeletionPolicy") == "Retain"}
            | set(kept)
        )
        print(f"stack {name} ({stack['Status']}) in {region}: {len(resources)} resources")
        if kept:
            print(f"  kept, with their data (DeletionPolicy: Retain, --retain): {', '.join(kept)}")
    config = Path(args.client_config or root / "client-config" / f"{name}.json")
    shown = config.relative_to(root) if config.resolve().is_relative_to(root) else config
    print(f"code objects: oss://{bucket_name}/{stack_prefix(name)} (the bucket too, if make deploy")
    print(f"  created it and nothing else is left in it); client config: {shown}")
    _confirm(name, args.yes, ask)
    if stack_id is not None:
        before = ros.statuses(stack_id)
        print(f"deleting stack {name}")
        ros.delete(stack_id, list(args.retain or []))
        final = _follow(ros, stack_id, args.poll_seconds, before)
        print(f"stack {name}: {final['Status']}  {final.get('StatusReason', '')}")
        if final["Status"] != "DELETE_COMPLETE":
            raise DeployError(
                f"the stack did not delete: {_failures(ros, stack_id, final)}; its code objects, "
                f"bucket and client config are kept. Fix the cause and run `make undeploy "
                f"STACK={name}` again, or keep the resource (and its data) with "
                f'ARGS="--retain <LogicalId>"',
                status=1,
            )
    CodeBucket(credentials_from_chain(env), _oss(env, region), bucket_name).remove_stack(name)
    if config.exists():
        config.unlink()
        print(f"removed {shown}")
    else:
        print(f"no {shown} to remove")
    return 0


def _confirm(name: str, yes: bool, ask: Callable[[str], str]) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise DeployError(
            f"undeploy deletes stack {name} and asks first, and there is no terminal to ask "
            f'on; run it in a terminal, or add --yes (make undeploy STACK={name} ARGS="--yes")'
        )
    answer = ask(f"Delete stack {name} and the rest listed above? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise DeployError("nothing was deleted (not confirmed)", status=1)


def _follow(ros: Ros, stack_id: str, poll: float, before: dict[str, str]) -> dict[str, Any]:
    """The deletion followed to its end. ROS may forget a deleted stack (StackNotFound)."""
    try:
        return ros.follow(stack_id, poll, before)
    except RosRefused as exc:
        if exc.code == "StackNotFound":
            return {"Status": "DELETE_COMPLETE", "StatusReason": "the stack is gone"}
        raise


def _failures(ros: Ros, stack_id: str, stack: Mapping[str, Any]) -> str:
    """Each resource that failed, with ROS's reason; the stack's own reason when none did."""
    failed = [
        f"{r['LogicalResourceId']} ({r['ResourceType']}): {r['StatusReason']}"
        for r in ros.resources(stack_id)
        if str(r["Status"]).endswith("FAILED")
    ]
    return "; ".join(failed) or f"{stack['Status']}: {stack.get('StatusReason', '')}"


def _oss(env: Mapping[str, str], region: str) -> str:
    return env.get("OSS_ENDPOINT") or f"https://oss-{region}.aliyuncs.com"
