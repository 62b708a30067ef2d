"""Cloud Run answers decoded from the plain protobuf messages give exactly what a plain decoding
through proto-plus and validated models gives: field by field and type by type."""
from __future__ import annotations

import random
from typing import Any
from datetime import datetime, timedelta, timezone

import pytest
from google.cloud import run_v2

from bench.run_decode import plain_revision
from shared.diagnosis.evidence import Condition, Revision, SecretRef, Service, TrafficTarget, TrafficType, short_name
from shared.diagnosis.secret_refs import plain_credentials_changed
from shared.remediation.generations import build_stamps
from shared.gcp.run import cores, mebibytes, revision_from_proto, service_from_proto, template_settings

SERVICE = "projects/p/locations/us-central1/services/backend"
REVISION_REASONS = [n for n in run_v2.Condition.RevisionReason.__members__ if n != "REVISION_REASON_UNDEFINED"]
COMMON_REASONS = [n for n in run_v2.Condition.CommonReason.__members__ if n != "COMMON_REASON_UNDEFINED"]
STATES = list(run_v2.Condition.State.__members__)


def plain_service(proto: run_v2.Service) -> Service:
    def target(t: run_v2.TrafficTarget) -> TrafficTarget:
        latest = t.type_.name == "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST" or (
            t.type_.name != "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION" and not t.revision)
        return TrafficTarget(type=TrafficType.LATEST if latest else TrafficType.REVISION,
                             revision=short_name(t.revision) or None, percent=t.percent, tag=t.tag)

    return Service(name=proto.name, generation=proto.generation, etag=proto.etag,
                   traffic=tuple(target(t) for t in proto.traffic),
                   traffic_statuses=tuple(target(t) for t in proto.traffic_statuses),
                   latest_ready_revision=short_name(proto.latest_ready_revision) or None,
                   latest_created_revision=short_name(proto.latest_created_revision) or None,
                   labels=dict(proto.labels), urls=tuple(dict.fromkeys(u for u in (proto.uri, *proto.urls) if u)),
                   max_instance_count=proto.scaling.max_instance_count or None, template_known="template" in proto,
                   template_connector=proto.template.vpc_access.connector or None,
                   # The service-level settings this test sets (scaling alone), in proto3 JSON: the template and
                   # everything else left out (shared/gcp/run.py SERVICE_SETTINGS).
                   settings={"scaling": {"max_instance_count": proto.scaling.max_instance_count}}
                   if proto.scaling.max_instance_count else {},
                   # Its own tests below (test_the_template_is_read_as_its_configuration).
                   template_settings=template_settings(proto))


def random_revision(rng: random.Random, i: int) -> run_v2.Revision:
    created = datetime(2026, 11, 26, tzinfo=timezone.utc) + timedelta(seconds=rng.randrange(10**6),
                                                                     microseconds=rng.randrange(10**6))
    proto = run_v2.Revision(name=f"{SERVICE}/revisions/backend-{i:05d}-x", create_time=created,
                            service_account=rng.choice(["", "sa@p.iam.gserviceaccount.com"]),
                            max_instance_request_concurrency=rng.choice([0, 1, 80]))
    run_v2.Revision.pb(proto).create_time.nanos += rng.randrange(1000)   # below a microsecond
    for _ in range(rng.randrange(4)):
        c = run_v2.Condition(type_=rng.choice(["Ready", "ContainerHealthy", "ResourcesAvailable"]),
                             state=run_v2.Condition.State[rng.choice(STATES)], message=rng.choice(["", "why"]))
        if rng.random() < 0.5:
            c.last_transition_time = created + timedelta(seconds=rng.randrange(600), microseconds=rng.randrange(10**6))
        kind = rng.randrange(3)
        if kind == 1:
            c.reason = run_v2.Condition.CommonReason[rng.choice(COMMON_REASONS)]
        elif kind == 2:
            c.revision_reason = run_v2.Condition.RevisionReason[rng.choice(REVISION_REASONS)]
        proto.conditions.append(c)
    if rng.random() < 0.5:
        proto.vpc_access.connector = "projects/p/locations/us-central1/connectors/c"
        proto.vpc_access.egress = run_v2.VpcAccess.VpcEgress[rng.choice(["ALL_TRAFFIC", "PRIVATE_RANGES_ONLY"])]
    elif rng.random() < 0.5:
        proto.vpc_access.network_interfaces = [run_v2.VpcAccess.NetworkInterface(
            network=rng.choice(["", "default"]), subnetwork=rng.choice(["", "sub"]))]
    for _ in range(rng.randrange(3)):
        proto.volumes.append(run_v2.Volume(name="cloudsql", cloud_sql_instance=run_v2.CloudSqlInstance(
            instances=rng.sample(["p:r:a", "p:r:b", "d.com:p:r:c"], rng.randrange(1, 3)))))
    if rng.random() < 0.5:
        # A secret volume: one file named after the secret, or items pinning versions (SecretVolumeSource).
        items = rng.choice([[], [run_v2.VersionToPath(path="config.json", version=rng.choice(["latest", "7"]),
                                                     mode=rng.choice([0, 0o400, 0o644]))]])
        proto.volumes.append(run_v2.Volume(name="config", secret=run_v2.SecretVolumeSource(
            secret="app-config", items=items, default_mode=rng.choice([0, 0o440]))))
    if rng.random() < 0.5:
        proto.scaling.max_instance_count = rng.randrange(1, 100)
    if rng.random() < 0.5:
        proto.scaling.min_instance_count = rng.randrange(0, 10)
    # Revision.session_affinity, Revision.execution_environment (revision.proto; ExecutionEnvironment,
    # vendor_settings.proto), UNSPECIFIED included.
    proto.session_affinity = rng.random() < 0.5
    proto.execution_environment = run_v2.ExecutionEnvironment(rng.randrange(3))
    if rng.random() < 0.5:
        proto.timeout = timedelta(seconds=rng.randrange(1, 3600), microseconds=rng.randrange(10**6))
    # One container, or an ingress container (the one with a port) beside a sidecar, or two without
    # a port; with or without limits.
    for k in range(rng.choice([1, 1, 2])):
        limits = rng.choice([{}, {"memory": rng.choice(["512Mi", "1Gi", "2G", "300M"])},
                             {"memory": "4Gi", "cpu": rng.choice(["1", "2", "1000m"])}])
        # Container.image: a tag, a digest, or unset (k8s_min.proto).
        image = rng.choice(["", "us-docker.pkg.dev/p/r/app:v3", "us-docker.pkg.dev/p/r/app@sha256:" + "ab" * 32])
        container = run_v2.Container(name=f"c{k}", image=image, resources=run_v2.ResourceRequirements(
            limits=limits, cpu_idle=rng.random() < 0.5, startup_cpu_boost=rng.random() < 0.5))
        if rng.random() < 0.5:
            container.ports = [run_v2.ContainerPort(container_port=8080)]
        # Plain values, empty ones, and a secret's reference (EnvVar's oneof `values`).
        for n in range(rng.randrange(3)):
            container.env.append(run_v2.EnvVar(name=f"V{n}", value=rng.choice(["", "db.example", f"v{k}{n}"])))
        if rng.random() < 0.5:
            container.env.append(run_v2.EnvVar(name="DB_PASSWORD", value_source=run_v2.EnvVarSource(
                secret_key_ref=run_v2.SecretKeySelector(secret="db-password", version="3"))))
        proto.containers.append(container)
    return proto


def same(decoded, validated) -> None:
    assert decoded == validated
    for name in type(validated).model_fields:
        mine, theirs = getattr(decoded, name), getattr(validated, name)
        assert type(mine) is type(theirs), name
        if isinstance(theirs, datetime):
            assert mine.tzinfo == theirs.tzinfo and mine.microsecond == theirs.microsecond


@pytest.mark.parametrize("seed", range(40))
def test_revisions_decode_as_validated_models(seed):
    rng = random.Random(seed)
    proto = random_revision(rng, seed)
    validated = plain_revision(proto)
    same(revision_from_proto(proto), validated)                     # a proto-plus message
    same(revision_from_proto(run_v2.Revision.pb(proto)), validated)   # the plain protobuf one
    for mine, theirs in zip(revision_from_proto(proto).conditions, validated.conditions):
        same(mine, theirs)


def test_a_reason_this_library_does_not_know_is_named_by_its_number():
    proto = run_v2.Revision(name=f"{SERVICE}/revisions/r")
    raw = run_v2.Revision.pb(proto)
    condition = raw.conditions.add(type_="Ready")
    condition.revision_reason = 999
    assert revision_from_proto(raw).conditions[0].reason == "999"


def test_services_decode_as_validated_models():
    latest, revision = (run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST,
                        run_v2.TrafficTargetAllocationType.TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION)
    proto = run_v2.Service(
        name=SERVICE, generation=7, etag='"e"', labels={"runwarden": "enabled"},
        traffic=[run_v2.TrafficTarget(type_=revision, revision="backend-1", percent=90, tag="stable"),
                 run_v2.TrafficTarget(type_=latest, percent=10),
                 run_v2.TrafficTarget(percent=0, tag="untyped")],
        traffic_statuses=[run_v2.TrafficTargetStatus(type_=revision, revision="backend-1", percent=90),
                          run_v2.TrafficTargetStatus(type_=latest, revision="backend-2", percent=10)],
        latest_ready_revision=f"{SERVICE}/revisions/backend-2", latest_created_revision=f"{SERVICE}/revisions/backend-3",
        uri="https://backend-418273645012.us-central1.run.app",
        urls=["https://backend-418273645012.us-central1.run.app", "https://backend-3kq7xwpd2a-uc.a.run.app"],
        scaling=run_v2.ServiceScaling(max_instance_count=5))
    same(service_from_proto(proto), plain_service(proto))
    assert service_from_proto(proto).max_instance_count == 5
    assert service_from_proto(proto).urls == ("https://backend-418273645012.us-central1.run.app",
                                              "https://backend-3kq7xwpd2a-uc.a.run.app")
    same(service_from_proto(run_v2.Service.pb(proto)), plain_service(proto))
    assert not service_from_proto(proto).template_known   # a ListServices entry may come without its template
    proto.template = run_v2.RevisionTemplate(vpc_access=run_v2.VpcAccess(connector="backend-conn"))
    same(service_from_proto(proto), plain_service(proto))
    assert service_from_proto(proto).template_known and service_from_proto(proto).template_connector == "backend-conn"
    # A service-level setting is read; a deploy's template, the client gcloud names, labels are not settings.
    proto.ingress = run_v2.IngressTraffic.INGRESS_TRAFFIC_INTERNAL_ONLY
    proto.client_version, proto.labels["team"] = "9", "a"
    assert service_from_proto(proto).settings == {"ingress": "INGRESS_TRAFFIC_INTERNAL_ONLY",
                                                  "scaling": {"max_instance_count": 5}}


QUANTITIES = {"512Mi": 512.0, "1Gi": 1024.0, "2G": 2e9 / 2 ** 20, "300M": 3e8 / 2 ** 20, "0.5Gi": 512.0,
              "": None, "lots": None, "512Xi": None}


@pytest.mark.parametrize("quantity", QUANTITIES, ids=lambda q: q or "empty")
def test_memory_limits_read_as_mebibytes(quantity):
    assert mebibytes(quantity) == QUANTITIES[quantity]


@pytest.mark.parametrize("quantity,expected", [("1", 1.0), ("2", 2.0), ("1000m", 1.0), ("500m", 0.5),
                                               ("", None), ("x", None)])
def test_cpu_limits_read_as_cores(quantity, expected):
    assert cores(quantity) == expected


def test_the_ingress_containers_limits_are_read_beside_a_sidecar():
    proto = run_v2.Revision(name=f"{SERVICE}/revisions/r", containers=[
        run_v2.Container(name="proxy", resources=run_v2.ResourceRequirements(limits={"memory": "256Mi", "cpu": "1"})),
        run_v2.Container(name="app", ports=[run_v2.ContainerPort(container_port=8080)],
                         resources=run_v2.ResourceRequirements(limits={"memory": "1Gi", "cpu": "2"}, cpu_idle=True))])

    revision = revision_from_proto(proto)

    assert (revision.memory_mib, revision.cpu_limit, revision.cpu_idle) == (1024.0, 2.0, True)


# (min_instance_count, startup_cpu_boost, session_affinity, execution_environment) as set on the proto,
# and as read: RevisionScaling.min_instance_count (vendor_settings.proto), the ingress container's
# ResourceRequirements.startup_cpu_boost (k8s.min.proto), Revision.session_affinity and
# Revision.execution_environment (revision.proto).
INSTANCE_SETTINGS = {
    "none set": ((0, False, False, 0), (0, False, False, "")),
    "min instances 5": ((5, False, False, 0), (5, False, False, "")),
    "startup CPU boost": ((0, True, False, 0), (0, True, False, "")),
    "session affinity": ((0, False, True, 0), (0, False, True, "")),
    "gen1": ((0, False, False, 1), (0, False, False, "GEN1")),
    "gen2, everything": ((3, True, True, 2), (3, True, True, "GEN2")),
}


@pytest.mark.parametrize("case", INSTANCE_SETTINGS.values(), ids=INSTANCE_SETTINGS.keys())
def test_the_instance_settings_are_read_off_the_revision(case):
    (minimum, boost, affinity, environment), expected = case
    proto = run_v2.Revision(
        name=f"{SERVICE}/revisions/r", scaling=run_v2.RevisionScaling(min_instance_count=minimum),
        session_affinity=affinity, execution_environment=run_v2.ExecutionEnvironment(environment),
        containers=[run_v2.Container(name="app", resources=run_v2.ResourceRequirements(
            limits={"cpu": "1"}, startup_cpu_boost=boost))])

    revision = revision_from_proto(proto)

    assert (revision.min_instance_count, revision.startup_cpu_boost, revision.session_affinity,
            revision.execution_environment) == expected


def test_plain_env_values_are_read_from_every_container_and_a_secrets_never():
    """Container.env[]: EnvVar's `value` or `value_source.secret_key_ref` (google/cloud/run/v2/k8s_min.proto)."""
    secret = run_v2.EnvVarSource(secret_key_ref=run_v2.SecretKeySelector(secret="db-password", version="latest"))
    proto = run_v2.Revision(name=f"{SERVICE}/revisions/r", containers=[
        run_v2.Container(name="app", env=[run_v2.EnvVar(name="DB_HOST", value="db.example"),
                                          run_v2.EnvVar(name="DB_PASSWORD", value_source=secret),
                                          run_v2.EnvVar(name="EMPTY", value="")]),
        run_v2.Container(name="proxy", env=[run_v2.EnvVar(name="UPSTREAM", value="http://api.example:8080")])])

    revision = revision_from_proto(proto)

    assert revision.env_values == ("db.example", "http://api.example:8080")
    assert revision.plain_env == (("DB_HOST", "db.example"), ("EMPTY", ""), ("UPSTREAM", "http://api.example:8080"))
    assert "db.example" not in repr(revision) and "env_values" not in revision.model_dump()
    assert "plain_env" not in revision.model_dump()


@pytest.mark.parametrize("sent", ["value", "neither"])
def test_an_empty_variable_is_a_setting_whether_sent_as_value_or_unset(sent):
    """EnvVar.value "Defaults to \"\"" (k8s_min.proto): `FEATURE_X=""` sent as `value: ""` or with neither member of
    the oneof set gives the container the variable, empty; both read as ("FEATURE_X", ""), so a deploy that only
    added it, or only blanked DB_PASSWORD, is a change of the revision's plain env, and of that credential."""
    empty = run_v2.EnvVar(name="FEATURE_X", value="") if sent == "value" else run_v2.EnvVar(name="FEATURE_X")
    blank = run_v2.EnvVar(name="DB_PASSWORD", value="") if sent == "value" else run_v2.EnvVar(name="DB_PASSWORD")
    before = revision_from_proto(run_v2.Revision(name=f"{SERVICE}/revisions/a", containers=[
        run_v2.Container(env=[run_v2.EnvVar(name="DB_PASSWORD", value="s3cret")])]))
    after = revision_from_proto(run_v2.Revision(name=f"{SERVICE}/revisions/b", containers=[
        run_v2.Container(env=[blank, empty])]))

    assert after.plain_env == (("DB_PASSWORD", ""), ("FEATURE_X", ""))
    assert after.env_values == ()                 # an empty value names no host
    assert plain_credentials_changed(before, after) == ["plain env DB_PASSWORD"]


@pytest.mark.parametrize("sent", ["value", "neither"])
def test_a_pipeline_deploy_that_also_added_an_empty_variable_is_not_its_build_stamps(sent):
    """The verification's reading of a deploy under a pin (generations.build_stamps): a new image by the same
    creator that restamped GIT_SHA is a pipeline's; one that also added FEATURE_X="" changed a setting beside it."""
    def revision(name: str, image: str, sha: str, *extra: run_v2.EnvVar) -> Any:
        return revision_from_proto(run_v2.Revision(name=f"{SERVICE}/revisions/{name}", creator="ci@p.iam.gserviceaccount.com",
                                                   containers=[run_v2.Container(image=image, env=[
                                                       run_v2.EnvVar(name="GIT_SHA", value=sha), *extra])]))
    empty = run_v2.EnvVar(name="FEATURE_X", value="") if sent == "value" else run_v2.EnvVar(name="FEATURE_X")
    before = revision("a", "r/app:1", "a" * 40)

    assert build_stamps(before, revision("b", "r/app:2", "b" * 40)) == ("GIT_SHA",)
    assert build_stamps(before, revision("b", "r/app:2", "b" * 40, empty)) is None


def test_the_secrets_a_revision_reads_are_read_by_name_and_version_never_by_value():
    """EnvVarSource.secret_key_ref (SecretKeySelector `secret`, `version`) and SecretVolumeSource (`secret`,
    items[].version and items[].path, one ref per item; no items: one file, no version given),
    google/cloud/run/v2/k8s_min.proto."""
    def secret(name: str, version: str) -> run_v2.EnvVarSource:
        return run_v2.EnvVarSource(secret_key_ref=run_v2.SecretKeySelector(secret=name, version=version))

    proto = run_v2.Revision(name=f"{SERVICE}/revisions/r", containers=[
        run_v2.Container(name="app", env=[run_v2.EnvVar(name="DB_HOST", value="db.example"),
                                          run_v2.EnvVar(name="DB_PASSWORD", value_source=secret("db-password", "4")),
                                          run_v2.EnvVar(name="API_TOKEN", value_source=secret(
                                              "projects/other/secrets/api-token", "latest"))])],
        volumes=[run_v2.Volume(name="tls", secret=run_v2.SecretVolumeSource(secret="tls-cert")),
                 run_v2.Volume(name="config", secret=run_v2.SecretVolumeSource(
                     secret="app-config", items=[run_v2.VersionToPath(path="app.json", version="12"),
                                                  run_v2.VersionToPath(path="flags.json", version="latest")])),
                 run_v2.Volume(name="cloudsql", cloud_sql_instance=run_v2.CloudSqlInstance(instances=["p:r:i"]))])

    revision = revision_from_proto(run_v2.Revision.pb(proto))

    assert revision.secrets == (SecretRef(env="DB_PASSWORD", secret="db-password", version="4"),
                                SecretRef(env="API_TOKEN", secret="projects/other/secrets/api-token", version="latest"),
                                SecretRef(volume="tls", secret="tls-cert", version="", mode=0o444),
                                SecretRef(volume="config", secret="app-config", version="12", path="app.json",
                                          mode=0o444),
                                SecretRef(volume="config", secret="app-config", version="latest", path="flags.json",
                                          mode=0o444))
    assert [r.pinned for r in revision.secrets] == [True, False, False, True, False]


def test_a_conditions_last_transition_is_read():
    """Condition.last_transition_time ("Last time the condition transitioned from one status to another",
    google/cloud/run/v2/condition.proto): when a revision's Ready condition settled (Revision.settled_at), a slow
    start's minutes after its create_time; unset, None."""
    created = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    ready = created + timedelta(minutes=3, microseconds=250000)
    proto = run_v2.Revision(name=f"{SERVICE}/revisions/r", create_time=created, conditions=[
        run_v2.Condition(type_="Ready", state=run_v2.Condition.State.CONDITION_SUCCEEDED, last_transition_time=ready),
        run_v2.Condition(type_="ContainerHealthy", state=run_v2.Condition.State.CONDITION_SUCCEEDED)])
    for answer in (proto, run_v2.Revision.pb(proto)):
        read = revision_from_proto(answer)
        assert [c.last_transition_time for c in read.conditions] == [ready, None]
        assert read.settled_at == ready


def test_who_changed_the_service_last_and_when_are_read():
    """Service.last_modifier and update_time (output only, google/cloud/run/v2/service.proto): what Cloud Run keeps
    of a split moved by a rollout tool (release_pipeline.rollout_mover); unset, "" and None."""
    at = datetime(2026, 1, 1, 12, 10, 0, 250000, tzinfo=timezone.utc)
    proto = run_v2.Service(name=SERVICE, generation=7, last_modifier="deployer@p.iam.gserviceaccount.com",
                           update_time=at)
    for answer in (proto, run_v2.Service.pb(proto)):
        read = service_from_proto(answer)
        assert (read.last_modifier, read.update_time) == ("deployer@p.iam.gserviceaccount.com", at)
    unset = service_from_proto(run_v2.Service(name=SERVICE, generation=7))
    assert (unset.last_modifier, unset.update_time) == ("", None)


def _templated(**container: object) -> run_v2.Service:
    """A service whose template runs one container with `container`'s fields (an image and an env by default)."""
    fields = {"image": "europe-docker.pkg.dev/p/r/backend:v1", "env": [run_v2.EnvVar(name="POOL", value="10")],
              **container}
    return run_v2.Service(name=SERVICE, template=run_v2.RevisionTemplate(
        revision="backend-00002-new", labels={"commit": "abc"}, containers=[run_v2.Container(**fields)],
        vpc_access=run_v2.VpcAccess(connector="backend-conn")))


def test_the_template_is_read_as_its_configuration():
    """The revision template's fields that change how a revision serves are read, each as a digest: a person's env
    change shows in `containers[0].env`; a pipeline's new image, the revision's name and labels (what a deploy of
    new code changes) and output-only fields do not; a service read without its template has none."""
    kept = template_settings(_templated())
    assert set(kept) == {"containers[0].env", "vpc_access"}, kept
    assert all(len(d) == 12 and "10" not in d for d in kept.values()), kept      # digests, not values
    assert template_settings(run_v2.Service.pb(_templated())) == kept           # the plain protobuf alike
    deploy = _templated(image="europe-docker.pkg.dev/p/r/backend:v2", build_info=run_v2.BuildInfo(source_location="x"))
    deploy.template.revision, deploy.template.labels = "backend-00003-pip", {"commit": "def"}
    assert template_settings(deploy) == kept
    env = _templated(env=[run_v2.EnvVar(name="POOL", value="50")])
    assert [k for k in kept if template_settings(env)[k] != kept[k]] == ["containers[0].env"]
    egress = _templated()
    egress.template.vpc_access.egress = run_v2.VpcAccess.VpcEgress.ALL_TRAFFIC
    assert [k for k in kept if template_settings(egress)[k] != kept[k]] == ["vpc_access"]
    scaled = _templated()
    scaled.template.scaling = run_v2.RevisionScaling(min_instance_count=2)
    assert set(template_settings(scaled)) - set(kept) == {"scaling"}
    assert template_settings(run_v2.Service(name=SERVICE)) is None
    assert service_from_proto(env).template_settings == template_settings(env)
