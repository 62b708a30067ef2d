"""Naming the permission a refused write needs (shared/remediation/refusals.py), from tables.

The errors are google-api-core's own exception types, built as from_grpc_error builds them (an
ErrorInfo read from the status details), and the REST adapter's; no client is involved."""
from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.rpc import error_details_pb2

from shared.errors import PermanentError
from shared.gcp.vpcaccess import ApiStatusError
from shared.remediation.refusals import denied_permission, permission_advice


def _raised_from(cause: BaseException) -> PermanentError:
    try:
        raise PermanentError(f"UpdateService x: {cause}", code="PERMISSION_DENIED") from cause
    except PermanentError as exc:
        return exc


GRPC_INFO = exceptions.PermissionDenied("Permission 'run.services.update' denied on resource 'x' (or it may not exist).",
                                        error_info=error_details_pb2.ErrorInfo(
                                            reason="IAM_PERMISSION_DENIED", domain="iam.googleapis.com",
                                            metadata={"permission": "run.services.update"}))
GRPC_INFO_ONLY = exceptions.PermissionDenied("denied", error_info=error_details_pb2.ErrorInfo(
    reason="IAM_PERMISSION_DENIED", domain="iam.googleapis.com", metadata={"permission": "run.operations.get"}))
GRPC_BARE = exceptions.PermissionDenied("The caller does not have permission")
REST_INFO = ApiStatusError(403, "PERMISSION_DENIED", "denied", (
    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "IAM_PERMISSION_DENIED",
     "domain": "iam.googleapis.com", "metadata": {"permission": "vpcaccess.connectors.update"}},))
REST_MESSAGE = ApiStatusError(403, "PERMISSION_DENIED",
                              "Permission 'vpcaccess.connectors.get' denied on resource 'c' (or it may not exist).")
REST_BARE = ApiStatusError(403, "PERMISSION_DENIED", "The caller does not have permission")


@pytest.mark.parametrize("cause,named", [
    (GRPC_INFO, "run.services.update"),
    (GRPC_INFO_ONLY, "run.operations.get"),       # the ErrorInfo alone names it
    (GRPC_BARE, ""),
    (REST_INFO, "vpcaccess.connectors.update"),
    (REST_MESSAGE, "vpcaccess.connectors.get"),   # the message alone names it
    (REST_BARE, ""),
])
def test_the_permission_a_refusal_names(cause, named):
    assert denied_permission(_raised_from(cause)) == named


@pytest.mark.parametrize("declared,named,says", [
    (("run.services.update",), "run.services.update", "; Runwarden's service account needs run.services.update"),
    (("iam.serviceAccounts.actAs",), "iam.serviceAccounts.actAs",
     "; Runwarden's service account needs iam.serviceAccounts.actAs (on the service's runtime service account)"),
    (("a.b.get", "a.b.update"), "",
     "; the API did not name the permission: Runwarden's service account needs every permission act declares: "
     "a.b.get, a.b.update (on the target's project)"),
    (("a.b.update", "iam.serviceAccounts.actAs"), "",
     "; the API did not name the permission: Runwarden's service account needs every permission act declares: "
     "a.b.update, iam.serviceAccounts.actAs (iam.serviceAccounts.actAs on the service's runtime service account, "
     "the others on the target's project)"),
])
def test_the_advice_names_what_to_grant(declared, named, says):
    assert permission_advice("act", declared, named) == says
