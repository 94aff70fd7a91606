"""A rendezvous for concurrency tests: each call leaves a mark in a shared folder and waits
until `n` marks exist (or 8 s pass), then reports its pid and how many marks it saw."""

import json
import os
import time
import uuid


def handler(event, context):
    args = json.loads(event)
    folder = args["dir"]
    open(os.path.join(folder, f"{os.getpid()}-{uuid.uuid4().hex}"), "w").close()
    deadline = time.time() + 8
    while len(os.listdir(folder)) < args["n"] and time.time() < deadline:
        time.sleep(0.02)
    return json.dumps({"pid": os.getpid(), "saw": len(os.listdir(folder))})
