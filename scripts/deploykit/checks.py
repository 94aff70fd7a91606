"""Every check a deploy can make before it uploads or creates anything, each returning the
problems it found (never raising), so that one run names them all:

- the parameters against the template's own declarations (Type, AllowedValues, AllowedPattern,
  Min/MaxLength, Min/MaxValue, and a value for each parameter without a Default), with the
  checker the local ROS refuses a stack with (localcloud.template.parameters);
- what each function would make of the parameters its environment takes (miniapp.config's
  Settings.from_env, the functions' own reader, which the template's constraints do not cover:
  the certificate serial numbers in certificate mode, the idle time within the lifetime ...);
- the secrets and Alipay's key or certificate, with the parsers the functions use.

Messages name the parameter and never quote a secret."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from .inputs import SECRET_PARAMETERS


def secret_problems(values: Mapping[str, str], where: str) -> dict[str, str]:
    """Secrets the functions would refuse at their first call, by name. A stack that deploys
    but cannot log anyone in is worse than a deploy that stops."""
    from miniapp.adapters.keys import KeyFormatError, private_key_pem
    from miniapp.crypto import DATA_KEY_BYTES, parse_data_key, parse_key_ring

    problems = {}
    if "AlipayAppPrivateKey" in values:
        try:
            private_key_pem(values["AlipayAppPrivateKey"])
        except KeyFormatError as exc:
            problems["AlipayAppPrivateKey"] = (
                f"AlipayAppPrivateKey in {where}: {exc}; give the app's RSA2 private "
                f"key (PEM, or the bare base64 Alipay's tools give)"
            )
    if "DataKey" in values and parse_key_ring(values["DataKey"]) is None:
        problems["DataKey"] = (
            f"DataKey in {where}: not a key ring of {DATA_KEY_BYTES}-byte keys in "
            f"base64 (id:key entries joined by commas, or one bare key); make one "
            f"with `openssl rand -base64 32`, rotate with --rotate-data-key (and "
            f"keep old keys: dropping one makes the tokens it sealed unreadable)"
        )
    if "HashKey" in values and parse_data_key(values["HashKey"]) is None:
        problems["HashKey"] = (
            f"HashKey in {where}: not {DATA_KEY_BYTES} bytes in base64; make one "
            f"with `openssl rand -base64 32` (and keep it: a new one changes every "
            f"userHash in the logs and ends open list cursors)"
        )
    return problems


def parameter_problems(template: Mapping[str, Any], values: Mapping[str, str]) -> list[str]:
    """The values against the template's declarations, every problem in declaration order.
    A missing secret is left to `inputs.read_secrets`, which says where secrets go."""
    from localcloud.template.parameters import MissingParameter
    from localcloud.template.parameters import parameter_problems as problems_of

    declared = template.get("Parameters") or {}
    problems = []
    for error in problems_of(declared, {k: v for k, v in values.items() if k in declared}):
        name = error.path.split(".")[1] if error.path.startswith("Parameters.") else error.path
        if isinstance(error, MissingParameter):
            if name not in SECRET_PARAMETERS:
                problems.append(
                    f"{name}: missing (it has no Default); set it in the parameters file "
                    f"or with --parameter {name}=VALUE"
                )
        else:
            problems.append(f"{name}: {error.message}")
    return problems


def function_problems(
    template: Mapping[str, Any], values: Mapping[str, str], functions: Mapping[str, str]
) -> list[str]:
    """What each function's own configuration reader says of the variables the template sets
    from a parameter (`{Ref: Parameter}`) or to a plain value. `functions` maps logical ids to
    package names (`session`, `db`: the functions Settings knows). A problem is reported by
    the parameter behind its variable; one about a variable no parameter sets (a secret's name,
    a role's ARN: ROS fills them in) is not the deployer's to fix and is left out."""
    from miniapp.config import SECRET_VARIABLES, ConfigError, Function, Settings

    found: dict[str, list[str]] = {}  # problem -> the functions that found it
    for logical_id, function in functions.items():
        if function not in SECRET_VARIABLES:
            continue
        node = template["Resources"][logical_id].get("Properties") or {}
        variables = node.get("EnvironmentVariables") or {}
        env: dict[str, str] = {}
        parameter_of: dict[str, str] = {}
        for variable, value in variables.items():
            if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in values:
                env[variable] = str(values[value["Ref"]])
                parameter_of[variable] = value["Ref"]
            elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
                env[variable] = str(value)
        try:
            Settings.from_env(env, cast(Function, function))
        except ConfigError as exc:
            for problem in exc.problems:
                if problem.split(" ", 1)[0] not in parameter_of:
                    continue
                for name, parameter in sorted(parameter_of.items(), key=lambda p: -len(p[0])):
                    problem = problem.replace(name, parameter)
                found.setdefault(problem, []).append(function)
    problems = []
    for problem, by in found.items():
        whose = f"{by[0]} function's" if len(by) == 1 else f"{' and '.join(by)} functions'"
        problems.append(f"{problem} (the {whose} check)")
    return problems


def alipay_key_problems(values: Mapping[str, str]) -> list[str]:
    """Alipay's public key (key mode) or public key certificate (certificate mode), read as the
    session function reads it (miniapp.adapters.alipay)."""
    from miniapp.adapters.keys import KeyFormatError, certificate_pem, public_key_pem

    text, mode = values.get("AlipayPublicKey"), values.get("AlipaySignMode", "key")
    if not text or mode not in ("key", "cert"):
        return []  # missing, or a mode the template refuses: reported as such
    try:
        (certificate_pem if mode == "cert" else public_key_pem)(text)
    except KeyFormatError as exc:
        wanted = (
            "Alipay's public key certificate, alipayCertPublicKey_RSA2.crt (PEM or bare base64)"
            if mode == "cert"
            else "Alipay's RSA2 public key for this app (PEM or bare base64)"
        )
        return [f"AlipayPublicKey ({mode} mode): {exc}; give {wanted}"]
    return []


def bucket_problems(name: str) -> list[str]:
    import oss2

    if oss2.is_valid_bucket_name(name):
        return []
    return [
        f"bucket name {name!r} is not valid for OSS: 3-63 lower-case letters, digits and '-', "
        f"starting and ending with a letter or digit; pass a valid --bucket"
    ]
