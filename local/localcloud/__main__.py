"""`python -m localcloud` — start the local cloud (what `make dev` runs), or switch its faults.

    python -m localcloud [serve] [--reset] [--state-dir .local] [--template template.yml]
                                 [--parameters local.parameters.json] [--fc-port 9100 ...]
    python -m localcloud fault set alipay down [--api M] [--share 0.5] [--seconds 3] [--code C]
    python -m localcloud fault clear [SERVICE]
    python -m localcloud fault list            (each `fault` command takes --fc-port of the cloud)
    python -m localcloud alipay identity user_id|both|open_id [--app-id A]
    python -m localcloud alipay show           (the Alipay gateway's apps and their modes)
"""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import urllib.request
from pathlib import Path

from .alipay.apps import IDENTITY_MODES
from .cloud import CloudOptions, LocalCloud, Ports, reset_state
from .fc.interpreters import NoMatchingPython

DEFAULTS = Ports()


def _serve(args: argparse.Namespace) -> int:
    options = CloudOptions(
        repo_root=Path(args.repo_root), state_dir=Path(args.state_dir),
        template_path=Path(args.template),
        parameters_file=Path(args.parameters) if args.parameters else None,
        host=args.host,
        ports=Ports(args.fc_port, args.tablestore_port, args.sls_port, args.sts_port,
                    args.alipay_port, args.oss_port, args.ros_port),
        region=args.region,
        alipay_identity=args.alipay_identity,
    )
    if args.reset:
        reset_state(options.resolved().state_dir)
    try:
        cloud = LocalCloud(options).start()
    except NoMatchingPython as exc:  # never run a function on another Python than FC would
        print(f"\nThe local cloud cannot start: {exc}\n", file=sys.stderr, flush=True)
        return 2
    config_path = options.resolved().repo_root / args.client_config
    cloud.write_client_config(config_path)
    config = cloud.client_config()
    rows = [("Function Compute", config["fcEndpoint"]),
            ("  session (HTTP)", config["sessionUrl"]),
            ("Tablestore", f"{config['otsEndpoint']}  instance {config['otsInstance']}"),
            ("Log Service", f"{config['slsEndpoint']}  project {config['slsProject']}"),
            ("STS", config["stsEndpoint"]),
            ("Alipay gateway", config["alipayGateway"]),
            ("Alipay sandbox", config["alipaySandbox"] + "/auth_code"),
            ("OSS (deploy)", cloud.url("oss")),
            ("ROS (deploy)", cloud.url("ros")),
            ("Admin (faults)", config["fcEndpoint"] + "/_localcloud/faults")]
    print("\nLocal cloud running (Ctrl-C stops it)\n")
    for name, value in rows:
        print(f"  {name:<18} {value}")
    for runtime, interpreter in cloud.fc.interpreters.items():
        print(f"  {'Runtime ' + runtime:<18} {interpreter.describe()}")
    print(f"\n  account {config['accountId']}  region {config['region']}")
    print(f"  root key  {config['accessKeyId']} / {config['accessKeySecret']}")
    print(f"  client config written to {args.client_config}\n", flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    print("stopping ...", flush=True)
    cloud.stop()
    return 0


def _alipay(args: argparse.Namespace) -> int:
    base = f"http://{args.host}:{args.fc_port}/_localcloud/alipay"
    if args.action == "identity":
        payload: dict[str, object] = {"mode": args.mode}
        if args.app_id:
            payload["appId"] = args.app_id
        return _call(urllib.request.Request(base + "/identity", json.dumps(payload).encode(),
                                            method="POST",
                                            headers={"Content-Type": "application/json"}), base)
    return _call(urllib.request.Request(base), base)


def _fault(args: argparse.Namespace) -> int:
    base = f"http://{args.host}:{args.fc_port}/_localcloud/faults"
    if args.action == "set":
        payload: dict[str, object] = {"service": args.service, "kind": args.kind,
                                      "share": args.share, "seconds": args.seconds}
        if args.api:
            payload["api"] = args.api
        if args.code:
            payload["code"] = args.code
        req = urllib.request.Request(base, json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    elif args.action == "clear":
        req = urllib.request.Request(base + (f"?service={args.service}" if args.service else ""),
                                     method="DELETE")
    else:
        req = urllib.request.Request(base)
    return _call(req, base)


def _call(req: urllib.request.Request, base: str) -> int:
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            print(json.dumps(json.loads(resp.read()), indent=2))
            return 0
    except urllib.error.HTTPError as exc:
        print(exc.read().decode(), file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot reach the local cloud at {base}: {exc}", file=sys.stderr)
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--fc-port", type=int, default=DEFAULTS.fc)
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="start every emulator (the default)")
    for p in (parser, serve):
        # On `serve`, SUPPRESS keeps a value given before the word from being overwritten.
        d = (lambda value: value) if p is parser else (lambda value: argparse.SUPPRESS)
        p.add_argument("--reset", action="store_true", default=d(False),
                       help="clear all local state first")
        p.add_argument("--repo-root", default=d("."))
        p.add_argument("--state-dir", default=d(".local"))
        p.add_argument("--template", default=d("template.yml"))
        p.add_argument("--parameters", default=d("local.parameters.json"),
                       help="JSON object overriding template parameters (optional file)")
        p.add_argument("--client-config", default=d("client-config/local.json"))
        p.add_argument("--region", default=d("cn-hangzhou"))
        p.add_argument("--tablestore-port", type=int, default=d(DEFAULTS.tablestore))
        p.add_argument("--sls-port", type=int, default=d(DEFAULTS.sls))
        p.add_argument("--sts-port", type=int, default=d(DEFAULTS.sts))
        p.add_argument("--alipay-port", type=int, default=d(DEFAULTS.alipay))
        p.add_argument("--alipay-identity", choices=IDENTITY_MODES, default=d(None),
                       help="how the Alipay gateway names users to the sandbox app: user_id "
                            "(at first start), both, open_id; omitted: the mode it had")
        p.add_argument("--oss-port", type=int, default=d(DEFAULTS.oss))
        p.add_argument("--ros-port", type=int, default=d(DEFAULTS.ros))
    serve.add_argument("--host", default=argparse.SUPPRESS)
    serve.add_argument("--fc-port", type=int, default=argparse.SUPPRESS)

    fault = sub.add_parser("fault", help="switch faults of a running local cloud")
    # Also accepted after `fault` (`fault list --fc-port 9200`); SUPPRESS keeps a value given
    # before `fault` from being overwritten by this parser's default.
    fault.add_argument("--host", default=argparse.SUPPRESS)
    fault.add_argument("--fc-port", type=int, default=argparse.SUPPRESS)
    fault.add_argument("action", choices=["set", "clear", "list"])
    fault.add_argument("service", nargs="?")
    fault.add_argument("kind", nargs="?")
    fault.add_argument("--api")
    fault.add_argument("--share", type=float, default=1.0)
    fault.add_argument("--seconds", type=float, default=0.0)
    fault.add_argument("--code")

    alipay = sub.add_parser("alipay", help="show or switch the Alipay gateway's identity modes")
    alipay.add_argument("--host", default=argparse.SUPPRESS)
    alipay.add_argument("--fc-port", type=int, default=argparse.SUPPRESS)
    alipay.add_argument("action", choices=["identity", "show"])
    alipay.add_argument("mode", nargs="?", choices=IDENTITY_MODES)
    alipay.add_argument("--app-id", help="the app to switch (default: the sandbox app)")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "fault":
        if args.action == "set" and not (args.service and args.kind):
            parser.error("fault set needs SERVICE and KIND")
        return _fault(args)
    if args.command == "alipay":
        if args.action == "identity" and not args.mode:
            parser.error(f"alipay identity needs a MODE: {', '.join(IDENTITY_MODES)}")
        return _alipay(args)
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
