"""scale_connector: give a saturated Serverless VPC Access connector more room.

Either a bigger machine type (a CPU-bound e2-micro or f1-micro moves to e2-standard-4) or a
higher max_instances. The API only scales up (gcloud's `connectors update` reference), so the change cannot be undone by
automation: it runs only where the connector's policy says allow_one_way, and is otherwise
proposed to a person (see `needs_approval`).
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from shared.alerts.operators import ONE_WAY_SCALE, lacks_one_way, sent_by_operator
from shared.remediation.actions import register
from shared.remediation.actions.base import Action, ActionParams
from shared.config import MACHINE_TYPES, Config, ConnectorPolicy
from shared.errors import (LimitReachedError, NotShownAfterWriteError, OperationEndedInError, OutcomeUnknownError,
                           PermanentError, QuotaRefusedError, StaleEvidenceError, TransientError)
from shared.diagnosis.connector_names import doubtful_policies
from shared.diagnosis.evidence import Connector, short_name
from shared.diagnosis.rules.connector_signs import CANNOT_SCALE, CHANGE_UNDER_WAY

# The API's own ranges (gcloud `connectors update`): min 2-9, max 3-10, min < max.
MIN_INSTANCES = (2, 9)
MAX_INSTANCES = (3, 10)
# Smallest to largest: f1-micro carries 100-500 Mbps, e2-micro 200-1000, e2-standard-4 3200-16000.
MACHINE_RANK = {"f1-micro": 0, "e2-micro": 1, "e2-standard-4": 2}

_CONNECTOR_NAME = re.compile(r"^projects/([^/]+)/locations/([^/]+)/connectors/([^/]+)$")


class ScaleConnectorParams(ActionParams):
    # target: projects/P/locations/L/connectors/C
    from_min_instances: int         # the connector as read before planning
    from_max_instances: int
    from_machine_type: str
    min_instances: int              # what it is asked to become; min and max are always sent together
    max_instances: int
    machine_type: str
    reason: str                     # the stress that calls for it, e.g. "CPU-bound e2-micro"

    @property
    def machine_type_changes(self) -> bool:
        return self.machine_type != self.from_machine_type

    @property
    def changes_anything(self) -> bool:
        return (self.machine_type_changes or self.min_instances != self.from_min_instances
                or self.max_instances != self.from_max_instances)


def connector_state(connector: Connector) -> dict[str, Any]:
    """The part of a connector this action changes, as recorded in outcomes (before and after)."""
    return {"connector": {"name": connector.name, "state": connector.state, "machine_type": connector.machine_type,
                          "min_instances": connector.min_instances, "max_instances": connector.max_instances}}



# What each state means, in the words of the google.cloud.vpcaccess.v1 Connector.State docstring
# (google-cloud-vpc-access, types.Connector.State). That a connector in any state but READY refuses a
# patch is inferred, not documented (UNCONFIRMED; docs/api-contracts.md: a PATCH during UPDATING is
# refused): neither an alert's plan nor an operator's scale touches it in any of them.
_STATE_MEANS = {
    "UPDATING": "The connector is being updated",
    "CREATING": "An Insert operation is in progress. Transient condition",
    "DELETING": "A Delete operation is in progress. Transient condition",
    "ERROR": "Connector is in a bad state, manual deletion recommended",
    "STATE_UNSPECIFIED": "Invalid state",
}


def not_ready_answer(short: str, state: str, name: str, done: str, once_ready: str) -> str:
    """Why a connector not READY is not scaled and what to do, the same on the alert path and the command
    path: `done` says what was not done, `once_ready` what to do once a change under way ends."""
    means = _STATE_MEANS.get(state)
    said = f"connector {short} is {state}" + (f" (VPC Access: \"{means}\")" if means else "")
    if state in CHANGE_UNDER_WAY:
        then = (f"another change of it is under way, and it is scaled only once READY: see it with runwarden status "
                f"--target {name}, and {once_ready}")
    else:
        then = CANNOT_SCALE
    return f"{said}: {done}; {then}"


def manual_sender(allow_one_way: bool, name: str) -> str:
    """Who must send the scale_connector command an escalation advises: where the connector's policy
    leaves the one-way change to a person (no `allow_one_way`), only a principal in `operators` may
    (shared/commands/connector.py), named as the command's `requested_by`; "" otherwise."""
    if allow_one_way:
        return ""
    # The same rule and words as the command path's refusal (shared/alerts/operators.py), not a second wording.
    return sent_by_operator(ONE_WAY_SCALE, lacks_one_way(name))


def gcloud_command(params: ScaleConnectorParams) -> str:
    """The command a person would run to make the same change by hand."""
    match = _CONNECTOR_NAME.match(params.target)
    name, region = (match.group(3), match.group(2)) if match else (params.target, "REGION")
    command = (f"gcloud compute networks vpc-access connectors update {name} --region={region} "
               f"--min-instances={params.min_instances} --max-instances={params.max_instances}")
    if params.machine_type_changes:
        command += f" --machine-type={params.machine_type}"
    return command


@register
class ScaleConnector(Action[ScaleConnectorParams]):
    name = "scale_connector"
    params_model = ScaleConnectorParams
    reversible = False  # the API refuses to lower min or max: there is no way back short of recreating it
    iam_permissions = (
        "vpcaccess.connectors.get",
        "vpcaccess.connectors.update",
        "vpcaccess.operations.get",
    )

    def bounds_violations(self, params: ScaleConnectorParams, config: Config, now: datetime) -> list[str]:
        violations = []
        if not _CONNECTOR_NAME.match(params.target):
            violations.append(f"{params.target} is not a connector name (projects/P/locations/L/connectors/C)")
        if not params.changes_anything:
            violations.append(f"nothing changes: {short_name(params.target)} is already {params.machine_type}, "
                              f"{params.min_instances}-{params.max_instances} instances")
        return (violations + _range_violations(params) + _downward_violations(params)
                + _policy_violations(params, config))

    def can_claim(self, target: str) -> bool:
        # `bounds_violations` refuses any target that is not a connector's name: a service's alert
        # cannot have scaled a connector under the service's name.
        return _CONNECTOR_NAME.match(target) is not None

    def needs_approval(self, params: ScaleConnectorParams, config: Config) -> str:
        """Why a person must approve this change first, or "" when the policy lets it run.

        Not a bound: the request may be perfectly sound, it is just not automation's to make."""
        if config.bounds.connector(params.target).allow_one_way:
            return ""
        return (f"scaling a connector is one-way and the policy for {short_name(params.target)} "
                f"does not allow_one_way")

    def preview(self, params: ScaleConnectorParams, before: dict[str, Any]) -> dict[str, Any]:
        current = dict(before.get("connector") or {})
        return {"connector": {**current, "name": params.target, "machine_type": params.machine_type,
                              "min_instances": params.min_instances, "max_instances": params.max_instances}}

    def apply(self, params: ScaleConnectorParams, adapters: Any) -> dict[str, Any]:
        # The connector is read again right before the patch: the v1 Connector has no etag and the
        # patch no precondition (only `updateMask`: the v1 REST reference of Connector and of
        # projects.locations.connectors.patch), so a change someone made since the plan was read
        # (an approval's proposal, possibly hours old; an alert's evidence) is seen only this way.
        # The window left is this read's round trip to the patch.
        changed = changed_since_planned(adapters.vpcaccess.get_connector(params.target), params)
        if changed:
            raise StaleEvidenceError(changed, code="TARGET_CHANGED")
        try:
            after = adapters.vpcaccess.update_connector(
                params.target, min_instances=params.min_instances, max_instances=params.max_instances,
                # Only named when it changes, so the patch's mask leaves the machine type alone otherwise.
                machine_type=params.machine_type if params.machine_type_changes else None)
        except QuotaRefusedError as refused:
            if not getattr(adapters, "last_delivery", False):
                raise   # transient: all given back, and the redelivery sends it again after Pub/Sub's backoff
            raise out_of_room(params, refused, rate=True) from refused
        except LimitReachedError as refused:
            raise out_of_room(params, refused) from refused
        except OperationEndedInError as failed:
            left = _left_by_failed_update(adapters, params, failed)
            if left is not None:
                raise left from failed
            if failed.code == "RESOURCE_EXHAUSTED":
                raise out_of_room(params, failed) from failed
            raise
        problem = _verification_problem(after, params)
        if problem:
            # The patch's operation finished without an error, or the connector already had what was
            # asked: what the read-back shows instead (a machine type the mask left alone, ERROR) may be
            # another hand's change as the operation ended. Not a failure to give back: an unknown
            # outcome, recorded and escalated (the adapter's `read_back` says why).
            raise NotShownAfterWriteError(
                f"the update finished, but {short_name(params.target)} read back right after {problem} "
                f"(now {after.machine_type}, {after.min_instances}-{after.max_instances} instances, {after.state}): "
                "another hand (a person, Terraform) may have changed it as the update ended, or the update did "
                "not take; the connector keeps no record that tells which")
        return connector_state(after)

    def observe(self, params: ScaleConnectorParams, adapters: Any) -> dict[str, Any] | None:
        return connector_state(adapters.vpcaccess.get_connector(params.target))

    def shows(self, state: dict[str, Any], live: dict[str, Any]) -> bool:
        # What a patch changes; `state` (READY, UPDATING) is the operation's, not the change's.
        fields = ("machine_type", "min_instances", "max_instances")
        want, now = state.get("connector") or {}, live.get("connector") or {}
        return bool(want) and all(want.get(f) == now.get(f) for f in fields)

    def may_have_landed(self, after: dict[str, Any], live: dict[str, Any]) -> bool:
        """Min and max instances can only be raised ("≥ the currently set" minimum and maximum: the
        gcloud `connectors update` reference; the API refuses less, sandbox/standins/vpcaccess.py). So a
        connector with fewer instances than the plan's never had the patch (short of being deleted and
        created again); one with at least as many may have had it, and then another change (a machine
        type, a further raise), or a person's change alone may have reached those sizes. The machine
        type can be set either way, so it tells nothing. The connector keeps no generation, etag or
        update time to decide it (its v1 fields, projects.locations.connectors)."""
        want, now = after.get("connector") or {}, live.get("connector") or {}
        sizes = ("min_instances", "max_instances")
        return bool(want) and all(isinstance(now.get(f), int) and isinstance(want.get(f), int)
                                  and now[f] >= want[f] for f in sizes)

    def notes(self, params: ScaleConnectorParams) -> list[str]:
        one_way = (f"Scaling {short_name(params.target)} is one-way: the API only raises min and max instances, "
                   f"so automation cannot undo it; going back means recreating the connector.")
        # Whether a connector ever scales back in is unconfirmed: say so rather than promise either way.
        cost = ("Instances added may not scale back in when the load drops (unconfirmed), so the connector "
                "may cost more from now on.")
        return [
            one_way,
            cost,
            f"The equivalent command: {gcloud_command(params)}",
        ]


# --- bounds, one rule each ---------------------------------------------------------------------


def _range_violations(p: ScaleConnectorParams) -> list[str]:
    """The API's absolute rules: machine types it accepts, the instance ranges, min below max."""
    out = []
    if p.machine_type not in MACHINE_TYPES:
        out.append(f"{p.machine_type} is not a connector machine type (the API accepts {', '.join(MACHINE_TYPES)})")
    if not MIN_INSTANCES[0] <= p.min_instances <= MIN_INSTANCES[1]:
        out.append(f"min_instances {p.min_instances} is outside {MIN_INSTANCES[0]}-{MIN_INSTANCES[1]}")
    if not MAX_INSTANCES[0] <= p.max_instances <= MAX_INSTANCES[1]:
        out.append(f"max_instances {p.max_instances} is outside {MAX_INSTANCES[0]}-{MAX_INSTANCES[1]}")
    if p.min_instances >= p.max_instances:
        out.append(f"min_instances {p.min_instances} is not below max_instances {p.max_instances}")
    return out


def _downward_violations(p: ScaleConnectorParams) -> list[str]:
    """Scale-up only: the API refuses lower instance counts, and a smaller machine is not a remedy."""
    out = []
    if p.min_instances < p.from_min_instances:
        out.append(f"min_instances would go down from {p.from_min_instances} to {p.min_instances}")
    if p.max_instances < p.from_max_instances:
        out.append(f"max_instances would go down from {p.from_max_instances} to {p.max_instances}")
    old, new = MACHINE_RANK.get(p.from_machine_type), MACHINE_RANK.get(p.machine_type)
    if old is not None and new is not None and new < old:
        out.append(f"machine type would be downgraded from {p.from_machine_type} to {p.machine_type}")
    return out


def policy_in_doubt(target: str, doubt: tuple[str, ...]) -> str:
    """Why no scale is planned or applied on `target`, a connector named by a project number that may be the
    connector of a policy in the config named by project id (connector_names.doubtful_policies): which policy
    bounds it (its ceiling, its machine types, allow_one_way) cannot be told, nor whether the gate's cooldown,
    budget and pauses of the connector by id are its own. A person decides."""
    return (f"connector {target} is named by a project number, and bounds.connectors has a policy for "
            f"{', '.join(doubt)}, which it may be (a revision may name its connector by project id or number; nothing "
            "read says which project the number is): which policy bounds it, and whether that connector's "
            "cooldown, budget and pauses are its own, cannot be told, so it is not scaled: a person must decide "
            f"(to scale it, send a scale_connector command naming {doubt[0]} once that is the connector)")


def _policy_violations(p: ScaleConnectorParams, config: Config) -> list[str]:
    """What the configured policy for this connector allows automation to set; none at all for a connector
    named by a project number that may be a configured one's (`policy_in_doubt`)."""
    doubt = doubtful_policies(p.target, (c.name for c in config.bounds.connectors))
    if doubt:
        return [policy_in_doubt(p.target, doubt)]
    policy = config.bounds.connector(p.target)
    out = []
    if p.max_instances > policy.max_instances_ceiling:
        out.append(f"max_instances {p.max_instances} is above the policy's ceiling of "
                   f"{policy.max_instances_ceiling} for {short_name(p.target)}: {_within_ceiling(policy)}")
    # Only a machine type being set is checked: keeping an existing one is not automation's choice.
    setting = p.machine_type_changes and p.machine_type in MACHINE_TYPES  # unknown types: _range_violations
    if setting and p.machine_type not in policy.allowed_machine_types:
        out.append(f"machine type {p.machine_type} is not allowed for {short_name(p.target)} "
                   f"(allowed: {', '.join(policy.allowed_machine_types)})")
    return out


def _within_ceiling(policy: ConnectorPolicy) -> str:
    """What to send instead of a max_instances above the policy's ceiling, and how the ceiling is raised: by
    the config, never by a command (docs/configuration.md). 10 is VPC Access's own maximum (gcloud reference,
    `compute networks vpc-access connectors update`: --max-instances 3-10), which no config raises."""
    ceiling = policy.max_instances_ceiling
    if ceiling >= 10:
        return ("send max_instances 10 at most; 10 is VPC Access's own maximum, so, for more room, a larger "
                "machine_type (e2-standard-4)")
    return (f"send max_instances {ceiling} at most; raising the ceiling is a config change, not a command: "
            f"bounds.connectors' max_instances_ceiling for {short_name(policy.name)} (docs/configuration.md; "
            "at most 10, VPC Access's own), deployed with terraform apply (docs/deploy.md, \"The config file\")")


def changed_since_planned(live: Connector, p: ScaleConnectorParams) -> str:
    """How the connector as read now differs from what the change was planned on (its `from_`
    fields), or "". Any difference counts, the planned result itself included: someone else made
    a change, and the decision (a person's approval of it, or the evidence) was about another
    connector. The state is left to the patch: one UPDATING is refused there as busy (transient)."""
    then = (p.from_machine_type, p.from_min_instances, p.from_max_instances)
    now = (live.machine_type, live.min_instances, live.max_instances)
    if now == then:
        return ""
    return (f"connector {short_name(p.target)} is now {now[0]} {now[1]}-{now[2]} instances, not the "
            f"{then[0]} {then[1]}-{then[2]} this change was planned on: it changed after that was read")


def out_of_room(p: ScaleConnectorParams, refusal: Exception, *, rate: bool = False) -> PermanentError:
    """A scale VPC Access refused RESOURCE_EXHAUSTED, at the call or at its operation's end, with the connector
    as it was: reported once (`failed`: the gate gives back the cooldown and budget and keeps the incident's
    claim, so its later notifications are duplicates), with what to check and the command to run once there is
    room. Each connector instance is a VM with an address in the connector's /28 range or subnet (Serverless VPC
    Access, "Configure a connector": a /28 that no other resource uses), of whose 16 addresses each subnet's
    primary range reserves four (VPC, "Reserved IP addresses in IPv4 subnets"); and a project's quotas bound
    what it may hold. Which of them VPC Access names in its refusal is UNCONFIRMED, so both are named. `rate`: a
    rate quota that still refused at the message's last delivery."""
    match = _CONNECTOR_NAME.match(p.target)
    project, region, name = match.groups() if match else ("PROJECT", "REGION", p.target)
    what = ("a rate quota on VPC Access requests, still refusing at this alert's last delivery" if rate else
            "a limit the connector or its project has reached: no free IP address in the connector's range or "
            "subnet for another instance, or a project quota used up")
    return PermanentError(
        f"{str(refusal).rstrip('.')}. VPC Access refused more room for {name} (RESOURCE_EXHAUSTED: {what}); "
        "nothing was changed. "
        f"Check the connector's range or subnet and its size: gcloud compute networks vpc-access connectors describe "
        f"{name} --region={region} --project={project} (each instance takes one of the /28's free addresses: a "
        "range shared with other resources may have none left); and the project's quotas in the region: "
        f"https://console.cloud.google.com/iam-admin/quotas?project={project}. Once there is room, by hand: "
        f"{gcloud_command(p)}", code="RESOURCE_EXHAUSTED")


def _left_by_failed_update(adapters: Any, p: ScaleConnectorParams, failed: OperationEndedInError) -> Exception | None:
    """What a patch whose operation ended with an error is taken as, read from the connector right after: None
    when it is READY with the values it was planned on (the failure changed nothing: answered `failed`, the
    cooldown and budget given back); otherwise an unknown outcome. A failed operation is not documented to
    put back what it changed (OperationEndedInError), and the v1 Connector keeps no record of who changed it
    (`read_back`), so a connector that shows the plan, part of it, something else, or state ERROR ("manual
    deletion recommended", Connector.State) may be this write's doing: recorded as this incident's action and
    escalated (NotShownAfterWriteError), so neither a redelivery nor a later incident scales it again within
    the cooldown. Unreadable: unknown too (OutcomeUnknownError, the sweep judges it)."""
    try:
        live = adapters.vpcaccess.get_connector(p.target)
    except (TransientError, PermanentError) as exc:
        return OutcomeUnknownError(f"{failed}; and {short_name(p.target)} could not be read after it ({exc}): "
                                   "what the failed update left on it is unknown")
    changed = changed_since_planned(live, p)
    if live.state == "READY" and not changed:
        return None
    shows = changed or f"connector {short_name(p.target)} is {live.state}" + (
        f" (VPC Access: \"{_STATE_MEANS[live.state]}\")" if live.state in _STATE_MEANS else "")
    return NotShownAfterWriteError(
        f"{failed}; but read right after, {shows} (now {live.machine_type}, {live.min_instances}-"
        f"{live.max_instances} instances, {live.state}): the failed update may have left that (VPC Access does not "
        "document that a failed update is undone), or another hand made it; the connector keeps no record that "
        "tells which")


def _verification_problem(after: Connector, p: ScaleConnectorParams) -> str:
    """Why the connector as read back does not show the change, or ""."""
    if after.state == "ERROR":
        return "is in state ERROR"
    # "At least" for instances: someone scaling it further meanwhile still satisfies the request.
    if after.min_instances < p.min_instances or after.max_instances < p.max_instances:
        return (f"has {after.min_instances}-{after.max_instances} instances, "
                f"not {p.min_instances}-{p.max_instances}")
    if after.machine_type != p.machine_type:
        return f"is {after.machine_type}, not {p.machine_type}"
    return ""
