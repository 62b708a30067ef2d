"""What a Cloud Run service's revisions reference, for the incident timeline: their Serverless VPC
Access connectors, Cloud SQL instances and Secret Manager secrets (one ListRevisions call).

Where the v2 API keeps them (google/cloud/run/v2/revision.proto and k8s.min.proto):
`vpc_access.connector`; `volumes[].cloud_sql_instance.instances`; and secrets in
`containers[].env[].value_source.secret_key_ref.secret` and `volumes[].secret.secret`, each "a
secret id if the secret is in the same project, projects/P/secrets/S otherwise" (SecretKeySelector.secret:
"{secret_name} if the secret is in the same project. projects/{project}/secrets/{secret_name} if the secret
is in a different project"). Each secret is kept by its full name (secret_refs.full_secret_name, a bare id
in the revision's own project): by the id alone, another project's secret of one id was taken for it.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.diagnosis.secret_refs import full_secret_name
from shared.gcp.endpoints import CallPolicy, PageCursor, call_with_retry, run_revisions_client


class ServiceReferences(BaseModel):
    model_config = ConfigDict(frozen=True)

    connectors: frozenset[str] = frozenset()      # full connector names
    sql_instances: frozenset[str] = frozenset()   # project:region:instance
    secrets: frozenset[str] = frozenset()         # full secret names, projects/P/secrets/S


class CloudRunReferences:
    """Reads what a service's revisions reference (or the stand-in's, via RUN_EMULATOR_HOST)."""

    iam_permissions = {"references": ("run.revisions.list",)}

    def __init__(self, *, policy: CallPolicy = CallPolicy()) -> None:
        self._policy = policy
        self._client: Any = None

    def references(self, service_name: str) -> ServiceReferences:
        # Kept across attempts: a retry resumes at the cursor's page, with its token (`PageCursor`).
        cursor = PageCursor.for_call(self._policy)
        revisions: list[Any] = []

        def fetch(timeout: float) -> list[Any]:
            if self._client is None:
                self._client = run_revisions_client()
            # Page by page, each call made here: the pager would give every page the whole `timeout`
            # (pagers.py `ListRevisionsPager.pages`), so each is given the cursor's instead. A call returns a
            # pager holding its first page; its fields are that page's (`__getattr__`).
            while True:
                page = self._client.list_revisions(request={"parent": service_name, "page_token": cursor.token},
                                                   retry=None, timeout=cursor.timeout())
                revisions.extend(page.revisions)
                cursor.took(page.next_page_token)
                if not cursor.token:
                    return revisions

        revisions = call_with_retry(fetch, what=f"ListRevisions {service_name}", policy=self._policy,
                                    needs=self.iam_permissions["references"])
        return references_of(revisions)

    def close(self) -> None:
        if self._client is not None:
            self._client.transport.close()
            self._client = None


def references_of(revisions: list[Any]) -> ServiceReferences:
    connectors, instances, secrets = set(), set(), set()
    for revision in revisions:
        if revision.vpc_access.connector:
            connectors.add(revision.vpc_access.connector)
        for volume in revision.volumes:
            instances.update(volume.cloud_sql_instance.instances)
            if volume.secret.secret:
                secrets.add(full_secret_name(revision.name, volume.secret.secret))
        for container in revision.containers:
            for env in container.env:
                ref = env.value_source.secret_key_ref.secret
                if ref:
                    secrets.add(full_secret_name(revision.name, ref))
    return ServiceReferences(connectors=frozenset(connectors), sql_instances=frozenset(instances),
                             secrets=frozenset(secrets))

