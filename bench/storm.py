"""The storm: many deliveries over many incidents through functions-framework, as Pub/Sub pushes them.

K services each have a bad revision (the bad_revision scenario, cloned K times); each service's
incident is published D times (Pub/Sub redeliveries, duplicate notifications). Through the real
stack (Pub/Sub emulator push -> functions-framework running main.py -> Firestore emulator and the
stand-ins), it checks exactly K writes and an outcome for every delivered message (0 lost), and
reports messages per second for the one worker and the CPU per delivery of the function and of
each emulator (from /proc).

The issue's storm is K=100, D=100 (10,000 deliveries: `--full`); the default here is scaled
down to K=20, D=10 so that it runs in well under a minute on a shared 2-core machine.
`--reference DIR` first runs DIR's own bench/storm.py (another checkout, e.g. the code before a
change) at the same size, so that the figures compare within one run.

The floor, in the same run (`--floor N`; by default as many deliveries as the storm's, at most
5,000; 0 skips it): the same functions-framework command serving an empty CloudEvent function (it
writes the message id and returns), pushed the same notification bodies by the same emulator. Its CPU per delivery is what
functions-framework, gunicorn and Flask cost before Runwarden's code runs; its Pub/Sub emulator
CPU is a push alone, without the outcome that the storm's function publishes and this harness
pulls. The harness itself (publishing, pulling outcomes, the log agent and the API stand-ins,
all in this process) is reported too: it shares the same two cores.

The harness models three things Google runs in production, each the way a client of the API
does it: Monitoring's publish (the storm's notifications published as a burst, in Publish calls of
100 messages on one kept channel, as the client library's batching publisher sends them); an
outcome consumer (one Pull of up to 1,000 and one Acknowledge of them all, a quarter second apart
while fewer than 1,000 wait, on the same ordered subscription readers use); and Cloud Run's
logging agent (the function's stdout, each read of the pipe sent as one batch of entries).

A delivery counts as answered once an outcome names its message id. Every outcome is checked: it
names a published message, that message's incident, ordering key and service, and is `applied`
(exactly one per incident) or a `skipped` duplicate. The run fails on a missing outcome, a wrong
one, or a message answered twice (the push subscription's ack deadline is the deployed 600 s, so
a redelivery would mean a push was lost or timed out).

Where the time goes (printed): the load average at the start and the end; how many deliveries the
function handled at once (at most two: the emulator opens two pushes per push subscription, a
constant, see bench/push_window.py); and the writes' GetOperation polls and the push time they
held. `--operation-polls N` sets how many polls find the Run stand-in's operation still running
(the stand-in's default is 2): Google documents no duration for a traffic-only UpdateService, so
this shows how much of the storm is that wait; it is not a figure for the goal
(docs/performance.md, "What bounds the storm").

    .venv/bin/python bench/storm.py [--full | --incidents K --per-incident D] [--reference DIR]
                                    [--operation-polls N] [--floor N]
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def storm_scenario(count: int, path: Path) -> Path:
    """bad_revision with `count` services (svc0..), each with its own revisions and series."""
    base = yaml.safe_load((ROOT / "sandbox" / "scenarios" / "bad_revision.yaml").read_text())
    services, series = [], []
    for i in range(count):
        name = f"svc{i}"

        def rename(node):
            text = yaml.safe_dump(node)
            return yaml.safe_load(text.replace("backend-0000", f"{name}-0000")
                                  .replace("service_name: backend", f"service_name: {name}"))

        service = rename(base["services"][0])
        service["name"] = name
        services.append(service)
        series += [rename(s) for s in base["timeseries"] if s["resource"]["type"] == "cloud_run_revision"]
    data = copy.deepcopy(base)
    data.update(name="storm", services=services,
                timeseries=series + [s for s in base["timeseries"] if s["resource"]["type"] != "cloud_run_revision"])
    data.pop("expect", None)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def storm_notification(scenario, anchor, i: int, incident_id: str) -> dict:
    """bad_revision's notification for svc{i}: its resource and its condition's filter both name that
    service, as Monitoring's would (a filter naming another service is a condition doubt, held back:
    shared/alerts/present_failure.py)."""
    note = scenario.notification(anchor, incident_id=incident_id)
    note["incident"]["resource"]["labels"]["service_name"] = f"svc{i}"
    threshold = note["incident"]["condition"]["conditionThreshold"]
    threshold["filter"] = threshold["filter"].replace('service_name="backend"', f'service_name="svc{i}"')
    return note


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])   # utime + stime
        except (OSError, IndexError):
            pass
    return total / CLOCK_TICKS


def compiler_threads(pids: list[int]) -> dict[int, Path]:
    """The /proc stat files, by thread id, of the HotSpot JIT compiler threads of the JVMs among
    `pids` (the emulators): "C1 CompilerThread<n>" and "C2 CompilerThread<n>" (a thread's comm, as
    Linux keeps it in /proc/<pid>/task/<tid>/comm, is cut to 15 characters: "C2 CompilerThre").
    The JVM starts and ends compiler threads as its queue needs them: look again before each reading
    that must count a new one (`jit_spent`)."""
    found: dict[int, Path] = {}
    for pid in pids:
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                if (task / "comm").read_text().startswith(("C1 CompilerThre", "C2 CompilerThre")):
                    found[int(task.name)] = task / "stat"
            except (OSError, ValueError):
                pass
    return found


def thread_ticks(stats: dict[int, Path]) -> dict[int, int]:
    """The CPU (utime + stime, clock ticks) of each thread whose stat file `stats` names; a thread
    that has ended is left out."""
    ticks: dict[int, int] = {}
    for tid, stat in stats.items():
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            ticks[tid] = int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return ticks


def jit_threads(pids: list[int]) -> dict[int, int]:
    """`thread_ticks` of the JVMs' compiler threads as they are now (`compiler_threads`)."""
    return thread_ticks(compiler_threads(pids))


def jit_spent(before: dict[int, int], after: dict[int, int]) -> float:
    """Seconds of JIT compiling between two `jit_threads` readings: each compiler thread's growth,
    a thread started since counted whole; a thread that ended since is not counted (its last CPU
    is lost with it: a slight undercount)."""
    return sum(ticks - before.get(tid, 0) for tid, ticks in after.items()) / CLOCK_TICKS


def group(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


FLOOR_SOURCE = r'''"""The storm's floor: an empty CloudEvent function behind functions-framework."""
import sys

import functions_framework


@functions_framework.cloud_event
def floor(cloud_event):
    sys.stdout.write(f"floor-delivery {cloud_event.data['message']['messageId']}\n")
'''
FLOOR_TOPIC = "storm-floor"


def _floor(box, notifications: list[dict], count: int, workdir: Path, timeout: float) -> dict[str, float]:
    """CPU per delivery of an empty function pushed `count` of the storm's notifications, and of the
    Pub/Sub emulator meanwhile."""

    source = workdir / "floor_main.py"
    source.write_text(FLOOR_SOURCE)
    box.pubsub.ensure_topic(FLOOR_TOPIC)
    server = box.start_function("floor", source=source, topic=FLOOR_TOPIC)
    box.pubsub.publish(FLOOR_TOPIC, b"{}")   # the first request, not measured: Flask's first request
    _wait_lines(server, 1, time.perf_counter() + 60)
    parts = {"function": group(os.getpgid(server.process.pid)), "pubsub emulator": group(box.pubsub.pgid)}
    before = {name: cpu_seconds(pids) for name, pids in parts.items()}
    start = time.perf_counter()
    bodies = [json.dumps(note).encode() for note in notifications]
    box.pubsub.publish_many(FLOOR_TOPIC, [bodies[i % len(bodies)] for i in range(count)])   # as the storm's
    answered = _wait_lines(server, count, start + timeout)
    elapsed = time.perf_counter() - start
    per = {name: (cpu_seconds(pids) - before[name]) / count for name, pids in parts.items()}   # before it stops
    server.stop()
    if answered < count:
        raise SystemExit(f"the floor answered {answered} of {count} pushes")
    return {**per, "rate": count / elapsed}


def _wait_lines(server, count: int, deadline: float) -> int:
    """Deliveries the floor reported, until `count` or the deadline. Counted by marker: the
    server's threads write to one pipe, so two reports may share a line."""
    seen = 0
    while seen < count and time.perf_counter() < deadline:
        try:
            seen += server.lines.get(timeout=0.5).count("floor-delivery ")
        except Exception:  # noqa: BLE001 - queue.Empty: keep waiting until the deadline
            continue
    return seen


PULL_PAUSE = 0.25   # seconds between pulls that found less than a full batch


def _wait_answered(box, published: set[str], deadline: float) -> list:
    """Outcomes until every published message id has one (redeliveries may add more), or the deadline.

    Consumed as a batch consumer would: one Pull of up to 1,000 and one Acknowledge of them all,
    and a pause of PULL_PAUSE after a pull that found less than a full batch, so that each round
    takes what a quarter second brought (at 150 msg/s, about 40) instead of a Pull and an
    Acknowledge per few outcomes. It adds at most PULL_PAUSE to the storm's time."""
    outcomes: list = []
    answered: set[str] = set()
    while not published <= answered and time.perf_counter() < deadline:
        batch = box.pull_outcomes(1000, timeout=min(10.0, max(0.1, deadline - time.perf_counter())))
        outcomes += batch
        answered.update(o.body.get("message_id") for o in batch)
        if len(batch) < 1000 and not published <= answered:
            time.sleep(PULL_PAUSE)
    return outcomes


def _handling_spans(lines: list[dict]) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each delivery's `received` and `outcome_published` steps, by the function's own clock (the
    timeline's `time`), by the outcome's status. Paired by incident: the storm interleaves its
    incidents, so two deliveries of one incident are rarely handled at once."""
    received: dict[str, str] = {}
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    for line in lines:
        step = line.get("runwarden", {})
        if step.get("step") == "received" and step.get("message_id"):
            received[step["incident_id"]] = line["time"]
        elif step.get("step") == "outcome_published" and step.get("incident_id") in received:
            start = datetime.fromisoformat(received.pop(step["incident_id"]))
            spans.setdefault(step.get("status", ""), []).append((start, datetime.fromisoformat(line["time"])))
    return spans


def _handling_times(spans: dict[str, list[tuple[datetime, datetime]]]) -> dict[str, list[float]]:
    """Seconds from `received` to `outcome_published`, by status."""
    return {status: [(end - start).total_seconds() for start, end in pairs] for status, pairs in spans.items()}


def most_in_flight(spans: dict[str, list[tuple[datetime, datetime]]]) -> int:
    """The most deliveries the function was handling at once: the pushes the emulator had open to
    it, seen from inside (a push is open a little longer than its handling)."""
    edges = sorted((moment, kind) for pairs in spans.values() for start, end in pairs
                   for moment, kind in ((start, 1), (end, -1)))   # an end sorts before a start at the same time
    now = most = 0
    for _, kind in edges:
        now += kind
        most = max(most, now)
    return most


def after_first_writes(outcomes: list) -> tuple[int, float] | None:
    """Deliveries answered after the last `applied` outcome, and the seconds they took, by the
    function's clock (each outcome's `completed_at`): the storm once every incident's write is done,
    when every delivery is a duplicate. None if nothing came after."""
    def at(o) -> datetime:
        return datetime.fromisoformat(o.body["timestamps"]["completed_at"].replace("Z", "+00:00"))

    last_write = max((at(o) for o in outcomes if o.body.get("status") == "applied"), default=None)
    later = [at(o) for o in outcomes if last_write is not None and at(o) > last_write]
    if not later:
        return None
    return len(later), (max(later) - last_write).total_seconds()


def check_outcomes(outcomes: list, incident_of: dict[str, str], targets: dict[str, str]) -> list[str]:
    """Every outcome, against what was published: it names a published message, that message's
    incident, ordering key and target service; it is `applied` or a `skipped` duplicate; each
    incident has exactly one `applied`. Problems, as sentences (none when all is well)."""
    problems: list[str] = []
    applied: dict[str, int] = {}
    for o in outcomes:
        body, message_id = o.body, o.body.get("message_id")
        incident = incident_of.get(message_id)
        if incident is None:
            problems.append(f"an outcome for a message never published: {message_id}")
            continue
        if body.get("incident_id") != incident or o.ordering_key != incident:
            problems.append(f"message {message_id}: incident {body.get('incident_id')!r}, ordering key "
                            f"{o.ordering_key!r}; expected {incident!r}")
        if not str(body.get("target") or "").endswith(f"/services/{targets[incident]}"):
            problems.append(f"message {message_id}: target {body.get('target')!r}, expected service {targets[incident]}")
        if body.get("status") == "applied":
            applied[incident] = applied.get(incident, 0) + 1
        elif body.get("status") != "skipped" or "already" not in body.get("reason", ""):
            problems.append(f"message {message_id}: {body.get('status')}: {body.get('reason')!r}")
    for incident in targets:
        if applied.get(incident, 0) != 1:
            problems.append(f"incident {incident}: {applied.get(incident, 0)} applied outcomes, expected 1")
    return problems


def _reference(args: argparse.Namespace) -> dict[str, float]:
    """Runs the reference checkout's storm at the same size; its rate and function CPU per delivery."""
    command = [sys.executable, str(args.reference / "bench" / "storm.py"), "--incidents", str(args.incidents),
               "--per-incident", str(args.per_incident)]
    done = subprocess.run(command, cwd=args.reference, capture_output=True, text=True, timeout=args.timeout + 120)
    summary = [line for line in done.stdout.splitlines() if not line.startswith("{")]
    print("reference: " + "\n  ".join(summary))
    rate = re.search(r"(\d+) msg/s", done.stdout)
    function = re.search(r"function ([\d.]+) ms", done.stdout)
    if not (rate and function):
        raise SystemExit(f"the reference storm printed no figures:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return {"rate": float(rate.group(1)), "function": float(function.group(1))}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--incidents", type=int, default=20)
    parser.add_argument("--per-incident", type=int, default=10)
    parser.add_argument("--full", action="store_true", help="the issue's storm: 100 incidents x 100 deliveries")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--reference", type=Path, help="another checkout whose bench/storm.py runs first")
    parser.add_argument("--operation-polls", type=int, default=None,
                        help="polls that find the Run stand-in's UpdateService operation still running before it is "
                             "done (default: the stand-in's own, 2). How long Cloud Run takes is not documented: "
                             "this shows how much of the storm's time is that wait, not a faster product")
    parser.add_argument("--floor", type=int, default=None,
                        help="deliveries to an empty function behind the same server, after the storm (0: none; "
                             "default: as many as the storm's, at most 5,000)")
    args = parser.parse_args()
    if args.full:
        args.incidents, args.per_incident = 100, 100
    if args.floor is None:
        args.floor = min(5000, args.incidents * args.per_incident)
    reference = _reference(args) if args.reference else None

    from sandbox.stack import Sandbox

    anchor = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=2)
    total = args.incidents * args.per_incident
    with tempfile.TemporaryDirectory() as tmp:
        scenario = storm_scenario(args.incidents, Path(tmp) / "storm.yaml")
        config = {"guardrails": {"max_actions_per_hour": 1000}}
        with Sandbox(scenario, anchor=anchor, config=config) as box:
            if args.operation_polls is not None:
                box.standins.run.lro_polls_before_done = args.operation_polls
            function = box.start_function("on_alert")
            notifications = []
            for i in range(args.incidents):
                notifications.append(storm_notification(box.scenario, anchor, i, f"0.storm{i}{uuid.uuid4().hex[:6]}"))
            box.publish_alert(b"warm-up: not a notification")   # a cold start, answered `rejected`
            assert [o.body["status"] for o in box.wait_outcomes(1, timeout=60)] == ["rejected"]
            parts = {"function": group(os.getpgid(function.process.pid)),
                     "pubsub emulator": group(box.pubsub.pgid), "firestore emulator": group(box.firestore.pgid)}
            cpu_before = {name: cpu_seconds(pids) for name, pids in parts.items()}
            load_before = os.getloadavg()
            harness_before = time.process_time()
            start = time.perf_counter()
            # Every incident once, then again: interleaved; published in batches, as a burst is.
            ids = box.publish_alerts([note for _ in range(args.per_incident) for note in notifications])
            incident_of = {mid: notifications[i % args.incidents]["incident"]["incident_id"] for i, mid in enumerate(ids)}
            published = set(ids)
            outcomes = _wait_answered(box, published, start + args.timeout)
            elapsed = time.perf_counter() - start
            cpu = {name: cpu_seconds(pids) - cpu_before[name] for name, pids in parts.items()}
            harness = time.process_time() - harness_before
            writes = box.standins.run.count("UpdateService")
            polls = box.standins.run.count("GetOperation")
            polls_running = box.standins.run.lro_polls_before_done
            handled = _handling_spans(function.timeline())
            handling = _handling_times(handled)
            load_after = os.getloadavg()
            function.stop()
            floor = _floor(box, notifications, args.floor, Path(tmp), args.timeout) if args.floor else None
    answered = {o.body.get("message_id") for o in outcomes}
    lost = len(published - answered)
    redelivered = len(outcomes) - len(answered & published)
    statuses: dict[str, int] = {}
    for o in outcomes:
        statuses[o.body["status"]] = statuses.get(o.body["status"], 0) + 1
    print(f"storm: {total} deliveries over {args.incidents} incidents in {elapsed:.1f} s, one worker "
          f"(load average {load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end, on "
          f"{os.cpu_count()} CPUs)")
    print(f"  {len(outcomes)} outcomes {statuses}; writes {writes} (expected {args.incidents}); lost {lost}; "
          f"answered twice after a redelivery {redelivered}")
    print(f"  {total / elapsed:.0f} msg/s; CPU per delivery: " + ", ".join(
        f"{name} {seconds / total * 1000:.1f} ms" for name, seconds in cpu.items()))
    per_delivery = {name: seconds / total for name, seconds in cpu.items()}
    outcome_bytes = sum(len(json.dumps(o.body).encode()) for o in outcomes) / max(1, len(outcomes))
    print(f"  outcome message: {outcome_bytes:.0f} bytes on average; the harness (publisher, outcome puller, log "
          f"agent, stand-ins; this process): {harness / total * 1000:.1f} ms CPU per delivery")
    print(f"  CPU alone would allow: the function {1 / per_delivery['function']:.0f} msg/s per core; all three "
          f"parts {2 / sum(per_delivery.values()):.0f} msg/s on this machine's 2 cores "
          f"({2 / (sum(per_delivery.values()) + harness / total):.0f} msg/s with the harness)")
    tail = after_first_writes(outcomes)
    if tail and tail[1] > 0:
        print(f"  after the last write: {tail[0]} deliveries in {tail[1]:.1f} s, {tail[0] / tail[1]:.0f} msg/s "
              f"(every delivery a duplicate)")
    for status, spans in sorted(handling.items()):
        spans.sort()
        print(f"  inside the function, received -> outcome published, {len(spans)} {status}: median "
              f"{spans[len(spans) // 2] * 1000:.1f} ms, p90 {spans[int(len(spans) * 0.9)] * 1000:.1f} ms, in all "
              f"{sum(spans):.1f} s of the run's {elapsed:.1f} s")
    in_flight = sum(sum(times) for times in handling.values()) / elapsed
    print(f"  deliveries handled at once: at most {most_in_flight(handled)}, {in_flight:.2f} on average (the "
          f"emulator opens two pushes per push subscription: bench/push_window.py)")
    held = sum(handling.get("applied", []))
    if writes:
        print(f"  the {writes} writes: {polls / writes:.1f} GetOperation polls each (the Run stand-in's operation "
              f"is done after {polls_running} polls that find it running); their "
              f"deliveries held a push for {held:.1f} s in all, at least {held / 2:.1f} s of the run over two pushes")
    if floor:
        print(f"  floor in this run (an empty CloudEvent function, same server and push, {args.floor} deliveries): "
              f"{floor['rate']:.0f} msg/s; CPU per delivery: function {floor['function'] * 1000:.1f} ms, pubsub "
              f"emulator {floor['pubsub emulator'] * 1000:.1f} ms -> Runwarden's own share of the function's CPU "
              f"{(per_delivery['function'] - floor['function']) * 1000:.1f} ms per delivery")
    if reference:
        ours = total / elapsed
        print(f"  against the reference in this run ({args.reference}): {reference['rate']:.0f} msg/s, function "
              f"{reference['function']:.1f} ms CPU per delivery -> {ours / reference['rate']:.2f}x the rate, "
              f"{per_delivery['function'] * 1000 / reference['function']:.2f}x the function's CPU")
    targets = {note["incident"]["incident_id"]: note["incident"]["resource"]["labels"]["service_name"]
               for note in notifications}
    problems = check_outcomes(outcomes, incident_of, targets)
    for problem in problems[:20]:
        print(f"  outcome check: {problem}")
    ok = writes == args.incidents and lost == 0 and redelivered == 0 and not problems and len(published) == total
    print("exactly one write per incident, none lost, none answered twice, every outcome as expected" if ok
          else "FAILED: writes, losses, answers twice or outcomes are wrong")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
