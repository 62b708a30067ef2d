"""How the renderers word times, durations and milestones (shared by text, Markdown and HTML)."""
from __future__ import annotations

from datetime import datetime

from shared.timeline.model import IncidentTimeline, Milestone, TimelineEntry


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def clock(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S}Z" if at else "unknown"


def measures(t: IncidentTimeline) -> str:
    d = t.durations
    return f"TTD {duration(d.ttd_seconds)} · TTM {duration(d.ttm_seconds)} · TTR {duration(d.ttr_seconds)}"


def milestone_lines(t: IncidentTimeline) -> list[tuple[str, Milestone | None]]:
    m = t.milestones
    return [("Onset", m.onset), ("Detection", m.detection), ("Decision", m.decision), ("Mitigation", m.mitigation),
            ("Recovery", m.recovery)]


def entry_when(e: TimelineEntry) -> str:
    when = f"{e.at:%H:%M:%S}"
    if e.count > 1:
        when += f" (×{e.count}" + (f", last {e.last_at:%H:%M:%S})" if e.last_at and e.last_at != e.at else ")")
    return when
