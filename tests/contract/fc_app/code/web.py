"""WSGI functions for the HTTP trigger contract tests."""

import json


def app(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    context = environ["fc.context"]
    answer = {
        "method": environ["REQUEST_METHOD"],
        "path": environ["PATH_INFO"],
        "query": environ["QUERY_STRING"],
        "content_type": environ.get("CONTENT_TYPE"),
        "content_length": environ.get("CONTENT_LENGTH"),
        "remote_addr": environ.get("REMOTE_ADDR"),
        "custom_header": environ.get("HTTP_X_CUSTOM"),
        "request_uri": environ.get("fc.request_uri"),
        "request_id": context.request_id,
        "function": context.function.name,
        "body": body.decode("utf-8"),
    }
    status = "201 Created" if environ["REQUEST_METHOD"] == "POST" else "200 OK"
    start_response(
        status,
        [
            ("Content-Type", "application/json"),
            ("X-Answer", "yes"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ],
    )
    return [json.dumps(answer).encode("utf-8")]


def broken(environ, start_response):
    raise KeyError("no such thing")
