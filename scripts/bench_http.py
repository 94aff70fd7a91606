"""Per-request latency of the local cloud's HTTP front end on loopback, through a kept-alive
`requests.Session` (how the SDKs call it). Prints the median and 90th percentile. A figure near
40 ms would mean Nagle's algorithm is back (a reply written in two segments waiting for the
client's delayed ACK).

    .venv/bin/python scripts/bench_http.py [--requests 500]
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests

from localcloud.httpshell import HttpRequest, HttpResponse, HttpServer


def app(request: HttpRequest) -> HttpResponse:
    return HttpResponse(200, b"x" * 2000, (("Content-Type", "application/json"),))


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--requests", type=int, default=500, help="requests timed (default: 500)")
    args = parser.parse_args()
    server = HttpServer(app).start()
    try:
        http = requests.Session()
        for _ in range(20):  # warm up the connection
            http.post(server.url + "/x", data=b"a" * 1000)
        times = []
        for _ in range(args.requests):
            started = time.perf_counter()
            http.post(server.url + "/x", data=b"a" * 1000)
            times.append((time.perf_counter() - started) * 1000)
    finally:
        server.stop()
    times.sort()
    print(
        f"requests {len(times)}  median {statistics.median(times):.2f} ms  "
        f"p90 {times[int(len(times) * 0.9)]:.2f} ms"
    )


if __name__ == "__main__":
    main()
