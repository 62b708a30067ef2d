"""What Runwarden did, for a person: timeline steps, evidence, traffic and the outcome.

Shared by `make demo` (sandbox/demo.py) and `runwarden replay`. It reads plain data only —
the structured timeline lines (shared/timeline/writer.py) and the published outcome body — so the
function server's stdout and an in-process run render the same way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Sequence

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

# Steps whose line carries `status`: the decision, after which the outcome is published.
DECISION_STEPS = frozenset({"applied", "dry_run", "skipped", "failed", "escalated", "resolved", "rejected",
                            "proposed"})

_TITLES = {
    "received": "received", "diagnosed": "diagnosed", "planned": "planned", "claimed": "claimed",
    "applied": "applied", "dry_run": "dry run", "skipped": "skipped", "failed": "failed",
    "escalated": "escalated", "resolved": "resolved", "rejected": "rejected",
    "outcome_published": "outcome published",
}
_SEVERITY_STYLE = {"INFO": "green", "WARNING": "yellow", "ERROR": "red"}
_STATUS_STYLE = {"applied": "bold green", "dry_run": "bold cyan", "resolved": "green", "skipped": "yellow",
                 "escalated": "bold yellow", "failed": "bold red", "rejected": "bold red"}
_QUERY_WIDTH = 70
_INDENT = 11  # details sit under the step names, past the "+12.34 s" column


def make_console(plain: bool = False) -> Console:
    """`plain`: no colour, no emoji, ASCII marks; rich also drops colour by itself off a TTY."""
    if plain:
        return Console(color_system=None, highlight=False, emoji=False)
    return Console(highlight=False, emoji=False)


def is_plain(console: Console) -> bool:
    return console.color_system is None


@dataclass
class LiveTraffic:
    """The service's traffic as the Cloud Run (stand-in) API reports it after the run."""

    service: str
    generation: int
    statuses: list[dict[str, Any]] = field(default_factory=list)   # {revision, percent, type, tag}

    def percent(self, revision: str) -> int:
        return sum(int(t.get("percent", 0)) for t in self.statuses if t.get("revision") == revision)

    @classmethod
    def of(cls, service: Any) -> "LiveTraffic":
        """From a run_v2.Service (read straight from the stand-in, or through the API)."""
        statuses = [{"type": t.type_.name.rsplit("_", 1)[-1], "revision": t.revision, "percent": t.percent,
                     "tag": t.tag} for t in service.traffic_statuses]
        return cls(service.name, int(service.generation), statuses)


@dataclass
class LiveConnector:
    """A connector as the VPC Access (stand-in) API reports it after the run."""

    name: str
    state: str
    machine_type: str
    min_instances: int
    max_instances: int

    @classmethod
    def of(cls, rest: Mapping[str, Any]) -> "LiveConnector":
        """From the connector's REST shape (camelCase, as GET returns it)."""
        return cls(str(rest.get("name", "")), str(rest.get("state", "")), str(rest.get("machineType", "")),
                   int(rest.get("minInstances", 0)), int(rest.get("maxInstances", 0)))

    def shape(self) -> dict[str, Any]:
        return {"machine_type": self.machine_type, "min_instances": self.min_instances,
                "max_instances": self.max_instances, "state": self.state}


@dataclass
class Published:
    """One outcome as read back from the outcomes topic."""

    body: dict[str, Any]
    attributes: dict[str, str] = field(default_factory=dict)
    ordering_key: str = ""


class Narrator:
    """Prints timeline entries one by one; decision steps also show the published outcome."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.plain = is_plain(console)
        self._origin: datetime | None = None

    # --- steps -----------------------------------------------------------------------------

    def step(self, entry: Mapping[str, Any], published: Published | None = None,
             live: LiveTraffic | None = None) -> None:
        details = entry.get("runwarden") or {}
        name = str(details.get("step", "?"))
        self._line(self._offset(entry), name, short_names(str(entry.get("message", ""))),
                   entry.get("severity", "INFO"))
        if name == "received" and details.get("relayed"):
            self._indented(Text(relay_path(details["relayed"])))
        elif name == "diagnosed" and details.get("evidence"):
            self._indented(evidence_table(details["evidence"], self.plain, wide=self.console.width >= 120))
        elif name in DECISION_STEPS:
            self._decision(details, published, live)
        elif name == "outcome_published" and published is not None:
            self._indented(outcome_table(published, self.plain))

    def _decision(self, details: Mapping[str, Any], published: Published | None,
                  live: LiveTraffic | LiveConnector | None) -> None:
        action = (published.body.get("action") if published else None) or {}
        proposed = action.get("proposed_change")
        before, after = action.get("before"), proposed or action.get("after") or details.get("after")
        if not (before or after):
            return
        dry_run = details.get("status") == "dry_run"
        if "connector" in (before or {}) or "connector" in (after or {}):
            # A connector action changes the connector, not Cloud Run traffic: show the connector.
            label = "proposed" if proposed or details.get("status") == "proposed" else None
            self._indented(connector_table(before, after, live if isinstance(live, LiveConnector) else None,
                                           self.plain, dry_run=dry_run, label=label))
            return
        self._indented(traffic_table(before, after, live if isinstance(live, LiveTraffic) else None, self.plain,
                                     dry_run=dry_run))

    def _line(self, offset: str, step: str, message: str, severity: str) -> None:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=9, justify="right", style="dim")
        grid.add_column(width=18, style=f"bold {_SEVERITY_STYLE.get(severity, '')}".strip(), no_wrap=True)
        grid.add_column(ratio=1)
        grid.add_row(offset, _TITLES.get(step, step), Text(message))
        self.console.print(grid)

    def _offset(self, entry: Mapping[str, Any]) -> str:
        # Times are relative to the first step shown: what a person wants is "how long did it take".
        try:
            at = datetime.fromisoformat(str(entry.get("time")))
        except ValueError:
            return ""
        self._origin = self._origin or at
        return f"+{(at - self._origin).total_seconds():.2f} s"

    def _indented(self, renderable: RenderableType) -> None:
        self.console.print(Padding(renderable, (0, 0, 0, _INDENT), expand=False))


# --- building blocks ---------------------------------------------------------------------------


def relay_path(relayed: Sequence[Mapping[str, Any]]) -> str:
    """The wrappings a relay put around the notification, outermost first, as the `received` step names them."""
    said = []
    for wrapping in relayed:
        via = [f"subscription {wrapping['subscription']}" if wrapping.get("subscription") else "",
               f"message {wrapping['message_id']}" if wrapping.get("message_id") else ""]
        said.append(f"{wrapping.get('form', '?')}" + (f" ({', '.join(v for v in via if v)})" if any(via) else ""))
    return "relayed: " + " > ".join(said)


def evidence_table(evidence: Sequence[Mapping[str, Any]], plain: bool = False, wide: bool = True) -> Table:
    """One row per fact. A narrow console stacks observed, threshold and query in one cell."""
    table = Table(box=box.ASCII2 if plain else box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  header_style="bold")
    table.add_column("", no_wrap=True)
    table.add_column("source", no_wrap=True)
    if wide:
        for name, ratio in (("query", 3), ("observed", 3), ("threshold", 2)):
            table.add_column(name, ratio=ratio, overflow="fold")
    else:
        table.add_column("observed", overflow="fold")
    for item in evidence:
        query, observed = short_query(str(item.get("query", ""))), str(item.get("observed", ""))
        threshold = str(item.get("threshold", ""))
        if wide:
            cells: list[RenderableType] = [Text(query), Text(observed), Text(threshold)]
        else:
            cells = [Text(observed) + Text(f"\nthreshold {threshold or '-'}\nquery {query}", style="dim")]
        table.add_row(_role(item, plain), Text(str(item.get("source", ""))), *cells)
    return table


def traffic_table(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
                  live: LiveTraffic | None, plain: bool = False, *, dry_run: bool = False) -> RenderableType:
    """before -> after as the outcome reports them, and `now` as Cloud Run reports it.

    A dry run's `after` is what the write would have done; Cloud Run should still show `before`.
    """
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    grid.add_column(style="dim", no_wrap=True)
    if before:
        grid.add_row("before", Text(traffic_split(before)), _generation(before))
    if after:
        grid.add_row("would be" if dry_run else "after", Text(traffic_split(after)), _generation(after))
    if live is None:
        return grid
    grid.add_row("now", Text(traffic_split({"traffic_statuses": live.statuses})), f"generation {live.generation}")
    expected = before if dry_run else after
    agrees = expected is not None and _split_of(live.statuses) == _split_of(_statuses(expected))
    if dry_run:
        text = "unchanged, as a dry run must leave it" if agrees else "CHANGED by a dry run"
    else:
        text = "matches the outcome" if agrees else "DIFFERS from the outcome"
    return Group(grid, _verdict(f"read back from Cloud Run: {text}", agrees, plain))


def connector_shape(snapshot: Mapping[str, Any]) -> str:
    """`e2-micro, 2-3 instances (READY)` from an outcome's before/after (`{"connector": {...}}`)."""
    c = snapshot.get("connector", snapshot)
    state = f" ({c['state']})" if c.get("state") else ""
    return f"{c.get('machine_type', '?')}, {c.get('min_instances', '?')}-{c.get('max_instances', '?')} instances{state}"


def connector_table(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None, live: LiveConnector | None,
                    plain: bool = False, *, dry_run: bool = False, label: str | None = None) -> RenderableType:
    """before -> after of a connector action as the outcome reports them, and `now` as VPC Access reports it.

    A dry run's or a proposal's `after` is what the write would do; the connector should still be `before`."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    if before:
        grid.add_row("before", Text(connector_shape(before)))
    if after:
        grid.add_row(label or ("would be" if dry_run else "after"), Text(connector_shape(after)))
    if live is None:
        return grid
    grid.add_row("now", Text(connector_shape(live.shape())))
    unchanged = dry_run or label == "proposed"
    expected = (before if unchanged else after) or {}
    want = expected.get("connector", expected)
    agrees = bool(want) and all(want.get(k) == getattr(live, k) for k in ("machine_type", "min_instances",
                                                                            "max_instances"))
    if unchanged:
        text = "unchanged, as it must be without a write" if agrees else "CHANGED without a write"
    else:
        text = "matches the outcome" if agrees else "DIFFERS from the outcome"
    return Group(grid, _verdict(f"read back from VPC Access: {text}", agrees, plain))


def outcome_table(published: Published, plain: bool = False) -> Table:
    body = published.body
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    status = str(body.get("status", "?"))
    grid.add_row("status", Text(status, style="" if plain else _STATUS_STYLE.get(status, "")))
    grid.add_row("reason", Text(str(body.get("reason", ""))))
    for note in body.get("notes") or []:
        grid.add_row("note", Text(str(note)))
    if published.attributes:
        grid.add_row("attributes", Text(" ".join(f"{k}={v}" for k, v in sorted(published.attributes.items()))))
    if published.ordering_key:
        grid.add_row("ordering key", Text(published.ordering_key))
    return grid


def traffic_split(snapshot: Mapping[str, Any]) -> str:
    """`backend-00002-xyz 100%`, or `backend-00001-abc 90%, latest (backend-00002-xyz) 10%`."""
    targets = _statuses(snapshot)
    if not targets:
        return "(no traffic)"
    return ", ".join(f"{_target_name(t)} {t.get('percent', 0)}%" for t in targets)


def short_names(text: str) -> str:
    """`projects/p/locations/l/services/backend` -> `backend`: the last segment is what people read."""
    return re.sub(r"projects/[^\s:|]+/([^/\s:|]+)", r"\1", text)


def short_query(query: str, width: int = _QUERY_WIDTH) -> str:
    """Full resource names cut to their last segment, a time-series query to its gist."""
    if query.startswith("ListTimeSeries"):
        query = _time_series_gist(query)
    query = short_names(" ".join(query.split()))
    return query if len(query) <= width else query[: width - 3] + "..."


def _time_series_gist(query: str) -> str:
    metric = re.search(r'metric\.type\s*=\s*"([^"]+)"', query)
    service = re.search(r'service_name\s*=\s*"([^"]+)"', query)
    interval = re.search(r"interval: \((\S+), (\S+)\]", query)
    parts = ["ListTimeSeries", metric.group(1).rsplit("/", 1)[-1] if metric else "?"]
    if service:
        parts.append(f"service={service.group(1)}")
    if interval:
        parts.append(f"({_clock_time(interval.group(1))}, {_clock_time(interval.group(2))}]")
    return " ".join(parts)


def _clock_time(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).strftime("%H:%M:%S")
    except ValueError:
        return stamp


def _statuses(snapshot: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    # traffic_statuses is resolved (LATEST names its revision); traffic is what was asked for.
    return list(snapshot.get("traffic_statuses") or snapshot.get("traffic") or [])


def _split_of(targets: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    split: dict[str, int] = {}
    for t in targets:
        split[t.get("revision") or "latest"] = split.get(t.get("revision") or "latest", 0) + int(t.get("percent", 0))
    return {k: v for k, v in split.items() if v}


def _target_name(target: Mapping[str, Any]) -> str:
    revision = target.get("revision") or ""
    name = f"latest ({revision})" if target.get("type") == "LATEST" and revision else (revision or "latest")
    return f"{name} [{target['tag']}]" if target.get("tag") else name


def _generation(snapshot: Mapping[str, Any]) -> str:
    return f"generation {snapshot['generation']}" if "generation" in snapshot else ""


_ROLE_STYLE = {"supports": "green", "refutes": "red", "context": "dim"}


def _role(item: Mapping[str, Any], plain: bool) -> Text:
    """What the fact does to its claim: supports / refutes / context (falls back on pass/fail)."""
    role = item.get("role")
    if role not in _ROLE_STYLE:
        return _mark(item.get("passed"), plain)
    about = item.get("about") or ""
    label = f"{role} {about}".strip() if role != "context" else "context"
    return Text(label) if plain else Text(label, style=_ROLE_STYLE[role])


def _mark(passed: Any, plain: bool) -> Text:
    if passed is None:
        return Text("-" if plain else "·", style="dim")
    if plain:
        return Text("pass" if passed else "FAIL")
    return Text("✓ pass", style="green") if passed else Text("✗ fail", style="red")


def _verdict(text: str, good: bool, plain: bool) -> Text:
    if plain:
        return Text(text)
    return Text(("✓ " if good else "✗ ") + text, style="green" if good else "bold red")


def print_diagnosis_body(console: Console, diagnosis: Mapping[str, Any]) -> None:
    """A diagnosis report's summary, competing causes, stand-down, recommendation and evidence,
    as `runwarden diagnose` prints them, live or on a scenario."""
    d = diagnosis
    console.print(f"  {d['summary']}", markup=False)
    if d["competing"]:
        console.print(f"  competing: {', '.join(d['competing'])}", markup=False)
    if d["stand_down"]:
        console.print(f"  stand down: {d['stand_down']}", markup=False)
    if d["recommendation"]:
        console.print(f"  recommended: {d['recommendation']}", markup=False)
    console.print(f"  evidence from {d['api_calls']} API calls:")
    console.print(evidence_table(d["evidence"]))

