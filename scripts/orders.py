"""The operator's orders: list them, refund one (in full or in part), close an unpaid one.

    .venv/bin/python scripts/orders.py list [--limit 20] [--before ORDER_ID]
    .venv/bin/python scripts/orders.py refund ORDER_ID --request-no REQUEST_NO [--amount 1.00]
    .venv/bin/python scripts/orders.py close ORDER_ID

Each command invokes the stack's `orders` function (FC InvokeFunction, aliyun-fc2) with the
operator's own credentials: the clients' STS credentials may invoke only the db function, so no
mini program can refund or close. The function holds the app's private key and applies what
Alipay answered to the order at once (docs/payments.md).

Where: by default the local cloud of `.local/cloud.json` (`--cloud FILE` for another), with its
root key. For a deployed stack: `--endpoint https://{account}.{region}.fc.aliyuncs.com --service
{ServiceName}-orders`, and the credentials in ALIBABA_CLOUD_ACCESS_KEY_ID and
ALIBABA_CLOUD_ACCESS_KEY_SECRET (a RAM user allowed fc:InvokeFunction on that function).

A refund is idempotent by its request number (Alipay's out_request_no): running the same
command again refunds nothing more. Without --amount it refunds what is left. Prints each order
as one JSON line; an error prints `error: CODE: message` and exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _target(args: argparse.Namespace) -> tuple[str, str, str, str, str]:
    """(endpoint, service, function, key id, secret)."""
    if args.endpoint:
        key_id = os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_ID", "")
        secret = os.environ.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "")
        if not (args.service and key_id and secret):
            raise SystemExit(
                "orders: --endpoint needs --service and ALIBABA_CLOUD_ACCESS_KEY_ID / "
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
            )
        return args.endpoint, args.service, args.function, key_id, secret
    path = Path(args.cloud)
    if not path.exists():
        raise SystemExit(f"orders: {path} not found: start the local cloud (make dev) first")
    cloud = json.loads(path.read_text())
    return (
        cloud["fcEndpoint"],
        args.service or cloud["ordersServiceName"],
        cloud.get("ordersFunctionName") or args.function,
        cloud["accessKeyId"],
        cloud["accessKeySecret"],
    )


def invoke(args: argparse.Namespace, event: dict[str, Any]) -> Any:
    import fc2

    endpoint, service, function, key_id, secret = _target(args)
    client = fc2.Client(endpoint=endpoint, accessKeyID=key_id, accessKeySecret=secret, Timeout=70)
    answer = json.loads(client.invoke_function(service, function, payload=json.dumps(event)).data)
    if "error" in answer:
        error = answer["error"]
        raise SystemExit(f"error: {error.get('code')}: {error.get('message')}")
    return answer.get("data")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="List, refund and close orders with the operator's credentials.",
        epilog="docs/payments.md, 'Operating'",
    )
    parser.add_argument("--cloud", default=str(ROOT / ".local" / "cloud.json"))
    parser.add_argument("--endpoint", help="a deployed stack's FC endpoint")
    parser.add_argument("--service", help="the orders function's service ({ServiceName}-orders)")
    parser.add_argument("--function", default="orders")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="orders, newest first")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--before", help="list orders older than this order id")
    refund = commands.add_parser("refund", help="refund an order in full or in part")
    refund.add_argument("id")
    refund.add_argument("--request-no", required=True, help="your key for this refund")
    refund.add_argument("--amount", help="yuan, e.g. 1.00 (default: what is left)")
    close = commands.add_parser("close", help="close an unpaid order and its trade")
    close.add_argument("id")
    args = parser.parse_args(argv)
    if args.command == "list":
        event: dict[str, Any] = {"op": "list", "limit": args.limit}
        if args.before:
            event["before"] = args.before
        for order in invoke(args, event):
            print(json.dumps(order, ensure_ascii=False))
        return 0
    if args.command == "refund":
        event = {"op": "refund", "id": args.id, "requestNo": args.request_no}
        if args.amount:
            event["amount"] = args.amount
    else:
        event = {"op": "close", "id": args.id}
    print(json.dumps(invoke(args, event), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
