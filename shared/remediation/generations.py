"""Whether a rollback's service changed since the rollback in a way that may have made the recovery: pure, from
the rollback's record (its `after`: rollback_traffic.traffic_state of the write's answer) and the service and its
revisions as the sweep reads them.

Cloud Run v2's Service (google/cloud/run/v2/service.proto; google-cloud-run 0.16.2's Service docstring):
- `generation`: "A number that monotonically increases every time the user modifies the desired state";
- `template`: "The template used to create revisions for this Service": a change there is a deploy, and makes a
  new revision (`latest_created_revision`: "Name of the last created revision");
- `traffic`: "Specifies how to distribute traffic over a collection of Revisions": while it names a revision at
  100% (a rollback's pin), a deploy's new revision takes none (`gcloud run deploy --no-traffic`, or any deploy
  under a pin);
- `observed_generation`: "The generation of this Service currently serving traffic": it trails `generation`
  while a change reconciles, so a deploy still rolling out moves `generation` first. What serves is read from
  `traffic_statuses` and the revisions' own requests either way.
- the service-level settings (ingress, the invoker check, scaling, ...: shared/gcp/run.py SERVICE_SETTINGS)
  apply to every revision at once, with no new revision.
- within `template`, a deploy of new code changes the containers' image (Container.image, source_code,
  base_image_uri; google/cloud/run/v2/k8s.min.proto) and the revision's name; every other field (env, secrets,
  resources, scaling, vpc_access and its egress, the service account, timeout, concurrency, volumes:
  revision_template.proto) is configuration, and a person's change of it rides the same UpdateService as a deploy
  (`gcloud run deploy --update-env-vars`, the console's "Edit & deploy new revision").

So a generation moved since the rollback is a deploy or a service-level change (or a split change, judged
apart: `traffic_moved`). A deploy that takes no traffic changes nothing that serves; a setting a person changed
(max instances, ingress) changes how every revision serves, and the recovery may be its doing. A template
changed beyond the code under the pin serves nothing yet, but it is a person at work on the failure's
configuration (an env fix, a larger pool, another egress) whose next step serves it, and whose own verdict
the recovery may be: named, never verified on. Only the image may change for a deploy to be no one else's, with
one exception read off the revisions themselves (`build_stamps`): a pipeline that stamps each build into an env
variable (`gcloud run deploy --image IMG --update-env-vars GIT_SHA=<sha>`, BUILD_ID, VERSION) changes the
template's env with every deploy of new code. Such a step is a pipeline's deploy when the revision it made (its
plain env, images, secrets and creator: shared/gcp/run.py revision_from_proto) shows all of: its image changed
in the same update; every env variable it changed was set before and after, each value the shape of a build's
identity (a git commit's hex id, Cloud Build's $BUILD_ID, or a part of the image's own tag or digest); no secret
changed; and the same principal created it as created the revision before it (Revision.creator, "Email address
of the authenticated creator", google/cloud/run/v2/revision.proto: the pipeline's service account that deployed
before). Anything short of that (a value that is a setting, a variable added or removed, another principal, the
creator unread, the image kept) stays a person's change: `unclear`, precision first.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any, Sequence

from shared.diagnosis.evidence import Revision, Service
from shared.remediation.records import ActionRecord
from shared.remediation.since_rollback import left_split, split_changed


def generation_moved(record: ActionRecord, service: Service) -> str:
    """The rollback's service changed since it (its generation past the one the rollback left), in words;
    "" if not, not known, or for another action."""
    if record.action != "rollback_traffic":
        return ""
    then = record.after.get("generation")
    if not isinstance(then, int) or service.generation <= then:
        return ""
    return (f"{service.short_name} was changed since the rollback: its generation is {service.generation}, "
            f"{service.generation - then} past the {then} the rollback left (a deploy, a service-level setting: "
            "someone is at work on it)")


def unexplained_generations(record: ActionRecord, service: Service, revisions: Sequence[Revision]) -> str:
    """Why the rollback's service's generation moved since it in a way that may have made the recovery, in
    words ("" when it did not move, or only by deploys that take no traffic). Every step past the generation
    the rollback left must be a deploy: the revisions created after the newest one at the rollback (its
    record's `latest_created_revision`), at least one per step, with the desired split as the rollback left
    it (a deploy that took traffic or a tag changed it), the service-level settings as they were (the
    record's `settings`) and the revision template's as they were but for the code (the record's `template`:
    `_template_moved`). Anything else is someone else's change, said with what moved: a setting changed
    (named, before and now), a template field changed (named, its value not kept), or steps no deploy explains
    (a change to a setting not read, a deploy whose revision is no longer listed).
    A record written before the settings were kept (no `settings` in its `after`), or a service read without
    them, cannot tell a deploy from a setting: any step is someone else's change, as it was judged before."""
    moved = generation_moved(record, service)
    if not moved:
        return ""
    kept, now = record.after.get("settings"), service.settings
    if not isinstance(kept, dict) or now is None:
        return (f"{moved}; the rollback's record keeps no service-level settings to tell a deploy that takes no "
                "traffic from a setting changed")
    changed = settings_changed(kept, now)
    if changed:
        return f"{moved}: its service-level settings changed since ({'; '.join(changed)})"
    template = _template_moved(record, service, revisions)
    if template:
        return f"{moved}{template}"
    if split_changed(left_split(record), service.traffic):
        return f"{moved}: its desired split is not the one the rollback left"
    steps = service.generation - int(record.after["generation"])
    deploys = deploys_since(str(record.after.get("latest_created_revision") or ""), revisions)
    if deploys is None:
        newest = record.after.get("latest_created_revision") or "none recorded"
        return (f"{moved}: the newest revision at the rollback ({newest}) is not among those read, so the deploys "
                "since are not known")
    if len(deploys) < steps:
        named = ", ".join(r.short_name for r in deploys) or "none"
        return (f"{moved}: {len(deploys)} revision(s) deployed since ({named}) explain at most {len(deploys)} of its "
                f"{steps} steps, with the split and the service-level settings as the rollback left them; the rest "
                "is a change not read here")
    return ""


def deploys_accounted(record: ActionRecord, service: Service, revisions: Sequence[Revision]) -> list[Revision]:
    """The revisions created since the rollback that explain its generation's steps, for a caller to which
    `unexplained_generations` said nothing (every step a deploy taking no traffic): [] when the generation did
    not move, or the newest revision at the rollback is not read."""
    if not generation_moved(record, service):
        return []
    return deploys_since(str(record.after.get("latest_created_revision") or ""), revisions) or []


def _template_moved(record: ActionRecord, service: Service, revisions: Sequence[Revision] = ()) -> str:
    """Why the revision template is not as the rollback left it beyond the code a deploy brings, in words ("" when
    it is): a field changed since (a person's env, secret, scaling or VPC change, made with a deploy or as one), or
    no template to compare (a record written before it was kept, a service read without it). Only the env changed,
    each deploy since a pipeline's stamping its build (`restamped_by_builds`), is the code a deploy brings."""
    kept, now = record.after.get("template"), service.template_settings
    if not isinstance(kept, dict) or now is None:
        return ("; the rollback's record, or the service as read, holds no revision template to tell a pipeline's deploy of new code from a "
                "change of the template's settings (env, secrets, scaling, VPC access)")
    changed = template_changed(kept, now)
    if not changed or (all(_ENV_FIELD.match(name) for name in changed)
                       and restamped_by_builds(str(record.after.get("latest_created_revision") or ""), revisions)):
        return ""
    return (f": its revision template changed since beyond the code a deploy brings ({', '.join(changed)}; values "
            "not kept): a person at work on its configuration, whose next step (a traffic move, the pin released) "
            "serves it")


def template_changed(kept: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Each template field (shared/gcp/run.py template_settings: its digest) set, unset or changed since."""
    return [name for name in sorted(set(kept) | set(now)) if kept.get(name) != now.get(name)]


def settings_changed(kept: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """Each service-level setting that differs between the record's and the service's, `name: then -> now`."""
    return [f"{name}: {kept.get(name, 'unset')} -> {now.get(name, 'unset')}"
            for name in sorted(set(kept) | set(now)) if kept.get(name) != now.get(name)]


def deploys_since(newest: str, revisions: Sequence[Revision]) -> list[Revision] | None:
    """The revisions created after `newest` (a short name: the newest at the rollback), or None when it is not
    among `revisions` (deleted, or not read): then the deploys since cannot be counted."""
    then = next((r.create_time for r in revisions if r.short_name == newest), None)
    if not newest or then is None:
        return None
    return [r for r in revisions if r.create_time > then]


# A container's env in template_settings' keys (shared/gcp/run.py: `containers[NAME].env`).
_ENV_FIELD = re.compile(r"^containers\[[^\]]*\]\.env$")
# The shapes of a build's identity in an env value:
# - a git commit's object name in hex: 40 digits for SHA-1, 64 for SHA-256, or abbreviated: Cloud Build's
#   $SHORT_SHA, "The first seven characters of COMMIT_SHA" (Cloud Build docs, "Substituting variable values"); git's
#   own abbreviation (git-config core.abbrev) is sized to the repository, at least 4, 7 as its fallback, so a
#   shorter one is left a person's; with at least one of a-f (an all-digit value is a number, more likely a
#   setting: left a person's);
# - Cloud Build's $BUILD_ID ("build ID of your build", Cloud Build docs, "Substituting variable values"), a UUID
#   (its shape there is UNCONFIRMED in words; the build ids the docs' examples show are UUIDs).
_GIT_OBJECT = re.compile(r"^(?=[0-9]*[a-f])[0-9a-f]{7,64}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# A value named by the image's own tag or digest (VERSION=1.4.2 beside :1.4.2): at least this long, with a digit.
_TAG_PART_MIN = 5


def restamped_by_builds(newest: str, revisions: Sequence[Revision]) -> bool:
    """Whether every deploy since the rollback (the revisions created after `newest`, its newest revision then) is
    a pipeline's deploy of new code over the one before it (`build_stamps` not None): then an env changed since is
    its build stamps. False when the deploys since cannot be read, or there are none."""
    then = next((r for r in revisions if r.short_name == newest), None)
    deploys = deploys_since(newest, revisions)
    if then is None or not deploys:
        return False
    chain = [then, *sorted(deploys, key=lambda r: (r.create_time, r.name))]
    stamps = [build_stamps(before, after) for before, after in zip(chain, chain[1:])]
    # At least one stamp read: an env whose digest moved while no plain value did (a secret's variable, a value
    # the revision does not show) is not explained by the revisions.
    return all(s is not None for s in stamps) and any(stamps)


def build_stamps(before: Revision, after: Revision) -> tuple[str, ...] | None:
    """The env variables a deploy (`after`, over `before`) changed as a pipeline stamps its build, by name; () when
    it is a pipeline's deploy of new code that changed no plain env and no secret; None when it is not a pipeline's
    deploy of new code: its image kept, a secret changed, a variable added or removed or set to a value not a
    build's identity, or another principal (or none read) creating it than created `before` (Revision.creator).
    A deploy that changed no plain value is held to the same image and creator rules: the env's digest covers what
    `plain_env` does not show (an empty value, the order, the container), so a person's deploy moving it with no
    value seen was passed over as soon as a pipeline's deploy beside it had restamped."""
    if before.secrets != after.secrets or before.images == after.images:
        return None
    if not after.creator or after.creator.lower() != before.creator.lower():
        return None
    old, new = Counter(before.plain_env), Counter(after.plain_env)
    if old == new:
        return ()
    gone, came = old - new, new - old
    names = sorted({name for name, _ in gone} | {name for name, _ in came})
    for name in names:
        was = [value for key, value in gone.elements() if key == name]
        now = [value for key, value in came.elements() if key == name]
        if len(was) != 1 or len(now) != 1:
            return None
        if not (_build_identity(was[0], before.images) and _build_identity(now[0], after.images)):
            return None
    return tuple(names)


def _build_identity(value: str, images: Sequence[str]) -> bool:
    """Whether an env value has the shape of a build's identity: a git object name, a UUID, or a part of one of
    `images`' tag or digest (the text after its last ':' or '@')."""
    low = value.strip().lower()
    if _GIT_OBJECT.match(low) or _UUID.match(low):
        return True
    if len(low) < _TAG_PART_MIN or not any(c.isdigit() for c in low):
        return False
    return any(low in _tag_of(image) for image in images)


def _tag_of(image: str) -> str:
    """An image reference's tag or digest (REGISTRY/PATH/NAME:TAG or NAME@sha256:HEX: the text after the last
    ':' or '@' of its last path segment, a registry's port left out), lowercased; "" when it names neither."""
    last = image.lower().rsplit("/", 1)[-1]
    if "@" in last:
        return last.rsplit("@", 1)[-1].rsplit(":", 1)[-1]
    return last.rsplit(":", 1)[-1] if ":" in last else ""
