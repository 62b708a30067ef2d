"""Whether a connector change left the connector room, read on its own metrics over the minutes a verdict
judges (pure, no I/O): a scale-up is made to give the connector room it lacked, and its services' clean requests
show only that it carries the load of those minutes. A connector still at its limit as scaled (`at_limit`) carries
it until the next rise of the load, as the one before the change did until it failed, so those clean minutes are
no `verified`: the change used up the room it gave. Before, such a change was verified on its services' clean
requests alone, unless its alert was on the connector itself (judging.unread_condition).

A minute is at the limit, as the diagnosis reads the connector's saturation signs (connector_news._signs, at the
same settings), when:
- its throughput (the larger of received_bytes_count and sent_bytes_count, Facts.connector_bytes_by_minute) is at
  `connector_throughput_ratio` or more of the ceiling of the connector as it is now (the machine type's throughput
  per instance times its max_instances, Facts.connector_ceiling_mbps; the per-instance figures are UNCONFIRMED
  against the current page: facts.CONNECTOR_MBPS_PER_INSTANCE); or
- its CPU p99 is at `connector_cpu_saturation` or more while its instances stand at its max_instances: the
  connector cannot add an instance, so the CPU is the room left. A hot CPU below max_instances is not at the
  limit: the connector may still add instances up to max_instances (its min and max instances bound how many it
  runs: gcloud compute networks vpc-access connectors update, --min-instances/--max-instances; what makes it add one is
  UNCONFIRMED), and with its instance count not read that minute it is not known to be at max, so it is not
  counted.

One peak minute is a burst the connector carried; a limit reached in `AT_LIMIT_SHARE` of the minutes with a reading
or more, and in `AT_LIMIT_MINUTES` at least, is the load it runs at. With no connector metric read in the minutes judged nothing is said here (the
verdict cites the requests alone, as before); connector metrics arrive up to ~240 s late (Cloud
Monitoring, "Retention and latency of metric data": "data is not visible for up to 240 seconds", the figure varying
by metric; for the connector's metrics UNCONFIRMED), so the newest minutes may have none yet, which only leaves fewer minutes to count."""
from __future__ import annotations

from dataclasses import dataclass

from shared.diagnosis.facts import Facts, Window, hms
from shared.diagnosis.evidence import at_micros

# The share of the minutes read at the limit that makes it the connector's load, not a burst it carried.
AT_LIMIT_SHARE = 0.5
# And at least this many minutes at it: one minute is a burst whatever else was read (the least minutes a verdict
# reads at all: judging._MIN_MINUTES).
AT_LIMIT_MINUTES = 2


@dataclass(frozen=True)
class Limit:
    """The minutes of a window the connector was at its limit in, of those with a reading, and the peaks read."""
    at_limit: tuple[int, ...]       # minute ends (microseconds)
    read: int                       # minutes with a throughput or a CPU reading
    peak_mbps: float | None
    ceiling_mbps: float | None
    peak_cpu: float | None
    max_instances: int

    def held(self) -> bool:
        return len(self.at_limit) >= max(AT_LIMIT_MINUTES, AT_LIMIT_SHARE * self.read)


def limit_in(facts: Facts, window: Window) -> Limit | None:
    """The connector's minutes at its limit in `window` (module doc), None with no connector read."""
    connector = facts.b.connector
    if connector is None:
        return None
    s = facts.s
    ceiling = facts.connector_ceiling_mbps()
    mbps = {end: v * 8 / 1e6 for end, v in facts.connector_bytes_by_minute(window).items()}
    cpu = facts.busiest_by_minute(facts.b.connector_cpu, window)
    instances = facts.busiest_by_minute(facts.b.connector_instances, window)
    full = {end for end, n in instances.items() if n >= connector.max_instances}
    at = {end for end, v in mbps.items() if ceiling and v >= s.connector_throughput_ratio * ceiling}
    at |= {end for end, v in cpu.items() if min(max(v, 0.0), 1.0) >= s.connector_cpu_saturation and end in full}
    return Limit(at_limit=tuple(sorted(at)), read=len(set(mbps) | set(cpu)),
                 peak_mbps=max(mbps.values(), default=None), ceiling_mbps=ceiling,
                 peak_cpu=min(max(cpu.values()), 1.0) if cpu else None, max_instances=connector.max_instances)


def at_limit(facts: Facts, action: str, window: Window) -> str:
    """Why clean requests since a connector change do not verify it, because the connector as scaled ran at its
    limit in `window`, the minutes judged ("" if it did not, nothing was read, or for another action)."""
    if action != "scale_connector":
        return ""
    limit = limit_in(facts, window)
    if limit is None or not limit.held():
        return ""
    s, connector = facts.s, facts.b.connector
    read = "; ".join(part for part in (
        f"throughput peak {limit.peak_mbps:.0f} Mbps against its ceiling of {limit.ceiling_mbps:.0f} Mbps "
        f"({connector.machine_type} x max_instances {limit.max_instances}; bar "
        f"{s.connector_throughput_ratio:.0%} of it)" if limit.peak_mbps is not None and limit.ceiling_mbps else "",
        f"CPU p99 peak {limit.peak_cpu:.0%} (bar {s.connector_cpu_saturation:.0%} at max_instances "
        f"{limit.max_instances})" if limit.peak_cpu is not None else "") if part)
    first, last = at_micros(limit.at_limit[0]), at_micros(limit.at_limit[-1])
    return (f"the connector as scaled is still at its limit: {len(limit.at_limit)} of the {limit.read} minute(s) "
            f"read in {window} (minutes to {hms(first)} .. {hms(last)}) at its throughput ceiling or at max "
            f"instances with its CPU saturated ({read}); the change used up the room it gave, so the clean "
            f"requests show only that it carries this load, not that it will carry the next rise (at least "
            f"{AT_LIMIT_SHARE:.0%} of the minutes, and {AT_LIMIT_MINUTES}, at the limit: the connector's own load, "
            "not a burst)")
