"""`make deploy`: ship template.yml as a ROS stack, on Alibaba Cloud or on the local cloud.

Steps: check everything that can be checked before anything is created (every problem named at
once: `plan`), take each function's zip as `make package` built it (build/<name>.zip), upload it
to an OSS bucket under content-hash names in the stack's folder, packages/<stack-name>/ (the
bucket is created if missing; an unchanged package is not uploaded again), point each function's
Code at its object, create or update the ROS stack, follow it resource by resource to its final
status, print the outputs and write client-config/<stack-name>.json (no secret in it).

`--delete` (`make undeploy STACK=name`) deletes the stack instead: deploykit/undeploy.py.

The same script serves both clouds; only endpoints and credentials differ:
- credentials: ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET (and
  ALIBABA_CLOUD_SECURITY_TOKEN), else the Alibaba Cloud CLI's current profile
  (~/.aliyun/config.json, AccessKey mode);
- region: --region or ALIBABA_CLOUD_REGION_ID (default cn-hangzhou);
- endpoints: ROS_ENDPOINT, OSS_ENDPOINT, FC_ENDPOINT (defaults: the region's public endpoints).
Secrets (AlipayAppPrivateKey, DataKey, HashKey) come from a JSON secrets file (--secrets-file,
default deploy.secrets.json) or the environment (MINIAPP_ALIPAY_APP_PRIVATE_KEY,
MINIAPP_DATA_KEY, MINIAPP_HASH_KEY), never from the command line; the stack stores them in KMS
Secrets Manager. Other parameters: --parameters-file (JSON) and --parameter K=V.

Rotating the data key: `--rotate-data-key` adds a fresh key in front of the DataKey key ring in
the secrets file (the file is rewritten, still 0600), then deploys. New tokens are sealed with the
new key; tokens sealed before stay readable with the old keys, which stay in the ring.

Every problem ends with a line naming it and the fix (several found at once: one line each),
and exit status 2 (bad input) or 1 (the stack failed). Objects are uploaded before the stack
refers to them and never overwritten (the name is the content's hash), so a stack never runs a
half-uploaded package.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the sibling scripts, by their package path (as mypy reads them)

from scripts.deploykit import (  # noqa: E402 - after sys.path names the repository
    CodeBucket,
    DeployError,
    Package,
    Ros,
    checks,
    inputs,
    packages,
    undeploy,
)

DONE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE")


# -- the command ----------------------------------------------------------------------------------
def client_config(outputs: Mapping[str, str], fc_endpoint: str) -> dict[str, str]:
    """What a mini program needs to reach the stack, and nothing else (the keys of
    client-config/local.json that `make dev` writes)."""
    service, session = outputs["ServiceName"], outputs["SessionFunctionName"]
    session_service = outputs.get("SessionServiceName", service)  # a stack from before the split
    return {
        "accountId": outputs["AccountId"],
        "region": outputs["Region"],
        "serviceName": service,
        "sessionServiceName": session_service,
        "sessionFunctionName": session,
        "dbFunctionName": outputs["DBFunctionName"],
        "fcEndpoint": fc_endpoint,
        "sessionUrl": f"{fc_endpoint}/2016-08-15/proxy/{session_service}/{session}/",
    }


@dataclass(frozen=True)
class Plan:
    """A deploy checked in full and not started: nothing is created or uploaded before `plan`
    returns one."""

    stack_name: str
    template: Mapping[str, Any] = field(repr=False)
    functions: Mapping[str, str]  # logical id -> package name
    packages: Mapping[str, Package] = field(repr=False)
    values: Mapping[str, str] = field(repr=False)  # every parameter ROS gets, secrets too
    bucket: CodeBucket
    bucket_exists: bool
    ros: Ros
    existing: str | None  # the stack's id when it exists (an update)
    rotation: inputs.Rotation | None = None

    @property
    def body(self) -> str:
        keys = {lid: self.packages[name].key for lid, name in self.functions.items()}
        return yaml.safe_dump(packages.with_code(self.template, keys), sort_keys=False)


def plan(args: argparse.Namespace, env: Mapping[str, str]) -> Plan:
    """Read and check everything a deploy can check before it creates anything, and name every
    problem at once: the parameters and secrets (checks.py), the packages, the bucket's name,
    then, read-only, the template as ROS reads it (ValidateTemplate), the credentials (ListStacks)
    and the bucket (GetBucketInfo)."""
    template = yaml.safe_load(Path(args.template).read_text())
    region = args.region or env.get("ALIBABA_CLOUD_REGION_ID") or "cn-hangzhou"
    problems: list[str] = []
    try:
        creds = inputs.credentials_from_chain(env)
    except DeployError as exc:
        creds, problems = None, [str(exc)]
    secrets_file = Path(
        args.secrets_file or env.get("MINIAPP_SECRETS_FILE") or ROOT / "deploy.secrets.json"
    )
    secrets, missing = inputs.read_secrets(secrets_file, env, explicit=bool(args.secrets_file))
    problems += missing
    bad_secrets = checks.secret_problems(secrets, f"{secrets_file} or the environment")
    problems += bad_secrets.values()
    rotation = None
    if args.rotate_data_key and not missing and not bad_secrets:
        secrets, rotation = inputs.rotate_data_key(secrets_file, secrets)
    params = inputs.read_parameters(
        Path(args.parameters_file) if args.parameters_file else None, args.parameter or []
    )
    declared = template.get("Parameters") or {}
    unknown = sorted(set(params) - set(declared))
    if unknown:
        problems.append(
            f"unknown parameters {unknown}; the template declares {', '.join(sorted(declared))}"
        )
    stack_name = args.stack_name
    bucket_name = args.bucket or f"{stack_name.lower()}-code-{region}"
    problems += checks.bucket_problems(bucket_name)
    values = {
        **{k: v for k, v in params.items() if k in declared},
        **secrets,
        "CodeBucket": bucket_name,
        "SecretsVersion": inputs.secrets_version(secrets),
    }
    named = ["CodeBucket", *bad_secrets]  # named once, as a bucket name or a secret
    invalid = [
        p
        for p in checks.parameter_problems(template, values)
        if not any(p.startswith(f"{name}:") for name in named)
    ]
    problems += invalid
    # The functions' own checks, of the values that meet the template's (a value it refused
    # is named once, by the template's rule).
    refused = {p.split(":", 1)[0] for p in invalid} | set(bad_secrets)
    functions = packages.functions_of(template)
    defaults = {k: str(v["Default"]) for k, v in declared.items() if "Default" in v}
    effective = {**defaults, **values}
    problems += [
        p
        for p in checks.function_problems(template, effective, functions)
        if not refused & set(re.findall(r"\w+", p))
    ]
    if not refused & {"AlipayPublicKey", "AlipaySignMode"}:
        problems += checks.alipay_key_problems(effective)
    built: dict[str, Package] = {}
    for name in sorted(set(functions.values())):
        try:
            built[name] = packages.package_artifact(name, Path(args.build_dir), stack_name)
        except DeployError as exc:
            problems.append(str(exc))
    if creds is None:
        raise DeployError.of(problems, "nothing was uploaded or created")
    # Read-only calls, each proving something before anything is made.
    ros = Ros(creds, region, env.get("ROS_ENDPOINT"))
    try:
        ros.validate(yaml.safe_dump(dict(template), sort_keys=False))
    except DeployError as exc:
        problems.append(str(exc))
    existing = ros.find(stack_name)  # the credentials: refused here, with the fix
    oss_endpoint = env.get("OSS_ENDPOINT") or f"https://oss-{region}.aliyuncs.com"
    bucket, bucket_exists = None, False
    if not checks.bucket_problems(bucket_name):  # (oss2 refuses to make a Bucket of a bad name)
        bucket = CodeBucket(creds, oss_endpoint, bucket_name)
        try:
            bucket_exists = bucket.exists()
        except DeployError as exc:
            problems.append(str(exc))
    if problems or bucket is None:
        raise DeployError.of(problems, "nothing was uploaded or created")
    return Plan(
        stack_name,
        template,
        functions,
        built,
        values,
        bucket,
        bucket_exists,
        ros,
        existing,
        rotation,
    )


def deploy(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    checked = plan(args, env)
    if checked.rotation is not None:
        checked.rotation.write()
    bucket = checked.bucket
    if not checked.bucket_exists:
        bucket.create(checked.stack_name)
    print(f"uploading {len(checked.packages)} packages to oss://{bucket.name}")
    bucket.upload(list(checked.packages.values()))
    ros, stack_name = checked.ros, checked.stack_name
    before = ros.statuses(checked.existing) if checked.existing else {}
    body = checked.body
    diff = ros.changes(checked.existing, yaml.safe_load(body), checked.values)
    stack_id = ros.create_or_update(stack_name, checked.existing, body, checked.values)
    stack = ros.follow(stack_id, args.poll_seconds, before)
    print(f"stack {stack_name}: {stack['Status']}  {stack['StatusReason']}")
    if stack["Status"] not in DONE:
        raise DeployError(
            f"the stack did not deploy: {stack['StatusReason']}; fix the cause "
            f"and run `make deploy` again (it updates the stack)",
            status=1,
        )
    # What changed, from the template diff (deploykit/ros.py, Ros.changes): ROS's statuses
    # cannot tell, as a resource an update left alone keeps the UPDATE_COMPLETE of an earlier one.
    print(f"changes: {diff.summary()}")
    outputs = {o["OutputKey"]: str(o["OutputValue"]) for o in stack.get("Outputs") or []}
    for key, value in outputs.items():
        print(f"  {key:<20} {value}")
    fc_endpoint = (
        env.get("FC_ENDPOINT")
        or f"https://{outputs['AccountId']}.{outputs['Region']}.fc.aliyuncs.com"
    )
    config = client_config(outputs, fc_endpoint.rstrip("/"))
    path = Path(args.client_config or ROOT / "client-config" / f"{stack_name}.json").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    print(f"session URL: {config['sessionUrl']}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="make deploy",
        description=__doc__.split("\n\n")[0],
        epilog="Example: make deploy ARGS='--stack-name miniapp-prod --parameters-file "
        "deploy.parameters.json'",
    )
    parser.add_argument("--stack-name", required=True, help="ROS stack name (e.g. miniapp-prod)")
    parser.add_argument(
        "--client-config",
        help="where to write the client config (default: client-config/<stack-name>.json)",
    )
    parser.add_argument(
        "--bucket",
        help="OSS bucket for the packages (default: "
        "<stack-name>-code-<region>, created if missing)",
    )
    parser.add_argument("--region", help="region (default: ALIBABA_CLOUD_REGION_ID or cn-hangzhou)")
    parser.add_argument(
        "--secrets-file",
        help="JSON file with AlipayAppPrivateKey, DataKey and "
        "HashKey (default: deploy.secrets.json)",
    )
    parser.add_argument(
        "--rotate-data-key",
        action="store_true",
        help="add a new current key to the DataKey ring in the secrets file, "
        "then deploy (old keys stay, so old tokens stay readable)",
    )
    parser.add_argument("--parameters-file", help="JSON object of other template parameters")
    parser.add_argument(
        "--parameter",
        action="append",
        metavar="NAME=VALUE",
        help="a template parameter (not a secret); repeatable",
    )
    parser.add_argument(
        "--template",
        default=str(ROOT / "template.yml"),
        help="the ROS template to deploy (default: template.yml)",
    )
    parser.add_argument(
        "--build-dir",
        default=str(ROOT / "build"),
        help="where `make package` put the packages (default: build)",
    )
    parser.add_argument(
        "--delete",
        action="store_true",
        help="delete the stack instead (make undeploy STACK=NAME): then its code objects, the "
        "bucket if make deploy created it and it is empty, and its client config",
    )
    parser.add_argument(
        "--yes", action="store_true", help="with --delete: do not ask before deleting"
    )
    parser.add_argument(
        "--retain",
        action="append",
        metavar="LOGICAL_ID",
        help="with --delete: keep this resource and its data (as DeletionPolicy: Retain); "
        "repeatable",
    )
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=2.0,
        help="how often to ask ROS for progress, in seconds (default: 2)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    what = "undeploy" if args.delete else "deploy"
    try:
        return undeploy(args, os.environ, ROOT) if args.delete else deploy(args, os.environ)
    except DeployError as exc:
        print("\n".join(exc.lines(f"{what} failed: ")), file=sys.stderr)
        return exc.status
    except (KeyboardInterrupt, EOFError):
        print(f"\n{what} interrupted; run `make {what}` again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
