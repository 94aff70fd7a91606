"""Event functions for the FC contract tests: each shows one runtime behaviour."""

import json
import logging
import os
import sys
import time

_init_calls = 0
_init_request = None


def echo(event, context):
    return event


def fail(event, context):
    raise ValueError("boom: " + event.decode())


def sleepy(event, context):
    if event == b"sleep":
        time.sleep(30)
    return str(os.getpid())


def inspect(event, context):
    names = [
        "GREETING",
        "STACK_INFO",
        "TABLE_NAME",
        "OTS_ENDPOINT",
        "API_SECRET",
        "EXTRA",
        "FC_FUNCTION_NAME",
        "FC_SERVICE_NAME",
        "FC_REGION",
        "FC_ACCOUNT_ID",
        "FC_FUNCTION_HANDLER",
        "FC_FUNCTION_MEMORY_SIZE",
        "FC_QUALIFIER",
        "FC_FUNC_CODE_PATH",
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_SECURITY_TOKEN",
    ]
    return {
        "env": {n: os.environ.get(n) for n in names},
        "cwd": os.getcwd(),
        "sys_path0": sys.path[0],
        "context": {
            "request_id": context.request_id,
            "region": context.region,
            "account_id": context.account_id,
            "credentials": {
                "access_key_id": context.credentials.access_key_id,
                "access_key_secret": context.credentials.access_key_secret,
                "security_token": context.credentials.security_token,
            },
            "function": {
                "name": context.function.name,
                "handler": context.function.handler,
                "memory": context.function.memory,
                "timeout": context.function.timeout,
                "initializer": context.function.initializer,
            },
            "service": {
                "name": context.service.name,
                "log_project": context.service.log_project,
                "log_store": context.service.log_store,
                "qualifier": context.service.qualifier,
            },
        },
    }


def initialize(context):
    global _init_calls, _init_request
    _init_calls += 1
    _init_request = context.request_id
    print("initializing instance")


def broken_initializer(context):
    raise RuntimeError("cannot initialize")


def counter(event, context):
    return json.dumps(
        {"pid": os.getpid(), "init_calls": _init_calls, "init_request": _init_request}
    )


def printer(event, context):
    print("line from print")
    print("line on stderr", file=sys.stderr)
    logging.getLogger("app").info("line from logging")
    os.write(1, b"raw bytes on fd 1\n")  # must not corrupt the runtime's protocol
    return "printed"
