"""Whether the service's VPC connector sat at its ceiling for a long stretch while its requests failed, though
they are clean now: `healthy` is then held back, and a person told (escalated, nothing written). Pure, no I/O.

`healthy` is judged on the newest minutes since the incident started (Facts.recent_since_incident). An incident
delivered late (sandbox/scenarios/connector_saturation_over_before_25m_late_delivery.yaml: 23 minutes at its 3
instances and 95 % CPU, cleared at +8, delivered at +28) shows those minutes clean, and was `skipped`: a skipped
outcome reaches nobody, while a connector that reached its ceiling for 20 minutes under the load of one evening
will reach it again. A scale-up then is not Runwarden's to make (the load has gone; docs/behaviour.md, failures
that stopped): it is a person's to weigh, with the span, the connector's max instances and the peak.

A minute is at the ceiling when the connector ran at its max instances and under load: CPU p99 at
`connector_cpu_saturation` or more, or its throughput at `connector_throughput_ratio` of the machine type's
ceiling (the saturation signs connector_saturation reads: facts._signs). The instance count alone is not:
"Connectors don't scale in" (cloud.google.com/vpc/docs/serverless-vpc-access, Scaling), so a connector stays at
its max long after the load that took it there. A stretch counts when it lasts `LONG_MINUTES` in a row and
overlaps the minutes the requests failed (Facts.failing_window): a connector busy while its services serve
cleanly needs nothing (health_bar's module docstring), and a short spike is a transient, still `skipped`.
On the alert path only (diagnose._healthy, `traffic_judged`): the verification sweep judges its own action on the
minutes since it.
"""
from __future__ import annotations

from shared.diagnosis.connector_minutes import Sign
from shared.diagnosis.evidence import at_micros
from shared.diagnosis.facts import Facts, Window, hms

# Minutes in a row at the ceiling that a person should hear of, though the failures stopped: a choice, not a
# documented figure (four times a 5-minute retest window); a burst of a few minutes is a transient.
LONG_MINUTES = 20
_MINUTE_US = 60_000_000


def saturated_stretch(facts: Facts) -> str:
    """Why the clean minutes do not close the incident: the connector's longest stretch at its ceiling, of
    LONG_MINUTES or more, overlapping the failing minutes ("" when there was none)."""
    connector, failing = facts.b.connector, facts.failing_window
    if connector is None or failing is None or not connector.max_instances:
        return ""
    minutes = facts.connector_minutes(facts.incident)
    run = _longest_run([at for at, full in minutes.ceiling_states().items() if full])
    if len(run) < LONG_MINUTES:
        return ""
    start, end = at_micros(run[0] - _MINUTE_US), at_micros(run[-1])
    low, high = failing.micros
    if run[-1] <= low or run[0] - _MINUTE_US >= high:
        return ""
    # The load's peaks for the words, from the same minutes the stretch was found in.
    cpu, rates = minutes.values(Sign.CPU), facts.connector_bytes_by_minute(facts.incident)
    ceiling = facts.connector_ceiling_mbps()
    peak_cpu = max(cpu.get(at, 0.0) for at in run)
    peak_mbps = max(rates.get(at, 0.0) for at in run) * 8 / 1e6
    load = f"CPU p99 up to {min(peak_cpu, 1.0):.0%}" + (f", {peak_mbps:.0f} of {ceiling:.0f} Mbps" if ceiling else "")
    return (f"connector {connector.short_name} sat at its max of {connector.max_instances} instances under load "
            f"({load}) for {len(run)} minutes, from {hms(start)} to {hms(end)}, while the requests failed: it "
            "reached its ceiling, and the same load will take it there again (failures that stopped are not "
            "scaled for: a person weighs its max instances or machine type)")


def ceiling_states(facts: Facts, window: Window) -> dict[int, bool]:
    """Each minute end (microseconds) in `window` at which the connector was read: True at its ceiling (at its max
    instances and under load, the module's docstring), False read under it (under its max instances, or at them
    with every load series read that minute under its bar). A minute whose instance count Monitoring left out, or
    at its max with a load series' point left out and none over its bar, is in neither: it is not read as under.
    Whether Monitoring writes an aligned point for a minute with no sample is UNCONFIRMED ("An aligned time
    series has a single data value at the end of each alignment_period", Aggregation.Aligner,
    google/monitoring/v3/common.proto, says nothing of a period with none): read either way, a gap proves
    nothing. {} with no connector read. The minutes are Facts.connector_minutes: the reading the connector's news
    and its rise share, so the bars cannot drift apart."""
    if facts.b.connector is None:
        return {}
    return facts.connector_minutes(window).ceiling_states()


def _longest_run(minutes: list[int]) -> list[int]:
    """The longest run of minute ends a minute apart each (oldest first)."""
    best: list[int] = []
    run: list[int] = []
    for at in minutes:
        if run and at - run[-1] != _MINUTE_US:
            run = []
        run.append(at)
        if len(run) > len(best):
            best = list(run)
    return best
