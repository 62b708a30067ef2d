"""A refused read names the permission it needs (shared/gcp/endpoints.py `call_with_retry`'s `needs`,
worded by shared/remediation/refusals.py), from tables; and a write of unknown outcome stays unknown when
reading it back is refused for good (shared/gcp/run.py `_after_unanswered_write`).

The errors are google-api-core's own exception types, built as from_grpc_error builds them, and the REST
adapter's; no client is involved: the call that fails is a plain function."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from google.api_core import exceptions
from google.rpc import error_details_pb2

from shared.errors import OutcomeUnknownError, PermanentError, TransientError
from shared.gcp.endpoints import CallPolicy, call_with_retry
from shared.gcp.logging import CloudLoggingAdapter, CloudLogPagesAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.run_references import CloudRunReferences
from shared.gcp.vpcaccess import ApiStatusError, VpcAccessAdapter

ONCE = CallPolicy(attempts=1)
BARE = "The caller does not have permission"


def _refused(error: BaseException, needs: tuple[str, ...]) -> PermanentError:
    def call(timeout: float) -> None:
        raise error

    with pytest.raises(PermanentError) as raised:
        call_with_retry(call, what="GetService s", policy=ONCE, needs=needs)
    return raised.value


@pytest.mark.parametrize("error,needs,says", [
    # Bare, gRPC and REST: the permission the read declares.
    (exceptions.PermissionDenied(BARE), ("run.services.get",),
     "; the API did not name the permission: Runwarden's service account needs run.services.get in the project read"),
    (ApiStatusError(403, "PERMISSION_DENIED", BARE), ("vpcaccess.connectors.get",),
     "needs vpcaccess.connectors.get in the project read"),
    # The ErrorInfo names it, the message does not: quoted from the ErrorInfo, not from the declaration.
    (exceptions.PermissionDenied("denied", error_info=error_details_pb2.ErrorInfo(
        reason="IAM_PERMISSION_DENIED", domain="iam.googleapis.com",
        metadata={"permission": "monitoring.timeSeries.list"})), ("other.permission.x",),
     "; Runwarden's service account needs monitoring.timeSeries.list"),
])
def test_a_refused_read_names_its_permission(error, needs, says):
    exc = _refused(error, needs)
    assert exc.code == "PERMISSION_DENIED"
    assert str(exc).endswith(says), str(exc)


@pytest.mark.parametrize("error,needs", [
    # The message already names it (IAM's usual refusal): nothing added.
    (exceptions.PermissionDenied("Permission 'run.services.get' denied on resource 's' (or it may not exist)."),
     ("run.services.get",)),
    # Not a refusal for a permission.
    (exceptions.NotFound("Resource 's' was not found"), ("run.services.get",)),
    # A write: it declares nothing here (the gate names the action's permissions).
    (exceptions.PermissionDenied(BARE), ()),
])
def test_nothing_is_added_when_there_is_nothing_to_name(error, needs):
    assert "needs" not in str(_refused(error, needs))


# Every read Runwarden makes, the permission its refusal names when the API does not (the adapter's
# declaration, from which the deployment's roles are derived too: functions/permissions.py). Each is cited in
# docs/deploy.md, "Each call and the permission Google checks" (Cloud Run "IAM permissions": "View services",
# "List revisions", mapped by description; Monitoring and Logging "Access control with IAM"; VPC Access
# roles/vpcaccess.viewer), and held to the Terraform roles by tests/infra/test_iam.py.
@pytest.mark.parametrize("adapter,method,permission", [
    (CloudRunAdapter, "get_service", "run.services.get"),
    (CloudRunAdapter, "list_revisions", "run.revisions.list"),
    (CloudRunAdapter, "list_services", "run.services.list"),
    (CloudRunReferences, "references", "run.revisions.list"),
    (CloudMonitoringAdapter, "query", "monitoring.timeSeries.list"),
    (CloudMonitoringAdapter, "histograms", "monitoring.timeSeries.list"),
    (CloudLoggingAdapter, "list_entries", "logging.logEntries.list"),
    (CloudLoggingAdapter, "list_payloads", "logging.logEntries.list"),
    (CloudLogPagesAdapter, "read_page", "logging.logEntries.list"),
    (VpcAccessAdapter, "get_connector", "vpcaccess.connectors.get"),
])
def test_each_read_declares_the_permission_it_needs(adapter, method, permission):
    assert adapter.iam_permissions[method] == (permission,)


class _RereadRefused(CloudRunAdapter):
    """The adapter, with the read after an unanswered write refused as `reread` says (no client is built)."""

    def __init__(self, reread: Exception) -> None:
        super().__init__(policy=ONCE)
        self._reread = reread

    def _read_service(self, name: str) -> object:
        raise self._reread


def _write_error(error: BaseException) -> Exception:
    try:
        call_with_retry(lambda timeout: (_ for _ in ()).throw(error), what="UpdateService s", policy=ONCE)
    except (TransientError, PermanentError) as exc:
        return exc
    raise AssertionError("not raised")


REQUEST = SimpleNamespace(service=SimpleNamespace(traffic=()))


@pytest.mark.parametrize("write", [exceptions.InternalServerError("x"), exceptions.Cancelled("x"),
                                   exceptions.DataLoss("x"), exceptions.DeadlineExceeded("x")],
                         ids=["internal", "cancelled", "data-loss", "deadline"])
@pytest.mark.parametrize("reread", [
    PermanentError("GetService s: 403 The caller does not have permission", code="PERMISSION_DENIED"),
    PermanentError("GetService s: 404 not found", code="NOT_FOUND"),
    TransientError("GetService s: 503 unavailable"),
], ids=["denied", "not-found", "unavailable"])
def test_a_write_in_doubt_whose_read_back_fails_stays_unknown(write, reread):
    """The write may have landed (google/rpc/code.proto; shared.errors UNPROVEN_WRITE_CODES): whether reading it
    back fails for now or for good, the outcome is unknown (recorded, escalated, judged by the sweep), never a
    `failed` that gives the claim back. Before, a PermanentError on the re-read left as `failed`."""
    with pytest.raises(OutcomeUnknownError) as raised:
        _RereadRefused(reread)._after_unanswered_write("s", REQUEST, _write_error(write))
    assert str(reread) in str(raised.value)


@pytest.mark.parametrize("reread", [
    PermanentError("GetService s: 403", code="PERMISSION_DENIED"), TransientError("GetService s: 503")])
def test_a_write_refused_as_not_applied_stays_a_refusal_whatever_the_read_back(reread):
    """UNAVAILABLE proves nothing was applied (run.py NOT_APPLIED_CODES): the refusal itself is raised."""
    write = _write_error(exceptions.ServiceUnavailable("x"))
    with pytest.raises(TransientError) as raised:
        _RereadRefused(reread)._after_unanswered_write("s", REQUEST, write)
    assert raised.value is write
