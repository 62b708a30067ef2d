"""The cost of redacting one application log line (shared/redaction.py `redacted`), by kind of line, over a realistic
mix of 10,000 lines, most holding no credential: every log line the diagnosis reads is redacted first
(shared/gcp/logging.py), so a kind of line that costs several times the others slows every diagnosis that reads it.

Each kind's lines are told apart by their contents (a request log's words, a driver's error, a URL, a command line
naming curl or a MySQL client, a line holding a credential), each line its own text (numbers and names vary, as a new
incident's lines are new: nothing is cached per text). The CPU time of each kind is the best of `--rounds` passes over
its lines, the kinds interleaved in each round; with `--instructions`, valgrind's cachegrind counts each kind's pass
less an empty one (stable on a machine shared with other work; PYTHONHASHSEED=0).

    .venv/bin/python bench/redaction_lines.py
    .venv/bin/python bench/redaction_lines.py --instructions
    PYTHONPATH=/tmp/main-tree .venv/bin/python bench/redaction_lines.py   # another tree, to compare
"""
from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] or str(Path(__file__).resolve().parents[1]))

LINES = 10_000
# Each kind's share of the mix, and how its lines are written ({n}: a number, {h}: a host, {w}: a word, {s}: a secret).
KINDS: dict[str, tuple[float, tuple[str, ...]]] = {
    "plain": (0.50, (
        "GET /api/v1/orders/{n} 200 {n} ms user-agent=Go-http-client/1.1 trace={w}",
        "INFO orders.worker: processed batch {n} of {n} items in {n} ms (queue depth {n})",
        "WARNING slow request to /api/v1/cart/{n}: {n} ms over the 800 ms budget, instance {w}",
        "ERROR payment handler failed: upstream answered 503 after {n} ms (attempt {n} of 3)",
        "Default STARTUP TCP probe succeeded after 1 attempt for container \"orders-1\" on port 8080.")),
    # a region's name or a header's, a route's or a mounted secret's path: words that hold a shape's needle (`asia`,
    # `-key`, `-token`, `-pass`) and no credential
    "shape's words": (0.05, (
        "INFO orders.worker: instance {n} in asia-northeast1 processed batch {n} of 500 items in {n} ms region=asia-east1",
        "WARNING request {n} without idempotency-key header: x-api-key present, retrying /api/v1/cart/{n} after 800 ms",
        "GET /api/v1/auth/refresh-token 200 {n} ms user-agent=Go-http-client/1.1 trace={w} path=/v1/session-token",
        "INFO health check {n}: db-pass secret mounted at /secrets/db-pass, connector ok after {n} ms on instance {w}")),
    "driver error": (0.15, (
        "psycopg2.OperationalError: connection to server at \"{h}\", port 5432 failed: Connection timed out",
        "FATAL:  password authentication failed for user \"app{n}\"",
        "pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on '{h}' (timed out)\")",
        "Error 1045 (28000): Access denied for user 'app{n}'@'{h}' (using password: YES)",
        "Error: connect ECONNREFUSED {h}:5432 at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)")),
    "url": (0.15, (
        "POST https://orders-{w}.a.run.app/api/v1/orders/{n}/refresh failed with status 503 after {n} ms",
        "requests.exceptions.ConnectTimeout: HTTPSConnectionPool(host='{h}', port=443): Max retries exceeded with url: /v1/x",
        "redirecting to https://shop.example/checkout?session={w}&step={n}")),
    "curl": (0.05, (
        "+ curl -sS -X POST -H 'Content-Type: application/json' https://orders-{w}.a.run.app/api/v1/orders/{n}/refresh "
        "-d '{{\"id\": {n}}}' -o /dev/null -w '%{{http_code}}'",
        "+ curl -fsSL --retry 3 https://storage.googleapis.com/shop-{w}/releases/{n}/orders.tgz -o /tmp/orders.tgz",
        "curl: (28) Operation timed out after {n} milliseconds with 0 bytes received from https://{h}:8443/healthz")),
    "mysql client": (0.03, (
        "+ mysql -h {h} -P 3306 -u app{n} shop -e 'SELECT COUNT(*) FROM orders WHERE id > {n}'",
        "mysqldump: Got error: 2013: Lost connection to MySQL server at 'reading initial communication packet'",
        "+ mysqladmin -h {h} -u app{n} ping")),
    "credential": (0.07, (
        "connect postgresql://app{n}:{s}@{h}:5432/orders failed: timeout expired",
        "loaded config: user: app{n} password: {s} host: {h}",
        "+ curl -sSf -u ops{n}:{s} https://{h}/metrics",
        "+ mysql -h {h} -u app{n} -p{s} shop",
        "request headers: {{'Authorization': 'Bearer {s}{s}{s}', 'Host': 'orders-{w}.a.run.app'}}",
        "jdbc:sqlserver://{h}:1433;databaseName=orders;user=app{n};password={s};encrypt=true")),
}


def lines(seed: int = 7) -> dict[str, list[str]]:
    """LINES lines split by kind in KINDS's shares, each filled with its own numbers, hosts, words and secrets."""
    rng = random.Random(seed)
    word = lambda: "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9)))
    fills = {"n": lambda: str(rng.randint(1, 99_999)), "h": lambda: f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}",
             "w": word, "s": lambda: word().capitalize() + str(rng.randint(10, 99)) + word()}
    out: dict[str, list[str]] = {}
    for kind, (share, templates) in KINDS.items():
        count = round(LINES * share)
        out[kind] = [re.sub(r"\{([nhws])\}", lambda m: fills[m.group(1)](), templates[i % len(templates)]
                            .replace("{{", "\x00").replace("}}", "\x01")).replace("\x00", "{").replace("\x01", "}")
                     for i in range(count)]
    # The same command lines with the client named otherwise: what a line of that length and those words costs when
    # no client's expression is read (not part of the mix's total).
    out["curl, renamed"] = [text.replace("curl", "wget") for text in out["curl"]]
    out["mysql, renamed"] = [text.replace("mysql", "pgsql") for text in out["mysql client"]]
    return out


def _pass(texts: list[str]) -> None:
    from shared.redaction import redacted

    for text in texts:
        redacted(text)


def worker(kind: str) -> None:
    """One pass over `kind`'s lines after a warm-up pass over a different seed's (the expressions compiled), or, for
    kind "none", the warm-up alone; both make every line, so the difference is the pass alone."""
    _pass([text for texts in lines(seed=1).values() for text in texts])
    mix = lines()
    if kind != "none":
        _pass(mix[kind])


def _instructions(kind: str) -> int:
    env = dict(os.environ, PYTHONHASHSEED="0")
    done = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                           sys.executable, __file__, "--worker", kind], env=env, capture_output=True, text=True,
                          check=True)
    found = re.search(r"I\s+refs\s*:\s*([\d,]+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--instructions", action="store_true", help="count instructions with cachegrind instead")
    parser.add_argument("--kinds", nargs="*", help="only these kinds (default: all)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    mix = {kind: texts for kind, texts in lines().items() if not args.kinds or kind in args.kinds}
    if args.instructions:
        base = _instructions("none")
        for kind, texts in mix.items():
            print(f"{kind:15s} {len(texts):6d} lines  {(_instructions(kind) - base) / len(texts) / 1000:8.1f} "
                  "thousand instructions a line")
        return 0
    _pass([text for texts in lines(seed=1).values() for text in texts])   # every expression compiled first
    best = {kind: float("inf") for kind in mix}
    for _ in range(args.rounds):
        for kind, texts in mix.items():
            started = time.process_time()
            _pass(texts)
            best[kind] = min(best[kind], time.process_time() - started)
    for kind, texts in mix.items():
        print(f"{kind:15s} {len(texts):6d} lines  {best[kind] / len(texts) * 1e6:7.2f} us a line (best of {args.rounds})")
    total = sum(best[kind] for kind in mix if kind in KINDS)
    if set(KINDS) <= set(mix):
        print(f"{'all':14s} {LINES:6d} lines  {total * 1e3:7.1f} ms, {total / LINES * 1e6:.2f} us a line")
    return 0


if __name__ == "__main__":
    sys.exit(main())
