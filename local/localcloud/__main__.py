"""`python -m localcloud` — start the local cloud (what `make dev` runs), switch its faults, read
its logs. `python -m localcloud --help` (and `COMMAND --help`) says every option and its default.

    python -m localcloud [serve] [--reset] [--base-port 9100] [--fc-port N ...]
    python -m localcloud fault set tablestore server_busy [--api PutRow] [--share 0.5]
    python -m localcloud fault clear [SERVICE] | fault list | fault kinds
    python -m localcloud alipay identity user_id|both|open_id [--app-id A] | alipay show
    python -m localcloud alipay pay TRADE_NO USER_ID [--result cancel] | alipay notifies
    python -m localcloud clock advance SECONDS
    python -m localcloud logs [--follow] [--since MINUTES] [QUERY]

The commands other than `serve` find the running cloud from `{state-dir}/cloud.json`.
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

from . import alipaycli, faultcli, logcli
from .alipay.apps import IDENTITY_MODES
from .cloud import (
    DEFAULT_BASE_PORT,
    SERVICE_LABELS,
    CloudOptions,
    LocalCloud,
    Ports,
    PortUnavailable,
    reset_state,
)
from .devstack import DEV_STACK, DevStackFailed
from .fc.interpreters import NoMatchingPython
from .running import (
    AdminCallFailed,
    NoRunningCloud,
    admin_call,
    is_answering,
    read_cloud_file,
    running_cloud,
)

PROG = "python -m localcloud"
DEFAULT_STATE_DIR = ".local"
DEFAULT_REPO_ROOT = "."


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Defaults after each option, and epilogs (the fault catalogue) kept as written. An option
    whose default is "not given" (None, False, "") or that says its default itself keeps its
    own help as written."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, "") or "(default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """Errors in one line, without the usage block: the line names the option and the value."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"localcloud: {message} (see {self.prog} --help)\n")


SERVICE_COUNT = len(Ports.services())
HIGHEST_BASE = 65535 - (SERVICE_COUNT - 1)


def port(text: str) -> int:
    """A service's own port: 1-65535, or 0 for an ephemeral one."""
    value = _integer(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port: choose 1-65535 (0: ephemeral)")
    return value


def base_port(text: str) -> int:
    """The first of the seven consecutive ports, so the last one still exists."""
    value = _integer(text)
    if not 0 <= value <= HIGHEST_BASE:
        raise argparse.ArgumentTypeError(
            f"{value} leaves no room for the {SERVICE_COUNT} services on ports {value}-"
            f"{value + SERVICE_COUNT - 1}: choose 1-{HIGHEST_BASE} (0: every port ephemeral)"
        )
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _serve(args: argparse.Namespace) -> int:
    options = CloudOptions(
        repo_root=Path(args.repo_root),
        state_dir=Path(args.state_dir),
        template_path=Path(args.template),
        parameters_file=Path(args.parameters) if args.parameters else None,
        host=args.host,
        ports=Ports.from_base(
            args.base_port, **{name: getattr(args, f"{name}_port") for name in Ports.services()}
        ),
        region=args.region,
        alipay_identity=args.alipay_identity,
        reload=not args.no_reload,
        dev_stack=not args.direct,
    )
    state_dir = options.resolved().state_dir
    if args.reset:
        reset_state(state_dir)
    else:
        _refuse_a_second_cloud(state_dir)
    client_config = args.client_config or client_config_for(Path(args.state_dir))
    config_path = options.resolved().repo_root / client_config
    _refuse_another_clouds_client_config(config_path)
    # Before starting: cloud.json appears inside start(), and a Ctrl-C (or a tool that saw the
    # file) from then on must stop the cloud cleanly, not kill it half-way with a traceback.
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        cloud = LocalCloud(options, report=lambda line: print(line, flush=True)).start()
    except PortUnavailable as exc:
        print(f"localcloud: {exc}", file=sys.stderr)
        return 2
    except NoMatchingPython as exc:  # never run a function on another Python than FC would
        print(f"\nThe local cloud cannot start: {exc}\n", file=sys.stderr, flush=True)
        return 2
    except DevStackFailed as exc:
        print(f"localcloud: make dev's stack did not deploy: {exc}", file=sys.stderr)
        return 1
    cloud.write_client_config(config_path)
    cloud_file = cloud.cloud_file
    runtimes = [(runtime, python.describe()) for runtime, python in cloud.fc.interpreters.items()]
    _print_banner(cloud.cloud_config(), runtimes, config_path, cloud_file, options)
    # One line per invocation, as it finishes: what `make dev` shows while you click around.
    cloud.fc.invocations.subscribe(
        lambda invocation: print(
            invocation.line(stack=cloud.deployment.stack_of(invocation.service)), flush=True
        )
    )

    stop.wait()
    print("stopping ...", flush=True)
    cloud.stop()
    return 0


def _refuse_a_second_cloud(state_dir: Path) -> None:
    """Two clouds on one state folder would share its SQLite files and its cloud.json."""
    try:
        config = read_cloud_file(state_dir)
    except NoRunningCloud:
        return
    if is_answering(config, timeout=1.0):
        print(
            f"localcloud: a local cloud already runs from {state_dir} at "
            f"{config['fcEndpoint']}; stop it first, or give this one another --state-dir",
            file=sys.stderr,
        )
        raise SystemExit(2)


def client_config_for(state_dir: Path) -> Path:
    """Each state dir's cloud has its own client config: `.local` writes client-config/local.json,
    `.local-b` local-b.json, any other `x` local-x.json (a stack name for `make client-config`)."""
    name = state_dir.name.lstrip(".") or "local"
    return Path("client-config") / f"{name if name.startswith('local') else 'local-' + name}.json"


def _refuse_another_clouds_client_config(path: Path) -> None:
    """A client config whose endpoint answers is a running cloud's: overwriting it would point
    that cloud's mini program at this one, and at nothing once this one stops."""
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if (
        isinstance(config, dict)
        and isinstance(config.get("fcEndpoint"), str)
        and is_answering(config, timeout=1.0)
    ):
        print(
            f"localcloud: {path} belongs to the local cloud running at {config['fcEndpoint']}; "
            f"stop it first, or give this one another --client-config",
            file=sys.stderr,
        )
        raise SystemExit(2)


def _shown(path: Path, root: Path) -> Path:
    return path.relative_to(root) if path.is_relative_to(root) else path


def _python_command(root: Path) -> str:
    """How to run this Python from the repository: the venv's path (not `python`, which outside
    the venv lacks the packages)."""
    return str(_shown(Path(sys.executable), root))


def _print_banner(
    config: dict[str, str],
    runtimes: list[tuple[str, str]],
    client_config: Path,
    cloud_file: Path,
    options: CloudOptions,
) -> None:
    rows = [
        ("Function Compute", config["fcEndpoint"]),
        ("  session (HTTP)", config["sessionUrl"]),
        ("Tablestore", f"{config['otsEndpoint']}  instance {config['otsInstance']}"),
        (
            "Log Service",
            f"{config['slsEndpoint']}  project {config['slsProject']}  "
            f"logstore {config['slsLogstore']}",
        ),
        ("STS", config["stsEndpoint"]),
        ("Alipay gateway", config["alipayGateway"]),
        ("Alipay sandbox", config["alipaySandbox"] + "/auth_code, /pay"),
        ("OSS (deploy)", config["ossEndpoint"]),
        ("ROS (deploy)", config["rosEndpoint"]),
        ("Admin (faults)", config["fcEndpoint"] + "/_localcloud/faults"),
        ("Console", config["consoleUrl"]),
    ]
    root = options.resolved().repo_root
    shown = _shown(cloud_file, root)
    client = _shown(client_config, root)
    print("\nLocal cloud running (Ctrl-C stops it)\n")
    for name, value in rows:
        print(f"  {name:<18} {value}")
    for runtime, interpreter in runtimes:
        print(f"  {'Runtime ' + runtime:<18} {interpreter}")
    served = (
        f"ROS stack {DEV_STACK!r}, deployed by make deploy's script"
        if options.dev_stack
        else "build/ directly (--direct)"
    )
    print(f"  {'Functions from':<18} {served}")
    print(f"\n  account {config['accountId']}  region {config['region']}")
    # The secret stays in the file: a terminal is shared, scrolled back and screenshotted.
    print(f"  root key  {config['accessKeyId']} (secret in {shown})")
    print(
        f"  client config written to {client} (the mini program's: "
        f"make client-config STACK={client.stem} makes client/config.js from it)"
    )
    print(f"  developer config written to {shown} (the tools' and the demo's: it holds the keys)")
    state = (
        "" if options.state_dir == Path(DEFAULT_STATE_DIR) else f" --state-dir {options.state_dir}"
    )
    print(
        f'  logs: make logs ARGS="--follow{state}", or '
        f"{_python_command(root)} -m localcloud logs --follow{state} [QUERY]\n"
    )
    print(
        "  invocations (time, [stack/]function, [collection.]op, outcome, latency, cold/warm):",
        flush=True,
    )


def _fault(args: argparse.Namespace) -> int:
    try:
        fc_endpoint = (
            "" if args.action == "kinds" else running_cloud(_state_dir(args))["fcEndpoint"]
        )
        for line in faultcli.run(args, fc_endpoint):
            print(line)
    except (NoRunningCloud, AdminCallFailed) as exc:
        print(f"localcloud: {exc}", file=sys.stderr)
        return 1
    return 0


def _alipay(args: argparse.Namespace) -> int:
    try:
        print(alipaycli.run(args, running_cloud(_state_dir(args))))
    except (NoRunningCloud, AdminCallFailed) as exc:
        print(f"localcloud: {exc}", file=sys.stderr)
        return 1
    return 0


def _clock(args: argparse.Namespace) -> int:
    try:
        endpoint = running_cloud(_state_dir(args))["fcEndpoint"]
        now = admin_call(endpoint + "/_localcloud/clock", "POST", {"advance": args.seconds})
    except (NoRunningCloud, AdminCallFailed) as exc:
        print(f"localcloud: {exc}", file=sys.stderr)
        return 1
    moment = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now["now"]))
    print(
        f"local clock advanced {args.seconds:g} s to {moment}; the timers and notifies due by "
        f"then have run"
    )
    return 0


def _logs(args: argparse.Namespace) -> int:
    try:
        logcli.run(args, running_cloud(_state_dir(args)))
    except (NoRunningCloud, logcli.LogsFailed) as exc:
        print(f"localcloud: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _state_dir(args: argparse.Namespace) -> Path:
    return (Path(args.repo_root) / args.state_dir).resolve()


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=PROG,
        formatter_class=HelpFormatter,
        description="The local cloud: emulators of Function Compute, Tablestore, Log Service, "
        "STS, the Alipay gateway, OSS and ROS that the real SDKs talk to. With no "
        "command (or `serve`) it starts them; `fault` switches faults of the running "
        "cloud, `logs` prints its logstore's records.",
    )
    # Options shared by every command, accepted before or after the command word. On a
    # subcommand their default is SUPPRESS so a value given before the word is not overwritten;
    # the help says the default in words instead.
    common = Parser(add_help=False)
    for p, main in ((parser, True), (common, False)):
        p.add_argument(
            "--repo-root",
            default=DEFAULT_REPO_ROOT if main else argparse.SUPPRESS,
            help="the repository (template, build/, client-config/ are under it)"
            + ("" if main else f" (default: {DEFAULT_REPO_ROOT})"),
        )
        p.add_argument(
            "--state-dir",
            default=DEFAULT_STATE_DIR if main else argparse.SUPPRESS,
            help="folder of the cloud's state and of the cloud.json it writes, "
            "relative to --repo-root" + ("" if main else f" (default: {DEFAULT_STATE_DIR})"),
        )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="start every emulator (the default command)",
        description="Start every emulator and keep running until Ctrl-C.",
        formatter_class=HelpFormatter,
        parents=[common],
    )
    for p, main in ((parser, True), (serve, False)):
        _add_serve_options(p, main)
    faultcli.add_parser(sub, HelpFormatter, common)
    alipaycli.add_parser(sub, HelpFormatter, common)
    logcli.add_parser(sub, HelpFormatter, common)
    clock = sub.add_parser(
        "clock",
        help="move the local clock forward",
        description="Move the running cloud's clock (expiry, timer triggers, "
        "Alipay notify retries) forward; it never goes back.",
        formatter_class=HelpFormatter,
        parents=[common],
    )
    actions = clock.add_subparsers(dest="action", required=True, metavar="ACTION")
    advance = actions.add_parser(
        "advance",
        help="move it SECONDS forward",
        description="Move the clock SECONDS forward and run what became due.",
        formatter_class=HelpFormatter,
        parents=[common],
    )
    advance.add_argument(
        "seconds", type=float, metavar="SECONDS", help="how far to move it, in seconds"
    )
    return parser


def _add_serve_options(p: argparse.ArgumentParser, main: bool) -> None:
    def option(*flags: str, default: object, help: str, **kwargs: Any) -> None:
        if main:
            p.add_argument(*flags, default=default, help=help, **kwargs)
        else:
            shown = "" if default is None or default is False else f" (default: {default})"
            p.add_argument(*flags, default=argparse.SUPPRESS, help=help + shown, **kwargs)

    option(
        "--reset",
        action="store_true",
        default=False,
        help="forget all local state (tables, logs, users, keys) before starting "
        "(default: keep it)",
    )
    option(
        "--host",
        default="127.0.0.1",
        help="address every service listens on; anything but loopback exposes the root key's "
        "power to the network",
    )
    option(
        "--base-port",
        type=base_port,
        default=DEFAULT_BASE_PORT,
        metavar="PORT",
        help="port of Function Compute; the other services take the next ones in the order "
        + ", ".join(SERVICE_LABELS[s] for s in Ports.services())
        + " (0: every port ephemeral)",
    )
    for index, name in enumerate(Ports.services()):
        label = SERVICE_LABELS[name]
        option(
            f"--{name}-port",
            type=port,
            default=None,
            metavar="PORT",
            help=f"port of {label}, overriding --base-port (default: base port"
            + (f" + {index})" if index else ")"),
        )
    option(
        "--alipay-identity",
        choices=IDENTITY_MODES,
        default=None,
        help="how the Alipay gateway names users to the sandbox app: user_id (at first "
        "start), both, open_id (default: the mode it had)",
    )
    option(
        "--direct",
        action="store_true",
        default=False,
        help="run the functions from build/ directly (default: deploy the template as the "
        f"ROS stack '{DEV_STACK}' with make deploy's script, the packages uploaded to "
        "the local OSS, so what runs is what make deploy would ship)",
    )
    option(
        "--no-reload",
        action="store_true",
        default=False,
        help="do not watch functions/ and shared/ (default: on an edit, rebuild the packages "
        "and recycle the instances)",
    )
    option("--template", default="template.yml", help="the ROS template to run")
    option(
        "--parameters",
        default="local.parameters.json",
        help="JSON object overriding template parameters (used if the file exists)",
    )
    option(
        "--client-config",
        default=None,
        help="where to write what a mini program needs (no secrets) (default: "
        "client-config/local.json for the state dir .local, client-config/local-NAME"
        ".json for another state dir NAME)",
    )
    option("--region", default="cn-hangzhou", help="region the cloud claims to be")


def unknown_option(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """The first option no command knows, named with the nearest known one. Without this,
    argparse would take `--base-prot 9800` as the command `9800`, and name only that."""
    known = {
        flag for p in parsers(parser) for action in p._actions for flag in action.option_strings
    }
    for token in argv:
        if token == "--":
            return None
        flag = token.split("=", 1)[0]
        if (
            not flag.startswith("-")
            or flag == "-"
            or _is_number(flag)
            or any(k.startswith(flag) for k in known)
        ):  # argparse takes unique prefixes
            continue
        near = difflib.get_close_matches(flag, sorted(known), n=1)
        return f"unknown option {flag}" + (f"; did you mean {near[0]}?" if near else "")
    return None


def parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """`parser` and every parser of its commands, depth first."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += parsers(child)
    return found


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # The tablestore SDK warns at import that its C++ codec is missing; the emulators only use
    # its pure-Python parts, and the warning would stand above every help and fault output.
    logging.getLogger("tablestore").setLevel(logging.ERROR)
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    unknown = unknown_option(parser, argv)
    if unknown:
        parser.error(unknown)
    args = parser.parse_args(argv)
    if args.command == "fault":
        return _fault(args)
    if args.command == "logs":
        return _logs(args)
    if args.command == "alipay":
        return _alipay(args)
    if args.command == "clock":
        return _clock(args)
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
