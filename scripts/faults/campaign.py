#!/usr/bin/env python3
"""The fault campaign: the local service under the faults it must survive, each bounded in time
and count, on loopback services of its own (DynamoDB Local on 8400, kept on disk so that a
restart keeps the data, and Redis on 6410), through `timeline-local serve` as `make dev` runs it.

    scripts/faults/campaign.py [--short] [--binary PATH] [--only NAME]... [--json FILE]

`make faults` runs the full campaign on a `local`-profile build; `make test` runs `--short`
(fewer users, shorter loads) on the debug build. For each fault it prints the requests by
status, the 5xx answers (a 503 `unavailable` while a dependency is down is allowed and counted
apart), the acknowledged posts missing from a timeline they belong to, the duplicate entries,
and how long the timelines took to converge once the fault was over. Exit 1 when anything was
lost or duplicated, an auth check was bypassed, or a data route answered another 5xx.

Standard library only: tokens are minted here (HS256, the secret given to the server), and the
poison record is written with DynamoDB's JSON API (DynamoDB Local checks no signature).
"""

import argparse
import base64
import collections
import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DDB_PORT, REDIS_PORT, HTTP_PORT, METRICS_PORT = 8400, 6410, 3400, 9470
SECRET = "fault-campaign-secret"
CONVERGE_WITHIN = 180.0  # seconds; past it, what is missing counts as lost


def log(message):
    print(f"[faults] {message}", file=sys.stderr, flush=True)


def token(user):
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": user, "exp": int(time.time()) + 86400}).encode())
    signature = hmac.new(SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


class Tally:
    """Answers by status, per scenario; thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = collections.Counter()
        self.unexpected_5xx = 0
        self.unavailable = 0

    def count(self, status, body):
        with self.lock:
            self.statuses[status] += 1
            if status == 503 and b'"unavailable"' in body:
                self.unavailable += 1
            elif status >= 500 or status == 0:
                self.unexpected_5xx += 1


class Client:
    """One keep-alive connection to the server; status 0 when it could not answer at all."""

    def __init__(self, tally):
        self.tally = tally
        self.connection = None

    def call(self, method, path, user=None, body=None, headers=None, count=True):
        sent = {"Content-Type": "application/json"} if body is not None else {}
        if user:
            sent["Authorization"] = f"Bearer {token(user)}"
        sent.update(headers or {})
        payload = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        for _ in range(2):  # once more on a connection the server closed
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=10)
                self.connection.request(method, path, body=payload, headers=sent)
                response = self.connection.getresponse()
                status, data = response.status, response.read()
                break
            except (OSError, http.client.HTTPException):
                self.connection = None
                status, data = 0, b""
        if count:
            self.tally.count(status, data)
        return status, data


class Stack:
    """DynamoDB Local, Redis and the server, each stoppable and restartable."""

    def __init__(self, binary, work):
        self.binary, self.work = binary, work
        self.prefix = f"faults{int(time.time())}-"
        self.redis_dir = os.path.join(work, "redis")
        self.env = dict(
            os.environ,
            TIMELINE_DYNAMODB_ENDPOINT=f"http://127.0.0.1:{DDB_PORT}",
            TIMELINE_REDIS_URL=f"redis://127.0.0.1:{REDIS_PORT}",
            TIMELINE_DDB_IN_MEMORY="0",
            TIMELINE_TABLE_PREFIX=self.prefix,
            TIMELINE_HTTP_ADDR=f"127.0.0.1:{HTTP_PORT}",
            TIMELINE_METRICS_ADDR=f"127.0.0.1:{METRICS_PORT}",
            TIMELINE_METRICS_SUMMARY_SECS="0",
            TIMELINE_JWT_SECRET=SECRET,
            TIMELINE_POST_LIMIT="off",
            TIMELINE_CACHE_REVALIDATE_SECS="30",
            TIMELINE_CHECKPOINT_DIR=os.path.join(work, "checkpoints"),
            RUST_LOG="warn",
        )
        self.redis = self.server = None
        self.server_log = open(os.path.join(work, "server.log"), "ab")

    def services(self, *args):
        subprocess.run([os.path.join(ROOT, "scripts/services.sh"), *args], env=self.env, check=True,
                       stdout=subprocess.DEVNULL)

    def start_dynamodb(self):
        self.services("up", "--no-cluster")

    def kill_dynamodb(self):
        self.services("down", "dynamodb")

    def start_redis(self, snapshot=None):
        shutil.rmtree(self.redis_dir, ignore_errors=True)
        os.makedirs(self.redis_dir)
        if snapshot:
            shutil.copy(snapshot, os.path.join(self.redis_dir, "dump.rdb"))
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.redis_dir, "--dbfilename", "dump.rdb"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: redis_cli("PING") == "PONG", "Redis")

    def kill_redis(self):
        self.redis.kill()
        self.redis.wait()

    def start_server(self):
        self.server = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=self.server_log,
                                       stderr=self.server_log)
        wait_for(lambda: Client(Tally()).call("GET", "/health")[0] == 200, "the server")

    def kill_server(self):
        self.server.kill()
        self.server.wait()

    def stop(self):
        for process in (self.server, self.redis):
            if process and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(10)
        self.kill_dynamodb()
        shutil.rmtree(os.path.join(ROOT, ".local/ddb-data", str(DDB_PORT)), ignore_errors=True)


def redis_cli(*args):
    done = subprocess.run(["redis-cli", "-p", str(REDIS_PORT), *args], capture_output=True, text=True)
    return done.stdout.strip()


def wait_for(ready, what, within=60):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.2)
    raise SystemExit(f"[faults] {what} did not come up within {within} s")


class World:
    """Authors and their followers, made over REST; what was acknowledged, by author."""

    def __init__(self, client, name, authors, followers):
        self.authors = [f"{name}-a{n}" for n in range(authors)]
        self.followers = [f"{name}-f{n}" for n in range(followers)]
        self.posted = collections.defaultdict(list)
        self.lock = threading.Lock()
        for user in self.authors + self.followers:
            username = user.replace("-", "_")[:15]
            status, _ = client.call("POST", "/users", user, {"username": username}, count=False)
            assert status in (201, 409), (user, status)
        for follower in self.followers:
            for author in self.authors:
                status, _ = client.call("PUT", f"/users/{follower}/following/{author}", follower, count=False)
                assert status == 204, (follower, author, status)
        for follower in self.followers:  # cached: the fan-out writes Redis for them
            client.call("GET", f"/users/{follower}/timeline", follower, count=False)

    def post(self, client, author, text):
        status, data = client.call("POST", "/tweets", author, {"text": text})
        if status == 201:
            with self.lock:
                self.posted[author].append(json.loads(data)["tweet_id"])
        return status

    def expected(self):
        with self.lock:
            return {tweet for tweets in self.posted.values() for tweet in tweets}


def timeline(client, owner):
    """Every entry of the owner's home timeline, paged to the end (None if a page failed)."""
    entries, cursor = [], None
    while True:
        query = "?limit=100" + (f"&cursor={urllib.parse.quote(cursor)}" if cursor else "")
        status, data = client.call("GET", f"/users/{owner}/timeline{query}", owner, count=False)
        if status != 200:
            return None
        page = json.loads(data)
        entries += [item["tweet_id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            return entries


def answered_timeline(client, owner, within=30):
    """The owner's timeline, asked again while a page fails (a busy server's time-out)."""
    deadline = time.monotonic() + within
    while (entries := timeline(client, owner)) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    return entries


def converge(world, since, readers=None):
    """Wait until every reader's timeline holds every acknowledged post: (seconds, lost, duplicates)."""
    client, expected = Client(Tally()), world.expected()
    readers = readers or world.followers
    while True:
        lost = duplicates = 0
        for reader in readers:
            entries = timeline(client, reader)
            if entries is None:
                lost += len(expected)
                continue
            lost += len(expected - set(entries))
            duplicates += len(entries) - len(set(entries))
        elapsed = time.monotonic() - since
        if (lost == 0 and duplicates == 0) or elapsed > CONVERGE_WITHIN:
            return round(elapsed, 2), lost, duplicates
        time.sleep(0.25)


def load(world, tally, seconds, writers=2, readers=2, tag="load"):
    """Posts and timeline reads in threads for `seconds`; returns the threads' join."""
    stop = time.monotonic() + seconds

    def write(n):
        client, i = Client(tally), 0
        while time.monotonic() < stop:
            world.post(client, world.authors[(n + i) % len(world.authors)], f"{tag} {n}.{i}")
            i += 1

    def read(n):
        client, i = Client(tally), 0
        while time.monotonic() < stop:
            reader = world.followers[(n + i) % len(world.followers)]
            client.call("GET", f"/users/{reader}/timeline?limit=20", reader)
            i += 1

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    threads += [threading.Thread(target=read, args=(n,)) for n in range(readers)]
    for thread in threads:
        thread.start()
    return lambda: [thread.join() for thread in threads]


def result(name, tally, converged=None, **extra):
    seconds, lost, duplicates = converged or (None, 0, 0)
    return {"fault": name, "requests": dict(sorted(tally.statuses.items())), "unexpected_5xx": tally.unexpected_5xx,
            "unavailable_503": tally.unavailable, "lost": lost, "duplicates": duplicates,
            "converged_s": seconds, **extra}


# --- the faults -----------------------------------------------------------------------------

def redis_killed(stack, size):
    tally = Tally()
    world = World(Client(tally), "rk", 2, size["followers"])
    joined = load(world, tally, size["load_s"])
    time.sleep(size["load_s"] / 3)
    stack.kill_redis()
    time.sleep(3)
    stack.start_redis()
    joined()
    return result("Redis killed under load, restarted empty", tally, converge(world, time.monotonic()))


def redis_stale(stack, size):
    """What a failover to a lagging replica does: the cached timelines, just rebuilt (fresh),
    are snapshotted; posts land in them; Redis comes back from the snapshot, its copies
    `ready` but without those posts. They heal when revalidated (TIMELINE_CACHE_REVALIDATE_SECS,
    30 s here, 300 s by default), or at once with `timeline-admin verify --all --repair`."""
    tally = Tally()
    world = World(Client(tally), "rs", 2, size["followers"])
    client = Client(tally)
    # Not empty when snapshotted: an empty timeline is not kept in Redis at all.
    for n in range(2):
        world.post(client, world.authors[n], f"before the snapshot {n}")
    converge(world, time.monotonic())
    snapshot = os.path.join(stack.work, "snapshot.rdb")
    subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "--rdb", snapshot], check=True, capture_output=True)
    for n in range(10):
        world.post(client, world.authors[n % 2], f"after the snapshot {n}")
    converge(world, time.monotonic())
    stack.kill_redis()
    stack.start_redis(snapshot=snapshot)
    restarted = time.monotonic()
    # The first call after the restart finds the old connection dead and opens the cache's
    # breaker: reads come from DynamoDB for 2 s. Past that, they come from the restored copies.
    timeline(client, world.followers[0])
    time.sleep(3)
    stale = sum(len(timeline(client, reader) or []) < len(world.expected()) for reader in world.followers)
    return result("Redis restarted from a stale snapshot", tally, converge(world, restarted),
                  stale_timelines_after_restart=stale)


def dynamodb_killed(stack, size):
    tally = Tally()
    world = World(Client(tally), "dk", 1, size["big_followers"])
    client = Client(tally)
    for n in range(3):
        world.post(client, world.authors[0], f"large fan-out {n}")
    stack.kill_dynamodb()
    for n in range(5):  # while it is down: 503 unavailable, nothing acknowledged
        world.post(client, world.authors[0], f"during the outage {n}")
        time.sleep(0.5)
    stack.start_dynamodb()
    sample = world.followers[:: max(1, len(world.followers) // 50)]
    return result("DynamoDB Local killed during a large fan-out", tally,
                  converge(world, time.monotonic(), readers=sample), followers=len(world.followers))


def server_killed(stack, size):
    tally = Tally()
    world = World(Client(tally), "sk", 1, size["kill_followers"])
    client = Client(tally)
    for n in range(size["burst"]):
        world.post(client, world.authors[0], f"burst {n}")
    stack.kill_server()
    stack.start_server()
    sample = world.followers[:: max(1, len(world.followers) // 50)]
    return result("the server killed during a fan-out, restarted", tally,
                  converge(world, time.monotonic(), readers=sample))


def delivered_twice(stack, size):
    """Every record since the scenario began applied again, as a redelivery does: the same
    handler, through `timeline-admin replay`; nothing may change, and `verify` finds no drift."""
    began = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    tally = Tally()
    world = World(Client(tally), "dt", 2, size["followers"])
    client = Client(tally)
    for n in range(10):
        world.post(client, world.authors[n % 2], f"once {n}")
    converge(world, time.monotonic())
    before = {reader: answered_timeline(client, reader) for reader in world.followers}
    admin = os.path.join(os.path.dirname(stack.binary), "timeline-admin")
    for table in ("follows", "tweets"):
        subprocess.run([admin, "replay", "--table", table, "--from", began], env=stack.env, check=True,
                       capture_output=True)
    after = {reader: answered_timeline(client, reader) for reader in world.followers}
    changed = sum(before[r] != after[r] for r in world.followers)
    users = [arg for user in world.authors + world.followers for arg in ("--user", user)]
    verify = subprocess.run([admin, "verify", *users], env=stack.env, capture_output=True)
    return result("every stream batch delivered a second time (replay)", tally, converge(world, time.monotonic()),
                  timelines_changed=changed, verify_exit=verify.returncode)


def poison_record(stack, size):
    tally = Tally()
    world = World(Client(tally), "pr", 1, size["followers"])
    client = Client(tally)
    world.post(client, world.authors[0], "before the poison")
    dynamodb("PutItem", {"TableName": f"{stack.prefix}tweets",
                         "Item": {"tweet_id": {"S": "01POISON000000000000000000"}, "junk": {"S": "no author"}}})
    world.post(client, world.authors[0], "after the poison")
    converged = converge(world, time.monotonic())
    skipped = metric("FanoutSkippedRecords{")
    return result("a poison record in the middle of the stream", tally, converged, skipped_records=skipped)


def slow_clients(stack, size):
    script = os.path.join(ROOT, "scripts/slow-clients.py")
    done = subprocess.run([sys.executable, script, "--url", f"http://127.0.0.1:{HTTP_PORT}", "--pid",
                           str(stack.server.pid), "--connections", str(size["slow"]), "--hold",
                           str(size["slow_s"])], capture_output=True, text=True, check=True)
    figures = json.loads(done.stdout)
    answered, asked = (int(n) for n in figures["health_answered"].split("/"))
    tally = Tally()
    tally.statuses[200] = answered
    tally.unexpected_5xx = asked - answered
    return result("slow clients", tally, **figures)


def auth_matrix(stack, size):
    tally = Tally()
    client = Client(tally)
    world = World(client, "am", 2, 1)
    owner, other = world.authors
    status, data = client.call("POST", "/tweets", owner, {"text": "mine"})
    tweet = json.loads(data)["tweet_id"]
    bad = {"Authorization": "Bearer not.a.token"}
    cases = []  # (method, path, identity, body, statuses that are right)
    for identity in ("none", "bad", "other"):
        for method, path, body in [("PUT", f"/users/{owner}/following/{other}", None),
                                   ("DELETE", f"/users/{owner}/following/{other}", None),
                                   ("DELETE", f"/tweets/{tweet}", None),
                                   ("GET", f"/users/{owner}/timeline", None),
                                   ("POST", "/tweets", {"text": "as someone"})]:
            allowed = {401} if identity != "other" else {403}
            if identity == "other" and method == "POST":
                allowed = {201}  # posting as oneself is one's right
            cases.append((method, path, identity, body, allowed))
    bypasses = 0
    for method, path, identity, body, allowed in cases:
        user = other if identity == "other" else None
        headers = bad if identity == "bad" else None
        status, _ = client.call(method, path, user, body, headers)
        bypasses += status not in allowed
    return result("auth matrix", tally, checks=len(cases), bypasses=bypasses)


def bad_inputs(stack, size):
    tally = Tally()
    client = Client(tally)
    world = World(client, "bi", 1, 1)
    user = world.authors[0]
    raw = lambda text: text.encode()  # noqa: E731 (a body sent as it is)
    cases = [
        ("POST", "/tweets", {"text": ""}), ("POST", "/tweets", {"text": "x" * 281}),
        ("POST", "/tweets", {"text": "\u200b\u200b"}), ("POST", "/tweets", {"text": "\u202e"}),
        ("POST", "/tweets", {"text": 5}), ("POST", "/tweets", {}), ("POST", "/tweets", raw("{")),
        ("POST", "/tweets", raw("")), ("POST", "/tweets", raw("[]")), ("POST", "/tweets", raw("null")),
        ("POST", "/tweets", raw('{"text": "' + "y" * 20000 + '"}')),
        ("POST", "/users", {"username": "no spaces"}), ("POST", "/users", {"username": "x" * 16}),
        ("POST", "/users", {"username": ""}), ("POST", "/users", {"display_name": "\u0000"}),
        ("GET", f"/users/{user}/timeline?limit=0", None), ("GET", f"/users/{user}/timeline?limit=101", None),
        ("GET", f"/users/{user}/timeline?limit=abc", None), ("GET", f"/users/{user}/timeline?cursor=forged", None),
        ("GET", "/users/%00", None), ("GET", "/users/" + "u" * 200, None), ("GET", "/tweets/not-a-ulid", None),
        ("GET", "/users/by-username/" + "z" * 40, None), ("PUT", f"/users/{user}/following/{user}", None),
        ("DELETE", "/tweets/01ARZ3NDEKTSV4RRFFQ69G5FAV", None), ("PATCH", "/tweets", None),
        ("GET", "/no/such/route", None), ("POST", f"/users/{user}/followers", None),
    ]
    wrong = 0
    for method, path, body in cases:
        status, data = client.call(method, path, user, body)
        is_error_body = data.startswith(b'{"error":{"code":')
        wrong += not (400 <= status < 500 and is_error_body)
    status, _ = client.call("POST", "/tweets", user, raw('{"text": "hi"}'), {"Content-Type": "text/plain"})
    wrong += status != 415
    return result("bad inputs", tally, checks=len(cases) + 1, wrong_answers=wrong)


def dynamodb(action, request):
    connection = http.client.HTTPConnection("127.0.0.1", DDB_PORT, timeout=10)
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"DynamoDB_20120810.{action}",
               "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
                                "SignedHeaders=host, Signature=0"}
    connection.request("POST", "/", body=json.dumps(request), headers=headers)
    response = connection.getresponse()
    assert response.status == 200, response.read()
    return json.loads(response.read())


def metric(name):
    connection = http.client.HTTPConnection("127.0.0.1", METRICS_PORT, timeout=10)
    connection.request("GET", "/metrics")
    for line in connection.getresponse().read().decode().splitlines():
        if line.startswith(name):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# The two large fan-outs last: DynamoDB Local on disk is slow, and a backlog of theirs would
# hold up the faults after them (one shard, one batch at a time).
FAULTS = {
    "redis-killed": redis_killed, "redis-stale": redis_stale, "delivered-twice": delivered_twice,
    "poison-record": poison_record, "slow-clients": slow_clients, "auth-matrix": auth_matrix,
    "bad-inputs": bad_inputs, "server-killed": server_killed, "dynamodb-killed": dynamodb_killed,
}
SIZES = {
    "short": {"followers": 5, "big_followers": 100, "kill_followers": 50, "load_s": 6, "burst": 40, "slow": 2000,
              "slow_s": 5},
    "full": {"followers": 20, "big_followers": 2000, "kill_followers": 200, "load_s": 20, "burst": 100,
             "slow": 20000, "slow_s": 30},
}


def failed(outcome):
    return (outcome["lost"] or outcome["duplicates"] or outcome["unexpected_5xx"] or outcome.get("bypasses")
            or outcome.get("wrong_answers") or outcome.get("timelines_changed") or outcome.get("verify_exit"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="the CI-sized campaign")
    parser.add_argument("--binary", default=os.path.join(ROOT, "target/local/timeline-local"))
    parser.add_argument("--only", action="append", choices=sorted(FAULTS), help="run just these (repeatable)")
    parser.add_argument("--json", help="also write the outcomes to this file")
    args = parser.parse_args()
    size = SIZES["short" if args.short else "full"]
    work = tempfile.mkdtemp(prefix="timeline-faults-")
    stack = Stack(os.path.abspath(args.binary), work)
    shutil.rmtree(os.path.join(ROOT, ".local/ddb-data", str(DDB_PORT)), ignore_errors=True)
    outcomes = []
    try:
        stack.start_redis()
        stack.start_dynamodb()
        stack.start_server()
        for name in args.only or FAULTS:
            log(f"{name} ...")
            started = time.monotonic()
            outcome = FAULTS[name](stack, size)
            outcome["took_s"] = round(time.monotonic() - started, 1)
            outcomes.append(outcome)
            print(json.dumps(outcome), flush=True)
    finally:
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(outcomes, out, indent=1)
    bad = [o["fault"] for o in outcomes if failed(o)]
    log(f"{len(outcomes)} faults, {len(bad)} failed" + (f": {', '.join(bad)}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
