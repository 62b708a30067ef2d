"""CPU to decode one ListRevisions answer, against decoding it through proto-plus and validated
models (the Run adapter's decoding before), in the same run.

A Cloud Run service lists every revision it still has, and a service deployed daily keeps
hundreds: the evidence reads all of them (shared/diagnosis/collection.py). The answer here is one
page of REVISIONS revisions shaped as Cloud Run returns them (a container with an image and a few
environment variables, a Ready condition and others, a connector or Direct VPC egress, a Cloud SQL
volume, scaling and a timeout), serialised as the server sends it. CPU medians of interleaved
rounds (time.process_time):
  - reference: the page deserialised into proto-plus wrappers, each revision read through them
    into a validated `Revision` (kept here as the reference);
  - the adapter: the page parsed as plain protobuf and each revision decoded by
    `shared.gcp.run.revision_from_proto` (evidence.decoded, no second validation).
Both must give the same revisions. Fails only if the adapter's decoding regresses past REGRESSION
of the reference, never on an absolute.

    .venv/bin/python bench/run_decode.py [--rounds 30] [--revisions 200]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# The adapter / the reference, CPU medians: 0.14 measured (200 revisions, loaded 2-vCPU machine).
REGRESSION = 0.5
SERVICE = "projects/bench/locations/us-central1/services/backend"
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def answer(count: int) -> bytes:
    from google.cloud import run_v2

    revisions = []
    for i in range(count):
        state = run_v2.Condition.State.CONDITION_SUCCEEDED
        revision = run_v2.Revision(
            name=f"{SERVICE}/revisions/backend-{i:05d}-abc", service=SERVICE, generation=1,
            create_time=T0 - timedelta(hours=count - i, microseconds=i), service_account="app@bench.iam.gserviceaccount.com",
            conditions=[run_v2.Condition(type_="Ready", state=state, last_transition_time=T0),
                        run_v2.Condition(type_="ContainerHealthy", state=state, last_transition_time=T0),
                        run_v2.Condition(type_="ResourcesAvailable", state=state, last_transition_time=T0,
                                         revision_reason=run_v2.Condition.RevisionReason.RETIRED if i % 3 else 0)],
            containers=[run_v2.Container(image=f"us-docker.pkg.dev/bench/app/backend:{i}", env=[
                run_v2.EnvVar(name=f"VAR_{k}", value=f"value-{k}") for k in range(6)],
                resources=run_v2.ResourceRequirements(limits={"memory": "512Mi", "cpu": "1000m"}, cpu_idle=bool(i % 2)),
                ports=[run_v2.ContainerPort(container_port=8080)])],
            scaling=run_v2.RevisionScaling(max_instance_count=20), max_instance_request_concurrency=80,
            timeout=timedelta(seconds=300), etag=f'"etag-{i}"',
            volumes=[run_v2.Volume(name="cloudsql", cloud_sql_instance=run_v2.CloudSqlInstance(
                instances=["bench:us-central1:main-db"]))])
        if i % 2:
            revision.vpc_access = run_v2.VpcAccess(connector="projects/bench/locations/us-central1/connectors/c",
                                                   egress=run_v2.VpcAccess.VpcEgress.PRIVATE_RANGES_ONLY)
        else:
            revision.vpc_access = run_v2.VpcAccess(network_interfaces=[run_v2.VpcAccess.NetworkInterface(
                network="default", subnetwork="apps")])
        revisions.append(revision)
    return run_v2.ListRevisionsResponse.serialize(run_v2.ListRevisionsResponse(revisions=revisions))


def plain_revision(proto: Any) -> Any:
    """One revision through proto-plus into a validated model: the adapter's decoding before
    (tests/unit/test_run_decode.py holds the adapter's to it, field by field)."""
    from google.cloud import run_v2

    from shared.diagnosis.evidence import Condition, Revision, SecretRef

    def condition(c: Any) -> Condition:
        which = run_v2.Condition.pb(c).WhichOneof("reasons")
        moved = c.last_transition_time if "last_transition_time" in c else None
        return Condition(type=c.type_, state=c.state.name, reason=getattr(c, which).name if which else "",
                         message=c.message,
                         last_transition_time=datetime.combine(moved.date(), moved.timetz()) if moved else None)

    instances: list[str] = []
    for volume in proto.volumes:
        for instance in volume.cloud_sql_instance.instances:
            if instance not in instances:
                instances.append(instance)
    created = proto.create_time
    return Revision(
        name=proto.name, service=proto.name.split("/revisions/")[0],
        create_time=datetime.combine(created.date(), created.timetz()),
        conditions=tuple(condition(c) for c in proto.conditions),
        vpc_connector=proto.vpc_access.connector or None,
        vpc_egress=proto.vpc_access.egress.name if proto.vpc_access.egress else None,
        vpc_network_interfaces=tuple(f"{n.network}/{n.subnetwork}".strip("/")
                                     for n in proto.vpc_access.network_interfaces),
        service_account=proto.service_account, cloudsql_instances=tuple(instances),
        max_instance_count=proto.scaling.max_instance_count or None,
        min_instance_count=proto.scaling.min_instance_count, session_affinity=proto.session_affinity,
        execution_environment=(proto.execution_environment.name.removeprefix("EXECUTION_ENVIRONMENT_")
                               if proto.execution_environment else ""),
        timeout_seconds=proto.timeout.total_seconds() if run_v2.Revision.pb(proto).HasField("timeout") else None,
        container_concurrency=proto.max_instance_request_concurrency or None, **_resources(proto.containers),
        env_values=tuple(e.value for c in proto.containers for e in c.env
                         if run_v2.EnvVar.pb(e).WhichOneof("values") == "value" and e.value),
        plain_env=tuple((e.name, e.value) for c in proto.containers for e in c.env
                        if run_v2.EnvVar.pb(e).WhichOneof("values") != "value_source"),
        secrets=tuple(SecretRef(env=e.name, secret=e.value_source.secret_key_ref.secret,
                                version=e.value_source.secret_key_ref.version,
                                container=(c.name or f"#{i + 1}")
                                if sum(any(x.name == e.name for x in o.env) for o in proto.containers) > 1 else "")
                      for i, c in enumerate(proto.containers) for e in c.env if "value_source" in e
                      and "secret_key_ref" in e.value_source) + tuple(
                          SecretRef(volume=v.name, secret=v.secret.secret, version=item.version if item else "",
                                    path=item.path if item else "",
                                    mode=((item.mode if item else 0) or v.secret.default_mode or 0o444) & ~0o222)
                          for v in proto.volumes if "secret" in v for item in (list(v.secret.items) or [None])),
        images=tuple(c.image for c in proto.containers))


def _resources(containers: Any) -> dict[str, Any]:
    """The ingress container's limits through proto-plus, as the adapter reads them."""
    from shared.gcp.run import cores, mebibytes

    ingress = next((c for c in containers if c.ports), containers[0] if len(containers) == 1 else None)
    if ingress is None:
        return {"memory_mib": None, "cpu_limit": None, "cpu_idle": None, "startup_cpu_boost": False}
    limits = dict(ingress.resources.limits)
    return {"memory_mib": mebibytes(limits.get("memory", "")), "cpu_limit": cores(limits.get("cpu", "")),
            "cpu_idle": ingress.resources.cpu_idle if limits else None,
            "startup_cpu_boost": ingress.resources.startup_cpu_boost}


def reference(data: bytes) -> list[Any]:
    """Through proto-plus into validated models: the adapter's decoding before."""
    from google.cloud import run_v2

    return [plain_revision(proto) for proto in run_v2.ListRevisionsResponse.deserialize(data).revisions]


def adapter(data: bytes) -> list[Any]:
    from google.cloud import run_v2

    from shared.gcp.run import revision_from_proto

    return [revision_from_proto(p) for p in run_v2.ListRevisionsResponse.pb().FromString(data).revisions]


def _cpu(fn: Callable[[], Any]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--revisions", type=int, default=200)
    args = parser.parse_args()
    data = answer(args.revisions)
    assert adapter(data) == reference(data), "the adapter's revisions differ from the reference's"
    ref, mine = [], []
    for _ in range(args.rounds):   # interleaved, so a noisy neighbour slows both alike
        ref.append(_cpu(lambda: reference(data)))
        mine.append(_cpu(lambda: adapter(data)))
    r, m = statistics.median(ref), statistics.median(mine)
    ratio = m / r
    print(f"ListRevisions answer of {args.revisions} revisions ({len(data):,} bytes), CPU per decode, median of "
          f"{args.rounds}: proto-plus + validated models {r * 1000:.1f} ms; the adapter {m * 1000:.1f} ms "
          f"({ratio:.2f}x; fails at {REGRESSION}x or above)")
    if ratio >= REGRESSION:
        print(f"REGRESSION: the adapter's decoding is {ratio:.2f}x the reference")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
