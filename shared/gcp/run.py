"""Cloud Run Admin API v2 adapter: implements shared.ports.RunPort.

Reads retry briefly on transient faults. The traffic write is absolute (so repeating it is
harmless) but is retried only on UNAVAILABLE: an etag mismatch (ABORTED) means someone else
changed the service, and the caller must re-read and re-plan.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence

from shared.errors import OutcomeUnknownError, PermanentError, TransientError, classify
from shared.diagnosis.evidence import Condition, Revision, Service, TrafficTarget, TrafficType, short_name
from shared.gcp.endpoints import CallPolicy, call_with_retry, run_revisions_client, run_services_client, status_code

# Only a fault that says "the request may not have arrived" is worth re-sending the write for.
WRITE_RETRY_CODES = frozenset({"UNAVAILABLE"})

_LATEST = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
_REVISION = "TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION"


class ConcurrentModificationError(PermanentError):
    """The service changed after the caller read it (etag mismatch): re-read and re-plan."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="ABORTED")


class CloudRunAdapter:
    """RunPort over the Cloud Run Admin API v2 (or its stand-in, via RUN_EMULATOR_HOST)."""

    def __init__(self, *, policy: CallPolicy = CallPolicy(), operation_timeout: float = 120.0,
                 poll_initial_delay: float = 1.0, poll_max_delay: float = 10.0) -> None:
        self._policy = policy
        self._operation_timeout = operation_timeout
        self._poll_initial_delay = poll_initial_delay
        self._poll_max_delay = poll_max_delay
        self._services: Any = None
        self._revisions: Any = None

    # --- RunPort -------------------------------------------------------------------------------

    def get_service(self, name: str) -> Service:
        return service_from_proto(self._read_service(name))

    def list_revisions(self, service_name: str) -> list[Revision]:
        def fetch() -> list[Any]:
            return list(self._revisions_client().list_revisions(
                parent=service_name, retry=None, timeout=self._policy.call_timeout))

        protos = call_with_retry(fetch, what=f"ListRevisions {service_name}", policy=self._policy)
        revisions = [revision_from_proto(p) for p in protos]
        return sorted(revisions, key=lambda r: (r.create_time, r.name))

    def set_traffic(self, service_name: str, traffic: Sequence[TrafficTarget], etag: str) -> Service:
        current = self._read_service(service_name)
        if etag and current.etag != etag:
            # Checked here too: whether Update itself enforces the etag is not documented.
            raise ConcurrentModificationError(
                f"{service_name} changed since it was read (etag {etag}, now {current.etag}); re-read and re-plan")
        current.traffic = [traffic_to_proto(t) for t in traffic]
        attempts = 0

        def write() -> Any:
            nonlocal attempts
            attempts += 1
            try:
                return self._update_and_wait(current)
            except Exception as exc:
                if status_code(exc) != "ABORTED":
                    raise
                if attempts > 1:  # an earlier attempt may have landed before its answer was lost
                    landed = self._read_service(service_name)
                    if _traffic_key(landed.traffic) == _traffic_key(current.traffic):
                        return landed
                raise ConcurrentModificationError(f"UpdateService {service_name}: etag mismatch ({exc})") from exc

        result = call_with_retry(write, what=f"UpdateService {service_name}", policy=self._policy,
                                 retry_codes=WRITE_RETRY_CODES)
        service = service_from_proto(result)
        self._verify_traffic(service, traffic)
        return service

    # --- helpers -------------------------------------------------------------------------------

    def close(self) -> None:
        for client in (self._services, self._revisions):
            if client is not None:
                client.transport.close()
        self._services = self._revisions = None

    def _services_client(self) -> Any:
        if self._services is None:
            self._services = run_services_client()
        return self._services

    def _revisions_client(self) -> Any:
        if self._revisions is None:
            self._revisions = run_revisions_client()
        return self._revisions

    def _read_service(self, name: str) -> Any:
        return call_with_retry(
            lambda: self._services_client().get_service(name=name, retry=None, timeout=self._policy.call_timeout),
            what=f"GetService {name}", policy=self._policy)

    def _update_and_wait(self, service: Any) -> Any:
        from google.api_core import exceptions, retry
        from google.api_core.future import polling

        operation = self._services_client().update_service(
            service=service, retry=None, timeout=self._policy.call_timeout)
        poll = polling.DEFAULT_POLLING.with_delay(initial=self._poll_initial_delay, maximum=self._poll_max_delay)
        poll_rpc_retry = retry.Retry(predicate=retry.if_exception_type(exceptions.ServiceUnavailable),
                                     initial=self._policy.initial_backoff, maximum=self._policy.max_backoff,
                                     timeout=self._policy.total_timeout)
        try:
            return operation.result(timeout=self._operation_timeout, retry=poll_rpc_retry, polling=poll)
        except TimeoutError as exc:  # the write was accepted; only waiting for it failed
            raise OutcomeUnknownError(f"UpdateService {service.name}: operation {operation.operation.name} "
                                      f"not done after {self._operation_timeout:g}s") from exc
        except Exception as exc:
            if isinstance(classify(exc), TransientError):  # accepted, then the polling failed
                raise OutcomeUnknownError(f"UpdateService {service.name}: accepted, but operation "
                                          f"{operation.operation.name} could not be followed: {exc}") from exc
            raise

    @staticmethod
    def _verify_traffic(service: Service, requested: Sequence[TrafficTarget]) -> None:
        wanted = sorted((t.type.value, short_name(t.revision) if t.type == TrafficType.REVISION and t.revision else "",
                         t.percent, t.tag) for t in requested)
        got = sorted((t.type.value, t.revision or "", t.percent, t.tag) for t in service.traffic)
        if requested and wanted != got:
            raise PermanentError(f"UpdateService {service.name}: traffic after the update is {got}, "
                                 f"not the requested {wanted}", code="TRAFFIC_NOT_APPLIED")


# --- proto <-> model -----------------------------------------------------------------------------


def traffic_to_proto(target: TrafficTarget) -> Any:
    from google.cloud import run_v2

    kind = run_v2.TrafficTargetAllocationType[_LATEST if target.type == TrafficType.LATEST else _REVISION]
    revision = short_name(target.revision) if target.type == TrafficType.REVISION and target.revision else ""
    return run_v2.TrafficTarget(type_=kind, revision=revision, percent=target.percent, tag=target.tag)


def _traffic_from_proto(target: Any) -> TrafficTarget:
    is_latest = target.type_.name == _LATEST or (target.type_.name != _REVISION and not target.revision)
    return TrafficTarget(type=TrafficType.LATEST if is_latest else TrafficType.REVISION,
                         revision=short_name(target.revision) or None, percent=target.percent, tag=target.tag)


def _traffic_key(targets: Any) -> list[tuple]:
    return sorted((t.type_.name, t.revision, t.percent, t.tag) for t in targets)


def service_from_proto(proto: Any) -> Service:
    return Service(
        name=proto.name, generation=proto.generation, etag=proto.etag,
        traffic=tuple(_traffic_from_proto(t) for t in proto.traffic),
        traffic_statuses=tuple(_traffic_from_proto(t) for t in proto.traffic_statuses),
        latest_ready_revision=short_name(proto.latest_ready_revision) or None,
        latest_created_revision=short_name(proto.latest_created_revision) or None,
        labels=dict(proto.labels))


def _condition_from_proto(proto: Any) -> Condition:
    from google.cloud import run_v2

    which = run_v2.Condition.pb(proto).WhichOneof("reasons")
    reason = getattr(proto, which).name if which else ""
    return Condition(type=proto.type_, state=proto.state.name, reason=reason, message=proto.message)


def _plain_datetime(value: datetime) -> datetime:
    # proto-plus hands back DatetimeWithNanoseconds; the models hold plain datetimes.
    return datetime.combine(value.date(), value.timetz())


def _cloudsql_instances(proto: Any) -> tuple[str, ...]:
    found: list[str] = []
    for volume in proto.volumes:
        for instance in volume.cloud_sql_instance.instances:
            if instance not in found:
                found.append(instance)
    return tuple(found)


def revision_from_proto(proto: Any) -> Revision:
    from google.cloud import run_v2

    egress = proto.vpc_access.egress.name if proto.vpc_access.egress else None
    has_timeout = run_v2.Revision.pb(proto).HasField("timeout")
    return Revision(
        # The owning service is read off the revision's own name, whatever form `service` takes.
        name=proto.name, service=proto.name.split("/revisions/")[0], create_time=_plain_datetime(proto.create_time),
        conditions=tuple(_condition_from_proto(c) for c in proto.conditions),
        vpc_connector=proto.vpc_access.connector or None, vpc_egress=egress,
        # Direct VPC egress (revision.proto VpcAccess.network_interfaces), as "network/subnetwork".
        vpc_network_interfaces=tuple(f"{n.network}/{n.subnetwork}".strip("/")
                                     for n in proto.vpc_access.network_interfaces),
        service_account=proto.service_account,
        # Every Cloud SQL volume's instances, first occurrence first.
        cloudsql_instances=_cloudsql_instances(proto),
        max_instance_count=proto.scaling.max_instance_count or None,       # 0 = unset
        timeout_seconds=proto.timeout.total_seconds() if has_timeout else None,
        container_concurrency=proto.max_instance_request_concurrency or None)  # 0 = unset
