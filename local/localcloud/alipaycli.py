"""`python -m localcloud alipay ...`: show or switch the Alipay gateway's identity modes on the
running local cloud (found from its cloud.json), through the admin endpoint; pay a trade in the
sandbox cashier (`pay`, as `my.tradePay` would) and list the gateway's notifies (`notifies`)."""

from __future__ import annotations

import argparse
import json
from typing import Any
from urllib.parse import quote

from .alipay.apps import IDENTITY_MODES
from .alipay.payments import CASHIER_RESULTS
from .running import admin_call


def run(args: argparse.Namespace, config: dict[str, str]) -> str:
    base = config["fcEndpoint"] + "/_localcloud/alipay"
    if args.action == "pay":
        answer = admin_call(
            config["alipaySandbox"] + "/pay",
            "POST",
            {"tradeNo": args.trade_no, "user_id": args.user_id, "result": args.result},
        )
    elif args.action == "notifies":
        answer = admin_call(
            base + "/notifies" + (f"?tradeNo={quote(args.trade_no)}" if args.trade_no else "")
        )
    elif args.action == "identity":
        payload: dict[str, Any] = {"mode": args.mode}
        if args.app_id:
            payload["appId"] = args.app_id
        answer = admin_call(base + "/identity", "POST", payload)
    else:
        answer = admin_call(base)
    return json.dumps(answer, indent=2, ensure_ascii=False)


def add_parser(
    sub: Any, formatter: type[argparse.HelpFormatter], common: argparse.ArgumentParser
) -> None:
    alipay = sub.add_parser(
        "alipay",
        help="show or switch the Alipay gateway's identity modes",
        description="Show or switch how the running cloud's Alipay gateway names users to an "
        "app (found from the cloud.json in --state-dir).",
        formatter_class=formatter,
        parents=[common],
    )
    actions = alipay.add_subparsers(dest="action", required=True, metavar="ACTION")
    identity = actions.add_parser(
        "identity",
        help="switch an app's identity mode",
        description="Switch an app's identity mode.",
        formatter_class=formatter,
        parents=[common],
    )
    identity.add_argument(
        "mode", choices=IDENTITY_MODES, metavar="MODE", help=f"one of {', '.join(IDENTITY_MODES)}"
    )
    identity.add_argument(
        "--app-id", default=None, help="the app to switch (default: the sandbox app)"
    )
    actions.add_parser(
        "show",
        help="the gateway's apps and their modes",
        description="Print the Alipay gateway's apps and their identity modes.",
        formatter_class=formatter,
        parents=[common],
    )
    pay = actions.add_parser(
        "pay",
        help="pay a trade in the sandbox cashier (my.tradePay)",
        description="Play the buyer in my.tradePay: pay (or not) the trade "
        "and print the result my.tradePay would answer.",
        formatter_class=formatter,
        parents=[common],
    )
    pay.add_argument("trade_no", metavar="TRADE_NO", help="trade_no of alipay.trade.create")
    pay.add_argument("user_id", metavar="USER_ID", help="the buyer's user_id (2088...)")
    pay.add_argument(
        "--result",
        choices=tuple(CASHIER_RESULTS),
        default="success",
        help="what the buyer does (default: success)",
    )
    notifies = actions.add_parser(
        "notifies",
        help="the gateway's notifies and their attempts",
        description="Print the notifies the gateway sent or will send.",
        formatter_class=formatter,
        parents=[common],
    )
    notifies.add_argument(
        "--trade-no", default=None, help="only this trade's (default: every trade's)"
    )
