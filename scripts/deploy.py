"""`make deploy`: ship template.yml as a ROS stack, on Alibaba Cloud or on the local cloud.

Steps: take each function's zip as `make package` built it (build/<name>.zip), upload it to an
OSS bucket under content-hash names (created if missing; an unchanged package is not uploaded
again), point each function's Code at its object, create or update the ROS stack, follow it
resource by resource to its final status, print the outputs and write
client-config/<stack-name>.json (no secret in it).

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

Every problem ends with one line naming it and the fix, and exit status 2 (bad input) or 1 (the
stack failed). Objects are uploaded before the stack refers to them and never overwritten (the
name is the content's hash), so a stack never runs a half-uploaded package.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import io
import json
import os
import sys
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

ROOT = Path(__file__).resolve().parent.parent
SECRET_PARAMETERS = {
    "AlipayAppPrivateKey": "MINIAPP_ALIPAY_APP_PRIVATE_KEY",
    "DataKey": "MINIAPP_DATA_KEY",
    "HashKey": "MINIAPP_HASH_KEY",
}
FUNCTION_TYPE = "ALIYUN::FC::Function"
DONE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE")


class DeployError(Exception):
    """A problem the user can fix: the message names it and the fix."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


class RosRefused(DeployError):
    """ROS answered a call with an error (its code and message kept for the caller)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(
            f"ROS refused the request: {code}: {message}; fix the template or "
            f"the parameter it names and run `make deploy` again"
        )
        self.code = code
        self.ros_message = message


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    access_key_secret: str
    security_token: str | None = None


@dataclass(frozen=True)
class Package:
    function: str  # the package name: build/<function>
    data: bytes

    @property
    def key(self) -> str:
        return f"packages/{self.function}-{hashlib.sha256(self.data).hexdigest()[:20]}.zip"


# -- inputs ---------------------------------------------------------------------------------------
def credentials_from_chain(env: Mapping[str, str]) -> Credentials:
    key_id = env.get("ALIBABA_CLOUD_ACCESS_KEY_ID")
    secret = env.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET")
    if key_id and secret:
        return Credentials(key_id, secret, env.get("ALIBABA_CLOUD_SECURITY_TOKEN") or None)
    config = Path(env.get("ALIBABA_CLOUD_CONFIG_FILE") or Path.home() / ".aliyun" / "config.json")
    if config.is_file():
        try:
            data = json.loads(config.read_text())
            current = env.get("ALIBABA_CLOUD_PROFILE") or data.get("current", "default")
            profile = next(p for p in data.get("profiles", []) if p.get("name") == current)
            if profile.get("access_key_id") and profile.get("access_key_secret"):
                return Credentials(
                    profile["access_key_id"],
                    profile["access_key_secret"],
                    profile.get("sts_token") or None,
                )
        except (ValueError, StopIteration):
            pass
    raise DeployError(
        "no Alibaba Cloud credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID and "
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET, or configure a profile with `aliyun "
        "configure`"
    )


def read_secrets(path: Path, env: Mapping[str, str], explicit: bool) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            raise DeployError(
                f"secrets file {path}: not valid JSON ({exc}); write a JSON "
                f'object like {{"DataKey": "..."}}'
            ) from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise DeployError(
                f"secrets file {path}: expected a JSON object of strings; write "
                f'{{"AlipayAppPrivateKey": "...", "DataKey": "..."}}'
            )
        unknown = sorted(set(data) - set(SECRET_PARAMETERS))
        if unknown:
            raise DeployError(
                f"secrets file {path}: unknown keys {unknown}; it holds only "
                f"{', '.join(SECRET_PARAMETERS)}"
            )
        values.update(data)
    elif explicit:
        raise DeployError(
            f"secrets file {path} does not exist; create it (see docs/deploy.md) "
            f"or set {', '.join(SECRET_PARAMETERS.values())}"
        )
    for name, variable in SECRET_PARAMETERS.items():
        if env.get(variable):
            values[name] = env[variable]
    missing = [n for n in SECRET_PARAMETERS if not values.get(n)]
    if missing:
        raise DeployError(
            f"missing secrets {', '.join(missing)}: put them in {path} or set "
            f"{', '.join(SECRET_PARAMETERS[n] for n in missing)}"
        )
    check_secrets(values, f"{path} or the environment")
    return values


def check_secrets(values: Mapping[str, str], where: str) -> None:
    """Refuse secrets the functions would refuse at their first call, with the functions' own
    parsers, before anything is uploaded: a stack that deploys but cannot log anyone in is worse
    than a deploy that stops. Messages never quote a secret."""
    from miniapp.adapters.keys import KeyFormatError, private_key_pem
    from miniapp.crypto import DATA_KEY_BYTES, parse_data_key, parse_key_ring

    try:
        private_key_pem(values["AlipayAppPrivateKey"])
    except KeyFormatError as exc:
        raise DeployError(
            f"AlipayAppPrivateKey in {where}: {exc}; give the app's RSA2 private "
            f"key (PEM, or the bare base64 Alipay's tools give)"
        ) from None
    if parse_key_ring(values["DataKey"]) is None:
        raise DeployError(
            f"DataKey in {where}: not a key ring of {DATA_KEY_BYTES}-byte keys in "
            f"base64 (id:key entries joined by commas, or one bare key); make one "
            f"with `openssl rand -base64 32`, rotate with --rotate-data-key (and "
            f"keep old keys: dropping one makes the tokens it sealed unreadable)"
        )
    if parse_data_key(values["HashKey"]) is None:
        raise DeployError(
            f"HashKey in {where}: not {DATA_KEY_BYTES} bytes in base64; make one "
            f"with `openssl rand -base64 32` (and keep it: a new one changes every "
            f"userHash in the logs and ends open list cursors)"
        )


def rotate_data_key(path: Path, secrets: Mapping[str, str]) -> dict[str, str]:
    """Put a fresh data key in front of the ring in the secrets file `path` (rewritten 0600)."""
    import secrets as random

    from miniapp.crypto import DATA_KEY_BYTES, parse_key_ring

    if not path.exists():
        raise DeployError(
            f"--rotate-data-key rewrites the secrets file, and {path} does not "
            f"exist; put the secrets in it first (docs/deploy.md)"
        )
    ring = parse_key_ring(secrets["DataKey"])
    assert ring is not None  # check_secrets refused anything else
    numbers = [int(k) for k in ring.keys if k.isdigit()]
    rotated = ring.rotated(str(max(numbers, default=0) + 1), random.token_bytes(DATA_KEY_BYTES))
    values = {**json.loads(path.read_text()), "DataKey": rotated.text()}
    check_secrets({**secrets, **values}, str(path))
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(values, indent=2) + "\n")
    tmp.replace(path)
    print(
        f"data key rotated in {path.name}: new key {rotated.current_id}, "
        f"{len(rotated.keys) - 1} older kept"
    )
    return {**secrets, "DataKey": rotated.text()}


def secrets_version(secrets: Mapping[str, str]) -> str:
    """The KMS secrets' VersionId: a hash of their values, so a changed secret (a rotated key)
    gets a new version and an unchanged deploy changes nothing."""
    text = json.dumps(dict(sorted(secrets.items())), separators=(",", ":"))
    return "v-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def read_parameters(path: Path | None, pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    if path is not None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise DeployError(
                f"parameters file {path}: {exc}; write a JSON object of parameter values"
            ) from None
        if not isinstance(data, dict):
            raise DeployError(f"parameters file {path}: expected a JSON object")
        values.update({str(k): str(v) for k, v in data.items()})
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DeployError(f"--parameter {pair!r}: write NAME=VALUE")
        values[key] = value
    secret = sorted(set(values) & set(SECRET_PARAMETERS))
    if secret:
        raise DeployError(
            f"{', '.join(secret)} may not be passed as a parameter (it would end "
            f"up in shell history or a plain file); use the secrets file"
        )
    return values


# -- packages -------------------------------------------------------------------------------------
def package_artifact(function: str, build_dir: Path) -> Package:
    """The zip FC runs for `function`: build/<function>.zip exactly as `make package` wrote it
    (the one artifact; the local cloud runs its unpacked twin build/<function>). Its bytes are
    stable (sorted entries, fixed times), so an unchanged package keeps its content hash and is
    not uploaded again."""
    path = build_dir / f"{function}.zip"
    if not path.is_file():
        raise DeployError(f"no package for {function!r}: {path} is missing; run `make package`")
    data = path.read_bytes()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            has_handler = "index.py" in archive.namelist()
    except zipfile.BadZipFile:
        has_handler = False
    if not has_handler:
        raise DeployError(
            f"{path} is not a function package (a zip with index.py at its "
            f"top); run `make package` again"
        )
    return Package(function, data)


def functions_of(template: Mapping[str, Any]) -> dict[str, str]:
    """Logical id -> package name, from each function's `Code.OssObjectName` (`db.zip` -> db)."""
    found = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") == FUNCTION_TYPE:
            name = str(resource["Properties"]["Code"]["OssObjectName"])
            found[logical_id] = name[:-4] if name.endswith(".zip") else name
    return found


def with_code(template: Mapping[str, Any], keys: Mapping[str, str]) -> dict[str, Any]:
    result = copy.deepcopy(dict(template))
    for logical_id, key in keys.items():
        result["Resources"][logical_id]["Properties"]["Code"]["OssObjectName"] = key
    return result


# -- OSS ------------------------------------------------------------------------------------------
def upload(creds: Credentials, endpoint: str, bucket_name: str, packages: list[Package]) -> None:
    import oss2

    if not oss2.is_valid_bucket_name(bucket_name):
        raise DeployError(
            f"bucket name {bucket_name!r} is not valid for OSS: 3-63 lower-case "
            f"letters, digits and '-', starting and ending with a letter or digit; "
            f"pass a valid --bucket"
        )
    auth = (
        oss2.StsAuth(creds.access_key_id, creds.access_key_secret, creds.security_token)
        if creds.security_token
        else oss2.Auth(creds.access_key_id, creds.access_key_secret)
    )
    bucket = oss2.Bucket(auth, endpoint, bucket_name, connect_timeout=10)
    try:
        try:
            bucket.get_bucket_info()
        except oss2.exceptions.NoSuchBucket:
            bucket.create_bucket()
            print(f"created bucket {bucket_name}")
        for package in packages:
            if _holds(bucket, package):
                print(f"  {package.function}: unchanged ({package.key})")
                continue
            # One PutObject: OSS stores the whole object or nothing, and oss2 checks the CRC-64
            # OSS reports, so the key never names a partial upload.
            bucket.put_object(package.key, package.data)
            print(
                f"  {package.function}: uploaded {len(package.data) / 1e6:.1f} MB ({package.key})"
            )
    except oss2.exceptions.RequestError as exc:
        raise DeployError(
            f"cannot reach OSS at {endpoint} ({exc.details.get('details', exc)}); "
            f"check OSS_ENDPOINT and your network"
        ) from None
    except oss2.exceptions.OssError as exc:
        raise DeployError(
            f"OSS refused {exc.code or exc.status} on bucket {bucket_name}: "
            f"{exc.message}; check the bucket name and your key's OSS "
            f"permissions"
        ) from None


def _holds(bucket: Any, package: Package) -> bool:
    """Whether the bucket already has this package under its key. The ETag (MD5 of a simple
    upload) is compared too: an object someone else put under the name is replaced, never run."""
    import oss2

    try:
        etag = bucket.head_object(package.key).etag
    except oss2.exceptions.NotFound:
        return False
    return str(etag).upper() == hashlib.md5(package.data).hexdigest().upper()


# -- ROS ------------------------------------------------------------------------------------------
class Ros:
    def __init__(self, creds: Credentials, region: str, endpoint: str | None) -> None:
        from aliyunsdkcore.client import AcsClient

        if creds.security_token:
            from aliyunsdkcore.auth.credentials import StsTokenCredential

            self._client = AcsClient(
                region_id=region,
                credential=StsTokenCredential(
                    creds.access_key_id, creds.access_key_secret, creds.security_token
                ),
            )
        else:
            self._client = AcsClient(creds.access_key_id, creds.access_key_secret, region)
        self._endpoint = urlparse(endpoint) if endpoint else None
        self.where = endpoint or f"the ROS endpoint of {region}"

    def call(self, request: Any) -> dict[str, Any]:
        from aliyunsdkcore.acs_exception.exceptions import ClientException, ServerException

        if self._endpoint is not None:
            request.set_endpoint(self._endpoint.netloc)
            request.set_protocol_type(self._endpoint.scheme or "https")
        try:
            return json.loads(self._client.do_action_with_exception(request))
        except ClientException as exc:
            raise DeployError(
                f"cannot reach ROS at {self.where} ({exc.get_error_msg()}); "
                f"check ROS_ENDPOINT and your network"
            ) from None
        except ServerException as exc:
            raise RosRefused(str(exc.get_error_code()), str(exc.get_error_msg())) from None

    def find(self, name: str) -> str | None:
        from aliyunsdkros.request.v20190910 import ListStacksRequest

        request = ListStacksRequest.ListStacksRequest()
        request.set_StackNames([name])
        stacks = [s for s in self.call(request)["Stacks"] if s["Status"] != "DELETE_COMPLETE"]
        return stacks[0]["StackId"] if stacks else None

    def statuses(self, stack_id: str) -> dict[str, str]:
        from aliyunsdkros.request.v20190910 import ListStackResourcesRequest

        request = ListStackResourcesRequest.ListStackResourcesRequest()
        request.set_StackId(stack_id)
        return {r["LogicalResourceId"]: r["Status"] for r in self.call(request)["Resources"]}

    def create_or_update(
        self, name: str, existing: str | None, body: str, params: Mapping[str, str]
    ) -> str:
        from aliyunsdkros.request.v20190910 import CreateStackRequest, UpdateStackRequest

        request: Any
        if existing is None:
            request = CreateStackRequest.CreateStackRequest()
            request.set_StackName(name)
        else:
            request = UpdateStackRequest.UpdateStackRequest()
            request.set_StackId(existing)
        request.set_TemplateBody(body)
        request.set_Parameterss(
            [{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()]
        )
        print(f"{'creating' if existing is None else 'updating'} stack {name}")
        try:
            return str(self.call(request)["StackId"])
        except RosRefused as exc:
            # ROS refuses an update that changes nothing: 400 NotSupported, "Update the
            # completely same stack ..." (what Alibaba's ROS CDK CLI and Serverless Devs match
            # on; not checked against the cloud from here). The stack already runs exactly this
            # template, parameters and code, so it is up to date: follow it as it is.
            if (
                existing is not None
                and exc.code == "NotSupported"
                and exc.ros_message.startswith("Update the completely same stack")
            ):
                print(f"  stack {name} is up to date: nothing changed")
                return existing
            raise

    def follow(self, stack_id: str, poll: float, seen: dict[str, str]) -> dict[str, Any]:
        """Print each resource as its status changes from what `seen` holds (a resource waiting
        to be created, INIT_COMPLETE, is not news), until the stack settles."""
        from aliyunsdkros.request.v20190910 import GetStackRequest, ListStackResourcesRequest

        seen = dict(seen)
        while True:
            get = GetStackRequest.GetStackRequest()
            get.set_StackId(stack_id)
            stack = self.call(get)
            resources = ListStackResourcesRequest.ListStackResourcesRequest()
            resources.set_StackId(stack_id)
            for resource in self.call(resources)["Resources"]:
                key, status = resource["LogicalResourceId"], resource["Status"]
                if seen.get(key, "INIT_COMPLETE") != status:
                    seen[key] = status
                    reason = f"  {resource['StatusReason']}" if status.endswith("FAILED") else ""
                    print(f"  {key:<20} {resource['ResourceType']:<24} {status}{reason}")
            if not stack["Status"].endswith("_IN_PROGRESS"):
                return stack
            time.sleep(poll)


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


def deploy(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    template = yaml.safe_load(Path(args.template).read_text())
    region = args.region or env.get("ALIBABA_CLOUD_REGION_ID") or "cn-hangzhou"
    creds = credentials_from_chain(env)
    secrets_file = Path(
        args.secrets_file or env.get("MINIAPP_SECRETS_FILE") or ROOT / "deploy.secrets.json"
    )
    secrets = read_secrets(secrets_file, env, explicit=bool(args.secrets_file))
    if args.rotate_data_key:
        secrets = rotate_data_key(secrets_file, secrets)
    params = read_parameters(
        Path(args.parameters_file) if args.parameters_file else None, args.parameter or []
    )
    declared = set(template.get("Parameters") or {})
    unknown = sorted(set(params) - declared)
    if unknown:
        raise DeployError(
            f"unknown parameters {unknown}; the template declares {', '.join(sorted(declared))}"
        )
    stack_name = args.stack_name
    bucket = args.bucket or f"{stack_name.lower()}-code-{region}"
    oss_endpoint = env.get("OSS_ENDPOINT") or f"https://oss-{region}.aliyuncs.com"

    functions = functions_of(template)
    build_dir = Path(args.build_dir)
    packages = {name: package_artifact(name, build_dir) for name in sorted(set(functions.values()))}
    print(f"uploading {len(packages)} packages to oss://{bucket}")
    upload(creds, oss_endpoint, bucket, list(packages.values()))
    body = yaml.safe_dump(
        with_code(template, {lid: packages[name].key for lid, name in functions.items()}),
        sort_keys=False,
    )
    ros = Ros(creds, region, env.get("ROS_ENDPOINT"))
    existing = ros.find(stack_name)
    before = ros.statuses(existing) if existing else {}
    stack_id = ros.create_or_update(
        stack_name,
        existing,
        body,
        {**params, **secrets, "CodeBucket": bucket, "SecretsVersion": secrets_version(secrets)},
    )
    stack = ros.follow(stack_id, args.poll_seconds, before)
    print(f"stack {stack_name}: {stack['Status']}  {stack['StatusReason']}")
    if stack["Status"] not in DONE:
        raise DeployError(
            f"the stack did not deploy: {stack['StatusReason']}; fix the cause "
            f"and run `make deploy` again (it updates the stack)",
            status=1,
        )
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
        "--poll-seconds",
        type=float,
        default=2.0,
        help="how often to ask ROS for progress, in seconds (default: 2)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return deploy(args, os.environ)
    except DeployError as exc:
        print(f"deploy failed: {exc}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("deploy interrupted; run `make deploy` again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
