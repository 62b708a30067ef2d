"""Peak memory and CPU of keeping and naming a rejected alert whose message is past what an outcome keeps
(shared/alerts/received.py `received`, which keeps its first MiB with credentials redacted, and `named`, read from the
whole message). Each case runs in a fresh interpreter: its peak resident set (ru_maxrss) once the event is built, after
`received` and after `named`, and the CPU each took. A function is given 256 MiB
(infra: function_memory), so the peak is what matters, not the time.

    .venv/bin/python bench/rejected_naming.py            # this tree
    PYTHONPATH=/tmp/main-tree .venv/bin/python bench/rejected_naming.py   # another tree, to compare
"""
from __future__ import annotations

import json
import subprocess
import sys

CASES = {
    # A 7.35 MB body of empty objects: the most Python objects per byte a JSON parse makes.
    "7.35 MB of [{},{},...]": "b'[' + b'{},' * 2_450_000 + b'{}]'",
    # A 7 MB notification whose summary is huge: its id and policy name at the start.
    "7 MB notification": ("json.dumps({'incident': {'incident_id': '0.big', 'policy_name': 'backend 5xx', "
                          "'summary': 'x' * 7_000_000}, 'version': '1.2'}).encode()"),
    # A 7 MB notification whose summary quotes 100,000 incident ids: a search keeps at most 100 of them.
    "7 MB notification quoting 100,000 ids": (
        "json.dumps({'incident': {'incident_id': '0.big', 'summary': ''.join("
        "f'see \"incident_id\": \"0.q{i}\" ' for i in range(100_000)) + 'x' * 4_000_000}}).encode()"),
    # A 7 MB notification whose summary quotes 200,000 different values of no id's shape, each read (unescaped,
    # redacted, read as an id) until a search has read 1,000 of them.
    "7 MB notification quoting 200,000 values of no id's shape": (
        "json.dumps({'incident': {'incident_id': '0.big', 'summary': ''.join("
        "f'see \"incident_id\": \"no id {i}\" ' for i in range(200_000)) + 'x' * 1_000_000}}).encode()"),
    # A 7 MB message of passwords: every redaction makes it longer.
    "7.03 MB of password: s3cr3tX1": "(b'password: s3cr3tX1 ' * 370_000)[:7_030_000]",
}

_CHILD = """
import base64, json, resource, sys, time
from shared.alerts.received import named, received
data = {data}
event = {{"message": {{"data": base64.b64encode(data).decode(), "messageId": "m-1"}}}}
built = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.process_time()
content = received(event)
kept_s = time.process_time() - started
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.process_time()
words = named(content, "incident", event).words
took = time.process_time() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"built_mib": built / 1024, "before_mib": before / 1024, "after_mib": after / 1024,
                  "received_s": kept_s, "cpu_s": took, "words": words[:120]}}))
"""


def main() -> None:
    for name, data in CASES.items():
        out = subprocess.run([sys.executable, "-c", _CHILD.format(data=data)], capture_output=True, text=True,
                             check=True).stdout
        row = json.loads(out)
        print(f"{name}: peak {row['built_mib']:.0f} -> {row['before_mib']:.0f} MiB after received() "
              f"({row['received_s']:.2f} s CPU) -> {row['after_mib']:.0f} MiB after named() ({row['cpu_s']:.2f} s CPU);"
              f" {row['words']!r}")


if __name__ == "__main__":
    main()
