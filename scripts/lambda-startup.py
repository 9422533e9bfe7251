#!/usr/bin/env python3
"""Measure the cold start of a Rust Lambda binary against a fake Lambda Runtime API.

For each run: start a fresh process of BINARY with the Lambda environment pointing at a fake
Runtime API on 127.0.0.1, and measure

  * t_next: from just before the spawn to the arrival of the first
    `GET /2018-06-01/runtime/invocation/next` (the end of the function's init phase);
  * t_resp: from just before the spawn to the arrival of the
    `POST /2018-06-01/runtime/invocation/<id>/response` for the one event it is given.

The event is an API Gateway REST proxy event for `GET /health` (--event api) or
`{"Records":[]}` (--event fanout; a DynamoDB Streams batch with no records). After the response
the process is killed. Prints the response body of the first run, then median/p90/min/max of
both times over N runs.

Python 3 standard library only.

    python3 scripts/lambda-startup.py --event api    target/release/timeline-api
    python3 scripts/lambda-startup.py --event fanout target/release/timeline-fanout -n 50

`make lambda-startup` builds both release binaries and runs both.
"""

import argparse
import http.server
import json
import math
import shlex
import os
import socketserver
import statistics
import subprocess
import sys
import threading
import time

NEXT_PATH = "/2018-06-01/runtime/invocation/next"
INVOCATION_PREFIX = "/2018-06-01/runtime/invocation/"
INIT_ERROR_PATH = "/2018-06-01/runtime/init/error"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:x"

CURSOR_SECRET = "0123456789abcdef0123456789abcdef01234567"  # 40 characters
assert len(CURSOR_SECRET) == 40

API_EVENT = {
    "resource": "/health",
    "path": "/health",
    "httpMethod": "GET",
    "headers": {"Accept": "application/json", "Host": "abc.execute-api.us-east-1.amazonaws.com"},
    "multiValueHeaders": {
        "Accept": ["application/json"],
        "Host": ["abc.execute-api.us-east-1.amazonaws.com"],
    },
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": None,
    "requestContext": {
        "accountId": "123456789012",
        "resourceId": "abc123",
        "stage": "prod",
        "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "identity": {"sourceIp": "203.0.113.7", "userAgent": "lambda_startup.py"},
        "resourcePath": "/health",
        "httpMethod": "GET",
        "apiId": "1234567890",
        "protocol": "HTTP/1.1",
        "path": "/prod/health",
        "requestTimeEpoch": 1700000000000,
    },
    "body": None,
    "isBase64Encoded": False,
}
FANOUT_EVENT = {"Records": []}
EVENTS = {"api": API_EVENT, "fanout": FANOUT_EVENT}


def lambda_env(port):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TIMELINE_"))}
    env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            "AWS_LAMBDA_FUNCTION_NAME": "x",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_FUNCTION_VERSION": "1",
            "AWS_LAMBDA_LOG_STREAM_NAME": "s",
            "AWS_LAMBDA_LOG_GROUP_NAME": "g",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_EC2_METADATA_DISABLED": "true",
            "TIMELINE_DYNAMODB_ENDPOINT": "http://127.0.0.1:1",
            "TIMELINE_REDIS_URL": "redis://127.0.0.1:1",
            "TIMELINE_CURSOR_SECRET": CURSOR_SECRET,
        }
    )
    return env


class Run:
    """What one process did, as seen by the fake Runtime API. Times are perf_counter() values."""

    def __init__(self, request_id, event_body):
        self.request_id = request_id
        self.event_body = event_body
        self.t_spawn = None
        self.t_next = None
        self.t_resp = None
        self.response_body = None
        self.error = None  # (path, body) of an /error or /init/error POST
        self.next_calls = 0
        self.lock = threading.Lock()
        self.done = threading.Event()  # response or error arrived
        self.finished = threading.Event()  # the run is over: park no more requests


class FakeRuntimeApi(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as hyper expects
    server_version = "FakeLambdaRuntime/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)
        self.wfile.flush()

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            return self.rfile.read(length)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def do_GET(self):
        now = time.perf_counter()
        run = self.server.current
        if self.path != NEXT_PATH or run is None:
            self._reply(404, b'{"errorMessage":"not found"}', {"Content-Type": "application/json"})
            return
        with run.lock:
            run.next_calls += 1
            first = run.next_calls == 1
            if first:
                run.t_next = now
        if not first:
            # A second poll: the event was handled. Park it until the run is over, as Lambda
            # does while the environment is frozen, then drop the connection.
            run.finished.wait(30)
            self.close_connection = True
            return
        deadline_ms = int(time.time() * 1000) + 30_000
        self._reply(
            200,
            run.event_body,
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": run.request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                "Lambda-Runtime-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            },
        )

    def do_POST(self):
        now = time.perf_counter()
        body = self._read_body()
        run = self.server.current
        ok = b'{"status":"OK"}'
        if run is None:
            self._reply(202, ok, {"Content-Type": "application/json"})
            return
        if self.path == f"{INVOCATION_PREFIX}{run.request_id}/response":
            with run.lock:
                if run.t_resp is None:
                    run.t_resp = now
                    run.response_body = body
            self._reply(202, ok, {"Content-Type": "application/json"})
            run.done.set()
        elif self.path == INIT_ERROR_PATH or self.path.endswith("/error"):
            with run.lock:
                run.error = (self.path, body)
            self._reply(202, ok, {"Content-Type": "application/json"})
            run.done.set()
        else:
            self._reply(404, b'{"errorMessage":"not found"}', {"Content-Type": "application/json"})


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    current = None

    def handle_error(self, request, client_address):
        pass  # a killed process drops its connections: broken pipes are expected


def one_run(binary, event_body, index, timeout, log, prefix=(), extra_env=None):
    """One process against its own fake Runtime API (a fresh port: a request that the previous
    process sent just before it was killed can never be taken for this one's)."""
    run = Run(f"req-{os.getpid()}-{index}", event_body)
    server = Server(("127.0.0.1", 0), FakeRuntimeApi)
    server.current = run
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    env = lambda_env(server.server_address[1])
    env.update(extra_env or {})
    run.t_spawn = time.perf_counter()
    proc = subprocess.Popen([*prefix, binary], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + timeout
        while not run.done.is_set():
            if proc.poll() is not None:
                break
            if time.monotonic() > deadline:
                break
            run.done.wait(0.005)
        exit_code = proc.poll()
    finally:
        proc.kill()
        proc.wait()
        run.finished.set()
        server.shutdown()
        server.server_close()
    return run, exit_code


def summary(values_ms):
    values = sorted(values_ms)
    n = len(values)
    p90 = values[max(0, math.ceil(0.9 * n) - 1)]  # nearest rank
    return {
        "median": statistics.median(values),
        "p90": p90,
        "min": values[0],
        "max": values[-1],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--event", choices=sorted(EVENTS), help="event kind (default: guessed from the binary's name)")
    parser.add_argument("-n", "--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs first (page cache); default 1")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--log", default=os.devnull, help="file for the processes' stdout/stderr")
    parser.add_argument("--prefix", default="", help="command to run the binary under, for diagnosis (e.g. 'strace -f -tt -o trace')")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="extra environment (repeatable)")
    parser.add_argument("--query", help="query string of the API event, e.g. deep=true (default: none)")
    parser.add_argument("--json", help="also write the raw times and the summary to this file")
    args = parser.parse_args()

    binary = os.path.abspath(args.binary)
    extra_env = dict(item.split("=", 1) for item in args.env)
    kind = args.event or ("fanout" if "fanout" in os.path.basename(binary) else "api")
    event = json.loads(json.dumps(EVENTS[kind]))
    if args.query and kind == "api":  # e.g. deep=true: /health?deep=true checks DynamoDB and Redis
        pairs = [p.split("=", 1) for p in args.query.split("&")]
        event["queryStringParameters"] = {k: v for k, v in pairs}
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in pairs}
    event_body = json.dumps(event).encode()

    nexts, resps, failures = [], [], 0
    first_body = None
    with open(args.log, "ab") as log:
        for i in range(args.warmup + args.runs):
            run, exit_code = one_run(binary, event_body, i, args.timeout, log, shlex.split(args.prefix), extra_env)
            measured = i >= args.warmup
            if run.error is not None or run.t_resp is None:
                failures += 1
                path, body = run.error or ("(none)", b"")
                print(
                    f"run {i}: FAILED (exit code {exit_code}, next at {fmt(run, 't_next')}, "
                    f"error POST {path}: {body.decode(errors='replace')})",
                    file=sys.stderr,
                )
                continue
            if first_body is None:
                first_body = run.response_body
                print(f"response body: {first_body.decode(errors='replace')}")
            elif run.response_body != first_body:
                print(f"run {i}: a different response body: {run.response_body!r}", file=sys.stderr)
            if measured:
                nexts.append((run.t_next - run.t_spawn) * 1000)
                resps.append((run.t_resp - run.t_spawn) * 1000)
    if not nexts:
        print("no successful run", file=sys.stderr)
        sys.exit(1)
    size = os.path.getsize(binary)
    s_next, s_resp = summary(nexts), summary(resps)
    print(f"binary: {binary} ({size} bytes), event: {kind}, runs: {len(nexts)}, failures: {failures}")
    for name, s in (("spawn -> first next", s_next), ("spawn -> response ", s_resp)):
        print(
            f"{name}: median {s['median']:.2f} ms, p90 {s['p90']:.2f} ms, "
            f"min {s['min']:.2f} ms, max {s['max']:.2f} ms"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "binary": binary,
                    "size": size,
                    "event": kind,
                    "failures": failures,
                    "next_ms": nexts,
                    "response_ms": resps,
                    "next": s_next,
                    "response": s_resp,
                    "response_body": first_body.decode(errors="replace"),
                },
                f,
                indent=1,
            )
    sys.exit(1 if failures else 0)


def fmt(run, attr):
    t = getattr(run, attr)
    return "never" if t is None else f"{(t - run.t_spawn) * 1000:.2f} ms"


if __name__ == "__main__":
    main()
