"""`python -m localcloud alipay ...`: show or switch the Alipay gateway's identity modes on the
running local cloud (found from its cloud.json), through the admin endpoint."""
from __future__ import annotations

import argparse
import json
from typing import Any

from .alipay.apps import IDENTITY_MODES
from .running import admin_call


def run(args: argparse.Namespace, fc_endpoint: str) -> str:
    base = fc_endpoint + "/_localcloud/alipay"
    if args.action == "identity":
        payload: dict[str, Any] = {"mode": args.mode}
        if args.app_id:
            payload["appId"] = args.app_id
        answer = admin_call(base + "/identity", "POST", payload)
    else:
        answer = admin_call(base)
    return json.dumps(answer, indent=2)


def add_parser(sub: Any, formatter: type[argparse.HelpFormatter],
               common: argparse.ArgumentParser) -> None:
    alipay = sub.add_parser(
        "alipay", help="show or switch the Alipay gateway's identity modes",
        description="Show or switch how the running cloud's Alipay gateway names users to an "
                    "app (found from the cloud.json in --state-dir).",
        formatter_class=formatter, parents=[common])
    actions = alipay.add_subparsers(dest="action", required=True, metavar="ACTION")
    identity = actions.add_parser("identity", help="switch an app's identity mode",
                                  description="Switch an app's identity mode.",
                                  formatter_class=formatter, parents=[common])
    identity.add_argument("mode", choices=IDENTITY_MODES, metavar="MODE",
                          help=f"one of {', '.join(IDENTITY_MODES)}")
    identity.add_argument("--app-id", default=None,
                          help="the app to switch (default: the sandbox app)")
    actions.add_parser("show", help="the gateway's apps and their modes",
                       description="Print the Alipay gateway's apps and their identity modes.",
                       formatter_class=formatter, parents=[common])
