"""Instructions a fresh instance's duplicate delivery executes, counted by valgrind's callgrind.

On a machine shared with other work, a duplicate's CPU time moves with the neighbours by more than
a change to Runwarden's code moves it (docs/performance.md, "A duplicate's CPU, part by part"); the
number of instructions it executes does not. On the stack of `bench/alert_path.py` (the Firestore
and Pub/Sub emulators, the stand-ins, the real adapters) a bad_revision alert is handled once and
written; then, in a worker process run under callgrind, the same delivery is handled again as
on_alert hands it over (`handle_delivery`) on a fresh instance (a new memory of settled incidents,
no document id cached), collecting only while a delivery runs:

- **own**: the delivery with its two calls (the BatchGetDocuments of the incident's documents and
  the outcome's Publish, the raw stub calls on the product's own channels) answered from memory,
  with the answers a real delivery received just before: Runwarden's own instructions, with
  nothing of gRPC's (its Python and its core) for the two calls. Checked to end as the real one did.
- **real**: the real delivery, both calls made (every thread of the process counted: gRPC's own
  threads read the sockets). Moves a little with how often gRPC's threads poll while waiting.
- **bare**: the same two calls made bare (the raw stub calls with the same request), for reference.

Each delivery is warm (handled `WARMUP` times first); `RUNS` of each kind are counted, one
callgrind run per kind, and each count is per delivery. The hash seed is fixed (PYTHONHASHSEED=0).

    .venv/bin/python bench/duplicate_instructions.py              # own, real and bare
    .venv/bin/python bench/duplicate_instructions.py own          # only Runwarden's own
    .venv/bin/python bench/duplicate_instructions.py own --callgrind-out /tmp/dup   # and keep /tmp/dup.own
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from contextlib import contextmanager
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RUNS = 50      # deliveries counted per kind
WARMUP = 20    # handled before counting, in the same worker
KINDS = ("own", "real", "bare")
_TOGGLE_C = "#include <valgrind/callgrind.h>\nvoid toggle(void) { CALLGRIND_TOGGLE_COLLECT; }\n"


@contextmanager
def written_world(project: str) -> Iterator[tuple[str, str, str]]:
    """bad_revision's stand-ins in a spawned process and the Firestore and Pub/Sub emulators, the environment set
    for them: (the service, the outcomes topic, a new incident's notification as a push's base64 data). Shared by
    this bench and bench/duplicate_cases.py, each of which writes the incident's action first."""
    import multiprocessing

    from bench.alert_path import T0, _serve_standins
    from sandbox.emulators import start_firestore, start_pubsub
    from sandbox.scenarios import resolve_scenario

    scenario = resolve_scenario("bad_revision")
    service = scenario.service_name(scenario.services[0].name)
    spawn = multiprocessing.get_context("spawn")
    env_queue, stop = spawn.Queue(), spawn.Event()
    server = spawn.Process(target=_serve_standins, args=(scenario.name, env_queue, stop), daemon=True)
    server.start()
    try:
        os.environ.update(env_queue.get(timeout=60))
        with start_firestore(project) as firestore, start_pubsub(project) as pubsub:
            os.environ.update(firestore.env() | pubsub.env())
            notification = scenario.notification(T0, incident_id=f"0.{uuid.uuid4().hex[:12]}")
            yield service, pubsub.ensure_topic("outcomes"), base64.b64encode(json.dumps(notification).encode()).decode()
    finally:
        stop.set()
        server.join(timeout=10)


def _adapters(project: str, topic: str, service: str) -> tuple[Any, Any]:
    from bench.alert_path import T0
    from shared.clock import FixedClock
    from shared.config import parse_config
    from sandbox.standins.run import RUNWARDEN_CALLER
    from shared.gcp.identity import with_own_principal
    from shared.gcp.firestore import FirestoreStateStore
    from shared.gcp.logging import CloudLoggingAdapter
    from shared.gcp.monitoring import CloudMonitoringAdapter
    from shared.gcp.pubsub import PubSubPublisher
    from shared.gcp.run import CloudRunAdapter
    from shared.gcp.vpcaccess import VpcAccessAdapter
    from shared.pipeline import Adapters
    from datetime import timedelta

    config = parse_config({"project": project, "mode": "enforce", "outcomes_topic": topic,
                           "services": [{"name": service}]})
    # As the deployed function runs it (functions/runtime.py): its own account's writes (the stand-in's
    # RUNWARDEN_CALLER) are Runwarden's, not a change under it that nobody can explain.
    config = with_own_principal(config, RUNWARDEN_CALLER)
    adapters = Adapters(run=CloudRunAdapter(poll_initial_delay=0.01, poll_max_delay=0.05),
                        monitoring=CloudMonitoringAdapter(), publisher=PubSubPublisher(),
                        state=FirestoreStateStore(project), clock=FixedClock(T0 + timedelta(minutes=2)),
                        logging=CloudLoggingAdapter(), vpcaccess=VpcAccessAdapter())
    return config, adapters


def worker(event_file: str, project: str, topic: str, service: str, kind: str, toggle: str) -> None:
    """The deliveries of one kind, collected only while each runs (after WARMUP uncounted)."""
    import ctypes

    from bench.alert_path import RecordedDuplicate, _quiet
    from shared.gcp.firestore import document_id
    from shared.pipeline import handle_delivery
    from shared.remediation.settled import SettledIncidents

    event = json.loads(Path(event_file).read_text())
    config, adapters = _adapters(project, topic, service)

    def fresh() -> Any:
        adapters.settled = SettledIncidents()
        document_id.cache_clear()
        return _quiet(lambda: handle_delivery(event, config, adapters))

    recorded = RecordedDuplicate(adapters, fresh)
    wire, publish_wire, kept, from_memory = recorded.wire, recorded.publish_wire, recorded.kept, recorded.from_memory
    real_read, real_publish = recorded.real_read, recorded.real_publish
    assert recorded.real.status.value == "skipped", (recorded.real.status, recorded.real.reason)
    metadata = publish_wire.metadata(kept["publish"][0].topic)

    def bare() -> None:
        list(real_read(kept["read"][0], timeout=10.0, metadata=wire._database_metadata))
        real_publish(kept["publish"][0], timeout=10.0, metadata=metadata)

    deliver: Callable[[], Any] = {"own": from_memory, "real": fresh, "bare": bare}[kind]
    for _ in range(WARMUP):
        deliver()
    switch = ctypes.CDLL(toggle).toggle
    for _ in range(RUNS):
        switch()
        deliver()
        switch()


def _count(stderr: str) -> int:
    found = re.search(r"Collected\s*:\s*([\d,]+)", stderr)
    if found is None:
        raise RuntimeError(f"no count in valgrind's output:\n{stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kinds", nargs="*", help=f"any of {', '.join(KINDS)} (default: all)")
    parser.add_argument("--callgrind-out", metavar="PREFIX",
                        help="keep callgrind's output, PREFIX.KIND each (for callgrind_annotate)")
    parser.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return 0
    unknown = set(args.kinds) - set(KINDS)
    if unknown:
        parser.error(f"unknown kinds {sorted(unknown)}: choose among {', '.join(KINDS)}")
    kinds = args.kinds or list(KINDS)

    from bench.alert_path import _quiet

    project = "bench-duplicate"
    with written_world(project) as (service, topic, data), \
            tempfile.TemporaryDirectory(prefix="runwarden-duplicate-") as tmp:
        event = {"message": {"data": data, "messageId": uuid.uuid4().hex}}
        from shared.pipeline import handle_alert

        config, adapters = _adapters(project, topic, service)
        written = _quiet(lambda: handle_alert(event, config, adapters))
        assert written.status.value == "applied", written.reason
        event_file = Path(tmp) / "event.json"
        event_file.write_text(json.dumps(event))
        toggle, source = Path(tmp) / "toggle.so", Path(tmp) / "toggle.c"
        source.write_text(_TOGGLE_C)
        subprocess.run(["cc", "-shared", "-fPIC", "-O1", "-o", str(toggle), str(source)], check=True)
        env = dict(os.environ, PYTHONHASHSEED="0")
        for kind in kinds:
            done = subprocess.run(
                ["valgrind", "--tool=callgrind", "--collect-atstart=no",
                 f"--callgrind-out-file={f'{args.callgrind_out}.{kind}' if args.callgrind_out else '/dev/null'}",
                 sys.executable, __file__, "--worker", str(event_file), project, topic, service, kind,
                 str(toggle)], env=env, capture_output=True, text=True, check=True)
            print(f"a fresh duplicate, {kind}: {_count(done.stderr) / RUNS / 1e6:.3f} million instructions "
                  f"per delivery ({RUNS} counted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
