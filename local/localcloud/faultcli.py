"""`python -m localcloud fault ...`: switch the faults of the running local cloud through its
admin endpoint, and print only what changed (the whole catalogue only on `fault kinds`)."""

from __future__ import annotations

import argparse
from typing import Any

from .admin import known_fault_kinds
from .faults import ALIASES, SERVICES
from .running import admin_call


def catalogue() -> str:
    """Every service's fault kinds, one per line, then the old names still accepted: `fault
    kinds` and `fault set --help`."""
    lines = []
    for service, kinds in known_fault_kinds().items():
        lines.append(f"{service}:")
        lines += [f"  {kind:<15} {description}" for kind, description in kinds.items()]
    lines.append(
        "old names, still accepted: "
        + ", ".join(f"{old} = {kind}" for old, kind in sorted(ALIASES.items()))
    )
    return "\n".join(lines)


def describe(fault: dict[str, Any]) -> str:
    """One fault as the CLI spells it: `tablestore server_busy --api PutRow --share 0.5`."""
    words = [str(fault["service"]), str(fault["kind"])]
    if fault.get("api"):
        words += ["--api", str(fault["api"])]
    if fault.get("share", 1.0) != 1.0:
        words += ["--share", f"{fault['share']:g}"]
    if fault.get("seconds"):
        words += ["--seconds", f"{fault['seconds']:g}"]
    if fault.get("code"):
        words += ["--code", str(fault["code"])]
    return " ".join(words)


def run(args: argparse.Namespace, fc_endpoint: str) -> list[str]:
    """Carry out `fault ACTION ...` against the cloud at `fc_endpoint`; the lines to print."""
    if args.action == "kinds":
        return [catalogue()]
    board = fc_endpoint + "/_localcloud/faults"
    if args.action == "set":
        payload: dict[str, Any] = {
            "service": args.service,
            "kind": args.kind,
            "share": args.share,
            "seconds": args.seconds,
        }
        if args.api:
            payload["api"] = args.api
        if args.code:
            payload["code"] = args.code
        admin_call(board, "POST", payload)
        return [f"fault set: {describe(payload)}"]
    if args.action == "clear":
        before = admin_call(board, "GET")["faults"]
        query = f"?service={args.service}" if args.service else ""
        after = admin_call(board + query, "DELETE")["faults"]
        cleared = [f for f in before if f not in after]
        if not cleared:
            return ["no fault was set" + (f" on {args.service}" if args.service else "")]
        return [f"fault cleared: {describe(f)}" for f in cleared]
    state = admin_call(board, "GET")
    lines = [f"fault on: {describe(f)}" for f in state["faults"]] or ["no fault is set"]
    injected = state.get("injected") or {}
    if injected:
        lines.append(
            "injected since start: "
            + ", ".join(f"{name} {count}" for name, count in sorted(injected.items()))
        )
    return lines


def add_parser(
    sub: Any, formatter: type[argparse.HelpFormatter], common: argparse.ArgumentParser
) -> None:
    fault = sub.add_parser(
        "fault",
        help="switch faults of the running local cloud (found from its cloud.json)",
        description="Switch faults of the running local cloud. The cloud is found from the "
        "cloud.json it wrote in --state-dir, whatever its ports.",
        formatter_class=formatter,
        parents=[common],
    )
    actions = fault.add_subparsers(dest="action", required=True, metavar="ACTION")
    kinds_text = "services and their fault kinds:\n" + catalogue()
    put = actions.add_parser(
        "set",
        help="set one fault (replaces the fault of the same service and --api)",
        description="Set one fault on a service; it stays until cleared or the cloud stops.",
        epilog=kinds_text,
        formatter_class=formatter,
        parents=[common],
    )
    put.add_argument(
        "service",
        choices=SERVICES,
        metavar="SERVICE",
        help=f"the service to break: {', '.join(SERVICES)}",
    )
    put.add_argument("kind", metavar="KIND", help="what goes wrong (see the list below)")
    put.add_argument(
        "--api",
        default=None,
        help="hit only this API (e.g. PutRow, InvokeFunction) (default: every API)",
    )
    put.add_argument(
        "--share", type=float, default=1.0, help="fraction of the matching requests hit, in (0, 1]"
    )
    put.add_argument(
        "--seconds", type=float, default=0.0, help="delay of the slow and timeout kinds"
    )
    put.add_argument(
        "--code", default=None, help="error code to answer with (default: the kind's usual one)"
    )
    clear = actions.add_parser(
        "clear",
        help="clear faults (all, or one service's)",
        description="Clear every fault, or one service's.",
        formatter_class=formatter,
        parents=[common],
    )
    clear.add_argument(
        "service",
        nargs="?",
        choices=SERVICES,
        default=None,
        metavar="SERVICE",
        help=f"only this service's faults: {', '.join(SERVICES)} (default: every service)",
    )
    actions.add_parser(
        "list",
        help="the faults set now and how many were injected",
        description="List the faults set now and count what was injected.",
        formatter_class=formatter,
        parents=[common],
    )
    actions.add_parser(
        "kinds",
        help="every service's fault kinds (no running cloud needed)",
        description="Print every service's fault kinds.",
        formatter_class=formatter,
        parents=[common],
    )
