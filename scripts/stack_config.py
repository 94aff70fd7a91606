"""`make client-config-from-stack STACK=name`: write client-config/<name>.json from a stack's
outputs alone, for a stack created from the ROS console (the one-click deploy) rather than by
`make deploy`, which writes that file itself.

The outputs come from ROS (GetStack, with the credentials and endpoints `make deploy` uses:
ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET or the CLI profile, ALIBABA_CLOUD_REGION_ID, ROS_ENDPOINT),
or from a file the user pasted them into (`OUTPUTS=file`): a JSON object of output name to value,
ROS's list of `{OutputKey, OutputValue}`, or a whole GetStack answer. Each client config key is
one output of template.yml (`OUTPUTS` below); the file holds no secret.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the sibling scripts, by their package path (as mypy reads them)

from scripts.client_config import ClientConfig, ClientConfigError  # noqa: E402 - after sys.path names the repository

# client config key -> the template output that holds it
OUTPUTS = {
    "accountId": "AccountId",
    "region": "Region",
    "serviceName": "ServiceName",
    "sessionServiceName": "SessionServiceName",
    "sessionFunctionName": "SessionFunctionName",
    "dbFunctionName": "DBFunctionName",
    "fcEndpoint": "FcEndpoint",
    "sessionUrl": "SessionUrl",
}
_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?")


class StackConfigError(ValueError):
    """The outputs cannot make a client config; the message names what is missing."""


def outputs_of(data: Any) -> dict[str, str]:
    """Output name -> value, from any of the three shapes a user may paste."""
    if isinstance(data, Mapping) and isinstance(data.get("Outputs"), list):
        data = data["Outputs"]
    if isinstance(data, list):
        if not all(isinstance(o, Mapping) and "OutputKey" in o for o in data):
            raise StackConfigError("a list of outputs holds {OutputKey, OutputValue} objects")
        return {str(o["OutputKey"]): str(o.get("OutputValue", "")) for o in data}
    if isinstance(data, Mapping):
        return {str(k): str(v) for k, v in data.items()}
    raise StackConfigError(
        "outputs are a JSON object, a list of {OutputKey, OutputValue}, or GetStack's answer"
    )


def client_config(outputs: Mapping[str, str]) -> dict[str, str]:
    """The client config (client-config/<stack>.json's keys) from the stack's outputs."""
    missing = [name for name in OUTPUTS.values() if not outputs.get(name)]
    if missing:
        raise StackConfigError(
            f"the outputs lack {', '.join(missing)}: a stack of an older template? Update it "
            f"with this template.yml (make deploy or a new release), then try again"
        )
    config = {key: str(outputs[name]) for key, name in OUTPUTS.items()}
    try:
        ClientConfig.from_stack(config)
    except ClientConfigError as exc:
        raise StackConfigError(f"the outputs do not make a client config: {exc}") from None
    if not _URL.fullmatch(config["sessionUrl"]):
        raise StackConfigError(f"SessionUrl is not a URL: {config['sessionUrl']!r}")
    return config


def stack_outputs(stack: str, env: Mapping[str, str]) -> dict[str, str]:
    """The outputs of the live stack named `stack`, from ROS."""
    from aliyunsdkros.request.v20190910 import GetStackRequest

    from scripts.deploykit import Ros, credentials_from_chain

    region = env.get("ALIBABA_CLOUD_REGION_ID") or "cn-hangzhou"
    ros = Ros(credentials_from_chain(env), region, env.get("ROS_ENDPOINT"))
    stack_id = ros.find(stack)
    if stack_id is None:
        raise StackConfigError(f"no stack named {stack!r} in {region} (at {ros.where})")
    request = GetStackRequest.GetStackRequest()
    request.set_StackId(stack_id)
    answer = ros.call(request)
    if not str(answer.get("Status", "")).endswith("_COMPLETE"):
        raise StackConfigError(
            f"stack {stack} is {answer.get('Status')}: {answer.get('StatusReason')}; "
            f"wait for it to complete"
        )
    return outputs_of(answer)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="make client-config-from-stack", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--stack", required=True, help="the stack's name (client-config/NAME.json)")
    parser.add_argument(
        "--outputs", type=Path, help="a JSON file of the stack's outputs (default: ask ROS)"
    )
    parser.add_argument(
        "--out", type=Path, help="where to write (default: client-config/<stack>.json)"
    )
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,254}", args.stack):
        parser.error(f"--stack must be a stack name, not {args.stack!r}")
    from scripts.deploykit import DeployError

    try:
        if args.outputs is not None:
            try:
                data = json.loads(args.outputs.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise StackConfigError(f"{args.outputs}: {exc}") from None
            outputs = outputs_of(data)
        else:
            outputs = stack_outputs(args.stack, os.environ)
        config = client_config(outputs)
    except (StackConfigError, DeployError) as exc:
        print(f"client-config-from-stack: {exc}", file=sys.stderr)
        return 2
    path = args.out or ROOT / "client-config" / f"{args.stack}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2) + "\n")
    shown = path.relative_to(ROOT) if path.resolve().is_relative_to(ROOT) else path
    print(f"wrote {shown} (session URL {config['sessionUrl']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
