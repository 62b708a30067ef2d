"""Whether the secret versions a rollback target reads (pinned, or "latest" or an alias as resolved) can still
be read: a revision that cannot start.

A rollback sends traffic to an older revision, whose new instances must start (Cloud Run scales a revision
without traffic down to zero instances: "About instance autoscaling"). Cloud Run's "Configure secrets"
page (cloud.google.com/run/docs/configuring/services/secrets, "How secrets are checked at deployment and
runtime"): "If the secret is an environment variable, the value of the secret is retrieved prior to starting
the instance, so if secret retrieval fails, the instance does not start"; "If the secret is mounted as a
volume, no check is performed during instance startup. However, during runtime, if a secret is inaccessible,
attempts to read the mounted volume will fail." A version the target pins that has since been DISABLED ("may
not be accessed") or DESTROYED ("the secret data is no longer stored. A version may not leave this state once
entered": SecretVersion.State, google/cloud/secretmanager/v1/resources.proto) is one its new instances cannot
read: as an env var they do not start ("is in DISABLED state", startup_config_failure's secret_failure
signal), as a volume its file cannot be read. A rollback onto it takes the service from failing requests to
instances that cannot start or cannot read their secret. The target's clean
minutes before the deploy were served by instances that read the version while it was enabled.

The versions are read apart (collection.target_secret_reads, GetSecretVersion: metadata, never the payload).
A version the target reads at "latest" (or unset) or by an alias is read by that name, and GetSecretVersion
answers the version it resolves to: "latest" is the newest version whatever its state (GetSecretVersionRequest.name,
"an alias to the most recently created SecretVersion"), so a newest version DISABLED leaves the target's new
instances without the secret as a pinned one would (that Cloud Run does not fall back to an older ENABLED version
is UNCONFIRMED; reading it so errs toward an escalation). One the failing revision reads alike (the same secret at
the same "latest" or alias) is judged so too: the rollback changes nothing about which version either gets, but
the failing revision's running instances hold what they resolved as they started, while the target's are started
by the rollback; which value both get is what bad_revision's read_at_latest_by_both judges. A read refused for another reason than
NOT_FOUND (PERMISSION_DENIED: the deployment's role without secretmanager.versions.get on that secret; a quota)
is cited, and holds nothing back: it says nothing of the version, the target served with it before the deploy
(as every rollback target's pinned versions were before this read existed), and a permission missing on
every secret would otherwise hold back every rollback of the service for a gap in Runwarden's own grant.
NOT_FOUND is an answer, not a gap: Google's Get answers it for a resource that does not exist (AIP-131), so
the version (or its secret, deleted with all its versions) is gone.
"""
from __future__ import annotations

from shared.diagnosis.evidence import Revision, TargetSecretRead
from shared.diagnosis.facts import Facts
from shared.diagnosis.rules.base import Citation

# The one state whose version "may be accessed" (SecretVersion.State.ENABLED); every other (DISABLED,
# DESTROYED, and STATE_UNSPECIFIED, "unused and invalid") leaves the target's new instances without it.
USABLE = "ENABLED"


def unusable(reads: tuple[TargetSecretRead, ...], candidate: str) -> list[TargetSecretRead]:
    """The candidate's versions read as not usable: a state other than ENABLED, or NOT_FOUND ("latest" or an
    alias: the version it resolves to)."""
    return [r for r in reads if r.revision == candidate and (r.state and r.state != USABLE
                                                              or r.refusal == "NOT_FOUND")]


def refused(reads: tuple[TargetSecretRead, ...], candidate: str) -> list[TargetSecretRead]:
    """The candidate's versions whose read was refused for another reason than NOT_FOUND."""
    return [r for r in reads if r.revision == candidate and not r.state and r.refusal != "NOT_FOUND"]


def said(read: TargetSecretRead) -> str:
    """One version in words: "env DB_PASSWORD reads db-password version 4, which is DISABLED"; "latest" or an
    alias with the number it resolved to: "env API_KEY reads api-key version latest (version 8), which is
    DISABLED"."""
    gone = ("the version, or its secret, does not exist" if read.version.isdigit() else
            "its secret has no versions, or does not exist" if read.version == "latest" else
            "no version has that alias, or its secret does not exist")
    state = read.state or (f"not found ({gone})" if read.refusal == "NOT_FOUND"
                           else f"not known (its read was refused: {read.refusal or 'no answer'})")
    resolved = f" (version {read.resolved})" if read.resolved else ""
    return f"{read.where} reads {read.secret} version {read.version}{resolved}, which is {state}"


def secret_version_gone(facts: Facts, c: Citation, candidate: Revision) -> str:
    """Why the candidate cannot be sent the traffic for its secrets, or "": a version it reads (pinned, or
    "latest" or an alias as resolved) is DISABLED,
    DESTROYED (or another state than ENABLED) or NOT_FOUND, as read apart (facts.b.target_secrets). Reads
    refused otherwise are cited as context and hold nothing back (module docstring); a candidate whose
    versions were not read (not among the candidates read, or no pinned version) keeps the rule as before."""
    reads = facts.b.target_secrets
    for r in refused(reads, candidate.short_name):
        c.cite("api", f"secretmanager.versions.get {r.name}", said(r),
               f"{candidate.short_name}'s secret versions ENABLED", False, role="context")
    gone = unusable(reads, candidate.short_name)
    if not gone:
        read = [r for r in reads if r.revision == candidate.short_name and r.state]
        if read:
            c.cite("api", "secretmanager.versions.get " + ", ".join(r.name for r in read),
                   "; ".join(said(r) for r in read), f"{candidate.short_name}'s secret versions ENABLED", True)
        return ""
    c.cite("api", "secretmanager.versions.get " + ", ".join(r.name for r in gone), "; ".join(said(r) for r in gone),
           f"{candidate.short_name}'s secret versions ENABLED", False)
    effect = ("whose instances do not start (an env var's secret is read before an instance starts)"
              if any(r.where.startswith("env ") for r in gone) else
              "that cannot read their mounted secret (a volume's secret is read when its file is read)")
    return (f"{candidate.short_name} reads secret versions its new instances cannot read now: "
            f"{'; '.join(said(r) for r in gone)}. Sending {candidate.short_name} the traffic would start instances "
            f"{effect}; its clean minutes were served by instances that read the version while it could be read")
