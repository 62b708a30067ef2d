"""bad_revision's check that the deploy changed nothing the revision runs: a no-op deploy.

A new revision is created by every deploy of the service's template, even one that changes only a label,
an annotation or the revision's suffix, or a `gcloud run deploy` of the image already running ("revisions
are immutable": Artifact Registry docs, "Deploying to Cloud Run"). When the failing revision and the
rollback target run the very same image (the same digest in every container) with the same env, secrets,
service account, VPC path, Cloud SQL instances and settings, the failures that began at the deploy are not
the deploy's content: sending traffic back brings back the same bits with the same configuration, whose new
instances start as the failing ones do. What is left for the deploy to have done is start a fleet of new
instances (cold starts, a connection storm as they all start at once), or the failures' timing is a
coincidence (a dependency failing in the same minutes). Neither is shown to be cured by a rollback; a person
decides (precision: no write on a guess).

The image is compared only where both name it by digest (`...@sha256:<64 hex>`). Container.image is "Name
of the container image in Dockerhub, Google Artifact Registry, or Google Container Registry"
(google/cloud/run/v2/k8s_min.proto); a tag is a mutable reference ("tags are mutable references, which
means the image referenced by a tag can change": Google Cloud, "About container image digests"), so the
same tag on both (`app:latest` pushed again, then deployed) says nothing of the image. Cloud Run resolves
a tag to a digest at deploy time (Artifact Registry, "Deploying to Cloud Run"), but whether the v2 Revision
gives that digest back in containers[].image is UNCONFIRMED (the v2 Revision has no image digest field,
google/cloud/run/v2/revision.proto): a tag is never read as the same image."""
from __future__ import annotations

import re
from collections.abc import Callable

from shared.diagnosis.evidence import Revision
from shared.diagnosis.facts import path_changed
from shared.diagnosis.rules.base import Citation
from shared.diagnosis.rules.deploy_changes import settings_changed
from shared.diagnosis.secret_refs import alike, secret_name

# An image reference pinned by digest: REPOSITORY@sha256:<64 hex> (OCI image spec, descriptor digests).
_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})$")


def digests(revision: Revision) -> tuple[str, ...] | None:
    """Every container's image digest, in the revision's order, or None when any container's image is not
    pinned by digest (a tag, or no image read): the image is then not known."""
    found = tuple(m.group(1) for m in map(_DIGEST.search, revision.images) if m)
    return found if revision.images and len(found) == len(revision.images) else None


# Where a secret is read: an env var (by its container when two set it), or a volume's file, with the file's mode.
_Place = tuple[str, str, str, str, int]


def _secrets(revision: Revision) -> dict[_Place, list[tuple[str, str]]]:
    """Every secret the revision reads, by where (a volume's items told apart by their paths, SecretRef.path:
    VersionToPath.path, the file the application opens; an env var two containers set by its container,
    SecretRef.container; a file's mode, SecretRef.mode: one a non-root user can no longer read is a change the
    rollback undoes), each (full secret name, version). The full name (secret_refs.secret_name): a revision names a
    secret of its own project by id alone and another project's in full (SecretKeySelector.secret,
    google/cloud/run/v2/k8s_min.proto), so compared as written, `db-pass` and projects/P/secrets/db-pass at one
    version (one secret, respelt) read as a new release, and the no-op deploy's rollback went through."""
    found: dict[_Place, list[tuple[str, str]]] = {}
    for r in revision.secrets:
        found.setdefault((r.env, r.container, r.volume, r.path, r.mode), []).append((secret_name(revision, r),
                                                                                     r.version))
    return found


def _same_secrets(before: Revision, after: Revision) -> bool:
    """Whether both read the same secrets at the same versions in the same places, in any order, each secret
    compared by its full name (`secret_refs.alike`: one secret whose project is spelt by number on one side and by
    id on the other is one, as secrets_changed reads it)."""
    old, new = _secrets(before), _secrets(after)
    return old.keys() == new.keys() and all(alike(reads, new[place]) for place, reads in old.items())


def differences(before: Revision, after: Revision) -> list[str]:
    """What `after` runs differently from `before`, in words (image, env, secrets, identity, path, Cloud SQL
    instances, settings); [] when nothing read differs and both images are pinned to the same digests. An
    image not pinned by digest on either is a difference (not known to be the same)."""
    changed = []
    old, new = digests(before), digests(after)
    if old is None or new is None:
        changed.append("image (not pinned by digest on both)")
    elif old != new:
        changed.append("image digest")
    if sorted(before.plain_env) != sorted(after.plain_env) or sorted(before.env_values) != sorted(after.env_values):
        changed.append("plain env")
    if not _same_secrets(before, after):
        changed.append("secrets read")
    if before.service_account != after.service_account:
        changed.append("service account")
    if path_changed(before, after):
        changed.append("path to its VPC")
    if sorted(before.cloudsql_instances) != sorted(after.cloudsql_instances):
        changed.append("Cloud SQL instances")
    return changed + settings_changed(before, after)


def deployed_the_same(c: Citation, suspect: Revision, good: Revision,
                      starts_of: Callable[[], int]) -> tuple[str, str] | None:
    """(why a rollback to `good` is not shown to help, what a person checks), or None: the suspect runs the
    same image digests as the rollback target with nothing else read different (`differences` empty).
    `starts_of`: the suspect's failed starts in the log read (bad_revision.failed_starts), asked only for a
    no-op deploy (said, not judged)."""
    pinned = digests(suspect)
    # The image first: most deploys name a tag, or a new digest, and nothing else need be compared.
    if pinned is None or pinned != digests(good) or differences(good, suspect):
        return None
    starts = starts_of()
    short = ", ".join(d[:19] for d in pinned)
    latest = sorted({r.secret for r in suspect.secrets if not r.pinned})
    c.cite("api", f"run.revisions.get {suspect.short_name}, {good.short_name}: containers[].image, containers[].env[], "
                  "volumes[], service_account, vpc_access, scaling, timeout, max_instance_request_concurrency, "
                  "containers[].resources",
           f"{suspect.short_name} runs {short} as {good.short_name} does, with the same env, secrets, service account, "
           "VPC path, Cloud SQL instances and settings", "a deploy that changed what the revision runs", False)
    at_start = (f"; {starts} of its new instances failed to start, and {good.short_name}'s new instances would start "
                "the same image with the same settings" if starts else "")
    read = (f"; {', '.join(latest)} is read at latest by both, so a new value reaches the target's new instances too"
            if latest else "")
    reason = (f"{suspect.short_name}'s deploy changed nothing it runs against {good.short_name}: the same image "
              f"({short}), env, secrets, service account, VPC path and settings (a label, an annotation or a "
              f"redeploy of the same image){at_start}{read}. Sending traffic back brings back the same release, "
              "so the failures that began at the deploy are not shown to be the deploy's content: what changed is "
              "the fleet of new instances (their starts, a connection storm as they start at once) or something "
              "else in the same minutes")
    return reason, ("find what changed at the deploy's minute outside the revision (a dependency, a secret's newest "
                    "version, a quota, the database's connections as the new instances started); send traffic "
                    f"back to {good.short_name} by hand only if its instances still running are shown to serve "
                    "cleanly (a rollback starts new ones too)")
