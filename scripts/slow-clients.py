#!/usr/bin/env python3
"""Slow clients against the local server: CONNECTIONS sockets that send half a request head
and never finish it, reopened whenever the server closes them (a slowloris), held for HOLD
seconds. Meanwhile, once a second, a plain client asks GET /health and the server's resident
memory is read from /proc. Prints one JSON object with the figures (docs/benchmarks.md,
"Slow clients").

    scripts/slow-clients.py --url http://127.0.0.1:3000 --pid PID [--connections 20000] [--hold 30]

Standard library only. The sockets are spread over processes of at most 9,000 each, under the
usual limit of open files per process.
"""

import argparse
import asyncio
import json
import multiprocessing
import time
import urllib.parse
import urllib.request

HEAD = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: "
PER_PROCESS = 9000


async def hold_one(host, port, until, counts):
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            counts["connect_errors"] += 1
            await asyncio.sleep(0.5)
            continue
        counts["opened"] += 1
        try:
            writer.write(HEAD)
            await writer.drain()
            # Wait for the server to close it (a time-out or the limit), or the end.
            await asyncio.wait_for(reader.read(), max(0.0, until - time.monotonic()))
            counts["closed_by_server"] += 1
        except (asyncio.TimeoutError, OSError):
            pass
        finally:
            writer.close()


def worker(host, port, connections, hold, results):
    async def run():
        counts = {"opened": 0, "closed_by_server": 0, "connect_errors": 0}
        until = time.monotonic() + hold
        await asyncio.gather(*(hold_one(host, port, until, counts) for _ in range(connections)))
        return counts

    results.put(asyncio.run(run()))


def rss_mb(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def health_ms(url):
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url + "/health", timeout=5) as reply:
            ok = reply.status == 200
    except OSError:
        ok = False
    return ok, (time.monotonic() - started) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's process ID")
    parser.add_argument("--connections", type=int, default=20000)
    parser.add_argument("--hold", type=float, default=30.0, help="seconds")
    args = parser.parse_args()
    target = urllib.parse.urlparse(args.url)

    rss_before = rss_mb(args.pid)
    results = multiprocessing.Queue()
    workers = []
    left = args.connections
    while left > 0:
        count = min(left, PER_PROCESS)
        left -= count
        process = multiprocessing.Process(
            target=worker, args=(target.hostname, target.port, count, args.hold, results)
        )
        process.start()
        workers.append(process)

    samples = []
    until = time.monotonic() + args.hold
    while time.monotonic() < until:
        ok, ms = health_ms(args.url)
        samples.append({"health_ok": ok, "health_ms": round(ms, 1), "rss_mb": round(rss_mb(args.pid), 1)})
        time.sleep(max(0.0, 1.0 - ms / 1000))
    totals = {"opened": 0, "closed_by_server": 0, "connect_errors": 0}
    for _ in workers:
        for key, value in results.get().items():
            totals[key] += value
    for process in workers:
        process.join()
    time.sleep(2)

    answered = [s["health_ms"] for s in samples if s["health_ok"]]
    print(json.dumps({
        "connections": args.connections,
        "hold_s": args.hold,
        **totals,
        "rss_before_mb": round(rss_before, 1),
        "rss_peak_mb": max(s["rss_mb"] for s in samples),
        "rss_after_mb": round(rss_mb(args.pid), 1),
        "health_answered": f"{len(answered)}/{len(samples)}",
        "health_max_ms": max(answered, default=None),
    }))


if __name__ == "__main__":
    main()
