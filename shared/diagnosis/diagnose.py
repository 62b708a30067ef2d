"""Diagnosis: a pure function from evidence to a signature. No I/O, no clock.

In order:
1. Enough data? Missing, too thin or too late request data -> inconclusive. Monitoring lags by
   minutes, so an empty recent window is never taken as health.
2. Healthy? The recent minutes show enough traffic, clean responses and no hang -> healthy.
3. Every signature rule runs (shared/rules). A more specific finding subsumes a general one
   on the same revision (startup_config_failure over bad_revision).
4. None matched -> inconclusive; two or more -> inconclusive, naming the competing causes
   and carrying all their evidence; exactly one -> that signature.
5. A recent human change to the service (audit log) is cited and makes automation stand down.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from shared.diagnosis.latency_words import latency
from shared.config import DiagnosisSettings
from shared.diagnosis.evidence import EvidenceBundle, EvidenceItem, LogRecord, Revision
from shared.diagnosis.alert_unseen import alert_failure_unseen
from shared.diagnosis.facts import INGEST_LAG, Facts, Window, hms, refused_series
from shared.diagnosis.failure_lines import failure_lines_by_hand, failure_lines_risen, failure_read_failed
from shared.diagnosis.callers_left import callers_left
from shared.diagnosis.clean_stretch import too_few_clean
from shared.diagnosis.client_errors import client_errors_risen
from shared.diagnosis.grpc_calls import grpc_failing, grpc_kind, grpc_unshown, statuses
from shared.diagnosis.health_bar import HealthBar, health_bar
from shared.diagnosis.lasting_refusals import lasting_refusal
from shared.diagnosis.narrative import look_next, path_notes, what_ended, what_was_seen
from shared.diagnosis.notable import notable, noted
from shared.diagnosis.check_results import check_results, check_unread
from shared.diagnosis.principals import acts_as_tool, named
from shared.diagnosis.request_callers import callers_failing, uptime_still_failing
from shared.diagnosis.rules import RULES
from shared.diagnosis.run_audit import TRAFFIC_WRITES, service_methods
from shared.diagnosis.saturated_stretch import saturated_stretch
from shared.diagnosis.signatures import Diagnosis, Finding, Signature
from shared.diagnosis.still_failing import too_few
from shared.diagnosis.two_ceilings import resolve as two_ceilings
from shared.diagnosis.unaudited_change import AUDITED, unaudited_change
from shared.diagnosis.uncounted import refusals_uncounted
from shared.diagnosis.unfinished import what_to_do

RULE_SET = "runwarden rules v1 (docs/signatures.md)"
# A deploy is the audit entry within this long of a revision's create_time (the bound that matches an audit entry to
# a change of the service: unaudited_change.AUDITED).
_DEPLOY_MATCH = AUDITED


def diagnose(bundle: EvidenceBundle, settings: DiagnosisSettings, *, traffic_judged: bool = True) -> Diagnosis:
    """`traffic_judged` False: whether the service kept its callers is judged by the caller, not by `healthy`
    here (the verification sweep: judging.traffic_lost, against its demand before its own write)."""
    facts = Facts(bundle, settings)
    context = [EvidenceItem(source="api", query="evidence collected", observed=_collected(bundle), threshold="")]
    early = _insufficient(facts, context) or _healthy(facts, context, traffic_judged)
    if early is not None:
        return _with_notable(_held_for_incomplete(
            early if early.signature is Signature.HEALTHY else _with_path(early, facts), bundle), facts)

    return _with_notable(_held_for_incomplete(_with_path(_verdict(facts, context), facts), bundle), facts)


def _with_notable(diagnosis: Diagnosis, facts: Facts) -> Diagnosis:
    """Every notable fact found (notable.py: a person's change, the database down or back, the connector's
    saturation signs, a recent deploy, a read that failed or was cut) that the summary and recommendation
    do not already say, added to the summary of any verdict but `healthy`: a person paged for it reads them
    there without re-reading the evidence. Words only: the signature, stand-down and evidence are unchanged."""
    if diagnosis.signature is Signature.HEALTHY:
        return diagnosis
    summary = noted(diagnosis.summary, notable(facts, diagnosis.stand_down), diagnosis.recommendation)
    return diagnosis if summary == diagnosis.summary else diagnosis.model_copy(update={"summary": summary})


def _held_for_incomplete(diagnosis: Diagnosis, bundle: EvidenceBundle) -> Diagnosis:
    """A diagnosis beside a read answered in part (EvidenceBundle.incomplete_reads: a log search still paging at
    its deadline, a Monitoring answer with execution errors) is never acted on nor `healthy`: what was not read
    may be what a rule needed (a refusal logged, a person's change in the audit log, a failing revision's
    series), and what was read is not the answer. The finding stays in the summary, with its evidence, and each
    read is named with how far it got, so the escalation carries what was read; any other diagnosis (already
    escalated) names them too. Unchanged without such a read."""
    reads = bundle.incomplete_reads
    if not reads:
        return diagnosis
    items = tuple(EvidenceItem(source="log" if read.startswith("logging") else "metric", query=read.split(": ")[0],
                               observed=read, threshold="the whole answer (read in part: not used)", passed=False,
                               role="context") for read in reads)
    named = "; ".join(reads)
    if diagnosis.signature is not Signature.HEALTHY and diagnosis.signature not in _ACTED_ON:
        by_hand = f"the reads that did not finish, each read by hand: {what_to_do(reads, bundle.by_hand)}"
        return diagnosis.model_copy(update={"summary": f"{diagnosis.summary.rstrip()} Read in part, not used: {named}.",
                                            "evidence": diagnosis.evidence + items,
                                            "recommendation": f"{diagnosis.recommendation}; and {by_hand}"
                                            if diagnosis.recommendation else f"look at {by_hand}"})
    found = "the service looks healthy" if diagnosis.signature is Signature.HEALTHY else diagnosis.signature.value
    return Diagnosis(signature=Signature.INCONCLUSIVE, confidence=0.0, rule=RULE_SET,
                     summary=f"{found} on what was read ({diagnosis.summary.rstrip('.')}), but {len(reads)} read(s) "
                             f"did not finish and are not used: {named}. Nothing is done and the service is not called "
                             "healthy on a partial answer",
                     evidence=diagnosis.evidence + items, stand_down=diagnosis.stand_down,
                     api_calls=diagnosis.api_calls,
                     recommendation="a person must judge with the reads that did not finish, each read by hand: "
                                    + what_to_do(reads, bundle.by_hand)
                                    + (f"; if the finding holds, {diagnosis.recommendation}"
                                       if diagnosis.recommendation else ""))


def _held_then_look_next(facts: Facts, held: list[Finding]) -> str:
    """What a person does first: a held cause's advice, then where to look next; but what ended the requests,
    found in Cloud Run's system log or the application server's (narrative.what_ended: crashes, memory
    kills, liveness shutdowns, worker timeouts), leads the advice of a cause held on its metrics alone. What
    ended them is read once, for the order and for the look-next's words, and what a held cause's advice
    already says of it (Finding.ended: the crashes a connector's doubt names) is said once, in that advice."""
    advice = [f.recommendation for f in held]
    ended = what_ended(facts, frozenset().union(*(f.ended for f in held)))
    steps = [look_next(facts, ended), *advice] if advice and ended else [*advice, look_next(facts, ended)]
    return "; then ".join(steps)


def _verdict(facts: Facts, context: list[EvidenceItem]) -> Diagnosis:
    bundle = facts.b
    findings = [rule(facts) for rule in RULES]
    matched = _subsume([f for f in findings if f.matched])
    # A cause ruled out beside one that stands (Finding.beside) is the one found when none stands: a database
    # restart inside failures no other rule explains is still the cause of its own minutes.
    stood_in = [] if matched else [f for f in findings if f.beside and f.otherwise is not None]
    if stood_in:
        matched = [f.otherwise for f in stood_in]
        findings = [f for f in findings if all(f is not s for s in stood_in)]
    # A rollout tool's step is context only while it steps the revision a bad_revision finding blames (its subject).
    blamed = frozenset(f.subject for f in matched if f.signature is Signature.BAD_REVISION and f.subject)
    stand_down, change_evidence = _human_changes(facts, blamed)
    evidence = tuple(context + change_evidence)

    held = [f for f in findings if not f.matched and f.not_ruled_out]
    if not matched and len(held) > 1:
        # Causes held back and none standing (a rollback held for a connector being changed, that change held
        # for the deploy): they compete, as one held back competes with one matched.
        matched, held = held, []
    if not matched:
        # Clean requests the health check could not judge the alert by (health_bar.py) lead the summary.
        unjudged = next((f"the service's requests look clean since the incident started, but {e.threshold}; "
                         for e in context if e.about == Signature.HEALTHY.value and e.passed is False), "")
        # A cause held back (Finding.not_ruled_out: a rollback held for a full connector) is what the page says
        # first, with what a person does about it, before where else to look.
        said = "".join(f"{f.signature.value} held, not ruled out: {f.summary}. " for f in held)
        return Diagnosis(signature=Signature.INCONCLUSIVE, confidence=0.0, rule=RULE_SET,
                         summary=f"{unjudged}{said}{'Otherwise ' if held else ''}no signature matched the evidence. "
                                 f"Seen: {what_was_seen(facts)}. Why each {'other ' if held else ''}signature was "
                                 "ruled out: " + "; ".join(f.summary for f in findings if not f.not_ruled_out),
                         evidence=evidence + tuple(e for f in findings for e in f.evidence),
                         stand_down=stand_down, api_calls=bundle.api_calls,
                         recommendation=_held_then_look_next(facts, held))
    # A cause not ruled out (Finding.not_ruled_out) competes with a single matched one: neither acts.
    doubted = held
    # Cloud Run's max instances and the connector's ceiling together: told apart by which came first (two_ceilings).
    matched, doubted = two_ceilings(facts, matched, doubted)
    if len(matched) == 1 and doubted:
        matched = matched + doubted
    if len(matched) > 1:
        names = tuple(f.signature.value for f in matched)
        return Diagnosis(signature=Signature.INCONCLUSIVE, confidence=0.0, rule=RULE_SET,
                         summary="causes compete: " + " | ".join(f"{f.signature.value}: {f.summary}" for f in matched)
                                 + f". Seen: {what_was_seen(facts)}",
                         evidence=evidence + tuple(e for f in matched for e in f.evidence), competing=names,
                         stand_down=stand_down, api_calls=bundle.api_calls,
                         recommendation="a person must choose: " + " / ".join(f.recommendation for f in matched))
    found = matched[0]
    stopped = _stopped_since(facts, found) if found.signature in _ACTED_ON else None
    if stopped is not None:
        # Failures that stopped before this diagnosis are no longer there to fix (a late delivery, a
        # long alignment period keeping the alert open): never acted on, never called healthy either.
        since = hms(stopped.since)
        seen = (f"they may have stopped: its newest {_HEALTHY_MIN_MINUTES} minutes (since {since}) look clean, but "
                f"{stopped.few}; whether they stopped is not known, and nothing is done about failures that may have "
                "stopped" if stopped.few else
                f"they stopped: the service has served cleanly in its newest {_HEALTHY_MIN_MINUTES} minutes (since "
                f"{since}); not judged healthy, since the minutes since the incident started still hold failures, "
                "and nothing is done about failures that have stopped" if stopped.whole else
                f"they may have stopped: its newest {_HEALTHY_MIN_MINUTES} minutes (since {since}) look clean, but "
                f"they are not whole yet (the minutes are whole up to {hms(facts.complete_until)}; a point is "
                f"visible up to {INGEST_LAG.total_seconds():.0f} s after its minute, and the minutes after it may "
                f"still hold failures: {facts.series_ends()}), while the whole minutes still fail; whether they stopped is not known, and nothing is "
                "done about failures that may have stopped")
        return Diagnosis(signature=Signature.INCONCLUSIVE, confidence=0.0, rule=RULE_SET,
                         summary=f"{found.signature.value} matched the incident's failures ({found.summary}), but "
                                 + seen,
                         evidence=evidence + found.evidence + (stopped.item,), stand_down=stand_down,
                         api_calls=bundle.api_calls,
                         recommendation=f"watch the service: if the failures come back, {found.recommendation}")
    # A cause ruled out yet in the failures' minutes (Finding.beside) is named beside the one that stands.
    beside = "".join(f". Beside it, {f.signature.value} ruled out: {f.summary}" for f in findings if f.beside)
    return Diagnosis(signature=found.signature, confidence=found.confidence, rule=f"{RULE_SET}: {found.signature.value}",
                     summary=found.summary + beside,
                     evidence=evidence + found.evidence + tuple(e for f in findings if f.beside for e in f.evidence),
                     subject=found.subject,
                     suspect_revision=found.suspect_revision, known_good_revision=found.known_good_revision,
                     steps_back=found.steps_back, no_target_reason=found.no_target_reason,
                     suspect_promoted_at=found.suspect_promoted_at, target_background=found.target_background,
                     recommendation=found.recommendation, stand_down=stand_down,
                     api_calls=bundle.api_calls)


def _with_path(diagnosis: Diagnosis, facts: Facts) -> Diagnosis:
    """The network path's state, named in the summary: a connector in ERROR or being changed by a
    person (which also stands automation down), Direct VPC egress."""
    notes = path_notes(facts)
    if not notes.sentences and not notes.items:
        return diagnosis
    stand_down = "; ".join(x for x in (diagnosis.stand_down, notes.stand_down) if x)
    base = diagnosis.summary.rstrip()
    base = base if base.endswith(".") else base + "."
    summary = base + (" Also: " + "; ".join(notes.sentences) + "." if notes.sentences else "")
    return diagnosis.model_copy(update={"summary": summary, "stand_down": stand_down,
                                        "evidence": diagnosis.evidence + tuple(notes.items)})


def _insufficient(facts: Facts, context: list[EvidenceItem]) -> Diagnosis | None:
    s, b = facts.s, facts.b

    def inconclusive(why: str, item: EvidenceItem) -> Diagnosis:
        return Diagnosis(signature=Signature.INCONCLUSIVE, confidence=0.0, rule=RULE_SET,
                         summary=f"{why}. Seen: {what_was_seen(facts)}", evidence=tuple(context + [item]),
                         recommendation=look_next(facts), api_calls=b.api_calls)

    def missing(observed: str, threshold: str) -> EvidenceItem:
        return EvidenceItem(source="metric", query=query, observed=observed, threshold=threshold, passed=False,
                            role="supports", about=Signature.INCONCLUSIVE.value)

    query = facts.requests_query
    if facts.data_until is None:
        return inconclusive("no request_count data for the service (Cloud Monitoring can lag by ~3 minutes)",
                            missing("no data points", "data present"))
    started = b.incident_started_at
    if facts.data_until <= started:
        # Data that ends before the incident says nothing about it: stale, never healthy.
        return inconclusive(f"stale data: the newest request_count point ({hms(facts.data_until)}) is from "
                            f"before the incident started ({hms(started)}); nothing is known of the incident yet",
                            missing(f"newest point {hms(facts.data_until)}",
                                    f"after the incident start {hms(started)}"))
    delay = facts.data_delay.total_seconds()
    if delay > s.max_data_delay_seconds:
        return inconclusive(f"stale data (too late): the newest point is {delay:.0f} s old",
                            missing(f"newest point {delay:.0f} s old", f"<= {s.max_data_delay_seconds} s"))
    total = facts.requests(facts.incident).total
    if total < s.min_requests:
        return inconclusive(f"too little traffic to judge ({total:.0f} requests in {facts.incident})",
                            missing(f"{total:.0f} requests", f">= {s.min_requests} requests"))
    return None


# Minutes of data after the incident started that a `healthy` verdict needs at least.
_HEALTHY_MIN_MINUTES = 2


def _newer_minutes_failing(facts: Facts, bar: HealthBar) -> str:
    """The minutes after the whole ones (Facts.complete_until), as read, in words if they already fail at
    the alert's bar; "" otherwise. They never make `healthy` (their 5xx may not be in yet), but a visible
    5xx, 429 or slow p99 happened, whatever may still be missing beside it: it unmakes it, as the sweep's
    newest minutes do (judging.newest_minutes_disagree)."""
    until, newest = facts.complete_until, facts.data_until
    if until is None or newest is None or until >= newest:
        return ""
    window = Window(until, newest)
    counts, p99 = facts.requests(window), facts.p99_seconds(window)
    slow = bool(p99) and max(p99) >= bar.p99_seconds
    if counts.refused_ratio <= bar.error_ratio and count_cleared(facts, bar, window) and not slow:
        return ""
    return (f"the newest minutes, not yet whole, already fail: {counts.refused:.0f} of {counts.total:.0f} requests "
            f"5xx or 429 ({counts.refused_ratio:.1%})" + (f", p99 max {latency(max(p99))}" if p99 else "")
            + f" in {window}")


def _note_not_whole(facts: Facts, context: list[EvidenceItem], bar: HealthBar) -> None:
    """Says why requests that look clean in the newest minutes as read are not `healthy` when those minutes
    are not whole yet (Facts.complete_until, Facts.whole_line): which series ends where, so that a person
    sees which of them may still be arriving. Only where the minutes as read since the incident started
    are clean and fast at the alert's bar: otherwise they are no reason to hold `healthy` back."""
    until, newest = facts.complete_until, facts.data_until
    if until is None or newest is None or until >= newest or any(
            e.about == Signature.HEALTHY.value and e.passed is False for e in context):
        return
    start = max(newest - timedelta(seconds=facts.s.recent_seconds), facts.b.incident_started_at)
    if start >= newest:
        return
    read = Window(start, newest)
    counts, p99 = facts.requests(read), facts.p99_seconds(read)
    if (counts.total < facts.s.min_requests or counts.refused_ratio > bar.error_ratio or not p99
            or max(p99) >= bar.p99_seconds):
        return
    context.append(EvidenceItem(
        source="metric", query=facts.b.requests.query,
        observed=f"{counts.total:.0f} requests, {counts.refused:.0f} 5xx or 429 in {read} as read",
        threshold=f"not judged healthy: the minutes after {hms(until)} are not whole yet (newest points: "
                  f"{facts.series_ends()}; a point is visible up to "
                  f"{INGEST_LAG.total_seconds():.0f} s after its minute, each series on its own, and a minute with "
                  "no 5xx point may be one whose 5xx are not in yet), and the whole minutes since the incident "
                  "started do not show it healthy on their own",
        passed=False, role="context", about=Signature.HEALTHY.value))


def _note_count_left(facts: Facts, context: list[EvidenceItem], bar: HealthBar, other_reason: bool,
                     refused: float, window: Window) -> None:
    """Says why requests clean by their share and fast are not `healthy` when the one thing missing is the
    alert's count bar (`HealthBar.error_count`: a count of 5xx, or a bar that needs every 5xx gone): without
    it the summary said only that no signature matched, not what kept the service from `healthy`."""
    allowed = count_allowed(bar, window)
    if other_reason or allowed is None:
        return
    said = (f"{busiest_minute_refused(facts, window):.0f} 5xx or 429 in one minute, over the {allowed:g} a minute "
            if bar.per_minute else f"{refused:.0f} 5xx or 429 remain, over the {allowed:g} ")
    context.append(EvidenceItem(
        source="metric", query=facts.b.requests.query, observed=f"{refused:.0f} 5xx or 429 in {window}",
        threshold=f"not judged healthy: {said}allowed by {bar.source}", passed=False, role="context",
        about=Signature.HEALTHY.value))


def count_allowed(bar: HealthBar, window: Window) -> float | None:
    """HealthBar.count_allowed for the minutes `window` holds (its points end a minute apart, the last at its
    end: the minutes it spans, whole)."""
    return bar.count_allowed(60 * math.ceil((window.end - window.start).total_seconds() / 60))


def count_cleared(facts: Facts, bar: HealthBar, window: Window, revision: str | None = None) -> bool:
    """Whether the 5xx and 429 in `window` (of one revision, or all) are within the alert's count bar: each
    minute's within it for a bar on each minute (`HealthBar.per_minute`), else their sum within the window's
    share of it (`count_allowed`). A sum held to a minute's bar kept a service with a steady 1 5xx a minute
    under a bar of 3 a minute from `healthy` for good, its condition cleared; the minute read is at most any
    alignment window's own (a revision's share of a series grouped by revision is within the service's)."""
    allowed = count_allowed(bar, window)
    if allowed is None:
        return True
    if bar.per_minute:
        return busiest_minute_refused(facts, window, revision) <= allowed
    return facts.requests(window, revision).refused <= allowed


def busiest_minute_refused(facts: Facts, window: Window, revision: str | None = None) -> float:
    """The most 5xx and 429 one minute of `window` holds (of one revision, or all)."""
    def counted(series) -> bool:
        return refused_series(series) and (revision is None
                                           or series.label("resource.labels.revision_name") == revision)
    return max((bad for _, _, bad in facts.per_minute_where(window, counted)), default=0.0)


def _not_healthy(b: EvidenceBundle, context: list[EvidenceItem], about: str, observed: str, why: str, source: str,
                 query: str, recommendation: str, shown: str = "") -> Diagnosis:
    """Clean requests since the incident started (`observed`), not judged healthy for `why`: inconclusive
    and escalated with the evidence item that says so (`shown` as its observation, else `observed`), not
    handed to the rules either (nothing acts on a failure the requests no longer show)."""
    item = EvidenceItem(source=source, query=query, observed=shown or observed,
                        threshold=f"not judged healthy: {why}", passed=False, role="context", about=about)
    return Diagnosis(signature=Signature.INCONCLUSIVE, confidence=0.0, rule=RULE_SET,
                     summary=f"the service's requests look clean since the incident started ({observed}), but {why}",
                     evidence=tuple(context + [item]), api_calls=b.api_calls, recommendation=recommendation)


def _healthy(facts: Facts, context: list[EvidenceItem], traffic_judged: bool = True) -> Diagnosis | None:
    """Healthy only on current data from after the incident started: the recent window is cut at
    the incident's start, so minutes before it (when the condition may not yet have held) never count.
    And only when the alert's condition is one the check can judge, at a bar no looser than the
    alert's own (shared/diagnosis/health_bar.py); otherwise clean requests are cited as context
    and the rules decide, so an alert the check cannot see is never called healthy."""
    s, b = facts.s, facts.b
    bar = health_bar(b.alert, s)
    window = facts.recent_since_incident
    minutes = facts.minutes_with_requests(window)
    recent = facts.requests(window)
    p99 = facts.p99_seconds(window)
    refused = recent.refused
    allowed = count_allowed(bar, window)
    clean = (recent.total >= s.min_requests and recent.refused_ratio <= bar.error_ratio
             and count_cleared(facts, bar, window))
    fast = bool(p99) and max(p99) < bar.p99_seconds
    if not (clean and fast and minutes >= _HEALTHY_MIN_MINUTES):
        _note_count_left(facts, context, bar, clean or recent.refused_ratio > bar.error_ratio or not fast
                         or minutes < _HEALTHY_MIN_MINUTES or recent.total < s.min_requests, refused, window)
        _note_not_whole(facts, context, bar)
        return None
    about = Signature.HEALTHY.value
    newer = _newer_minutes_failing(facts, bar)
    if newer:
        context.append(EvidenceItem(source="metric", query=b.requests.query, observed=newer,
                                    threshold=f"not judged healthy: {newer}", passed=False, role="context",
                                    about=about))
        return None
    failing = _named_revision_failing(facts, window, bar)
    if failing:
        context.append(EvidenceItem(source="metric", query=b.requests.query, observed=failing,
                                    threshold=f"the revision the alert names <= {bar.error_ratio:.1%} 5xx or 429",
                                    passed=False, role="context", about=about))
        return None
    # Callers Cloud Run turned away at max instances may be missing from request_count (unconfirmed):
    # clean requests alone do not show them served (shared/diagnosis/uncounted.py).
    turned_away = refusals_uncounted(facts, window, bar.error_ratio)
    if turned_away:
        context.append(EvidenceItem(source="metric", query=b.instances.query if b.instances else b.requests.query,
                                    observed=turned_away, threshold=f"not judged healthy: {turned_away}",
                                    passed=False, role="context", about=about))
        return None
    # Requests that stopped failing as 5xx or hanging and now fail fast as 4xx (a lookup failing closed with
    # 401) are clean by both bars while the callers are refused (shared/diagnosis/client_errors.py). The sweep
    # measures the 4xx against its own action instead (judging.client_errors_rose), as it does its traffic.
    refused_otherwise = client_errors_risen(facts, window) if traffic_judged else ""
    if refused_otherwise:
        context.append(EvidenceItem(source="metric", query=b.requests.query, observed=refused_otherwise,
                                    threshold=f"not judged healthy: {refused_otherwise}", passed=False,
                                    role="context", about=about))
        return None
    observed = (f"{recent.total:.0f} requests over {minutes} minutes since the incident started, "
                f"{recent.refused_ratio:.1%} 5xx or 429 in {window}; p99 max {latency(max(p99))}")
    if (not bar.judged or (bar.saw_failure_needed and not _failure_seen(facts, bar)
                           and not check_results(b.check_passed, facts.check_window).recovered)
            or (bar.sql_up_needed and not _sql_stayed_up(facts, window))):
        context.append(EvidenceItem(source="metric", query=b.requests.query, observed=observed,
                                    threshold=f"not judged healthy: {bar.why_not}", passed=False,
                                    role="context", about=about))
        return None
    diluted = _callers_failing(facts, window, bar) or uptime_still_failing(
        b.request_lines, window, bar.error_ratio, bar.probe_seconds, _request_log_unread(b), b.check_passed,
        check_unread(b.gaps), facts.check_window)
    if diluted:
        context.append(EvidenceItem(source="log", query=b.request_lines.query if b.request_lines else b.requests.query,
                                    observed=observed, threshold=f"not judged healthy: {diluted}", passed=False,
                                    role="context", about=about))
        return None
    # A gRPC call's status travels in trailers of an HTTP 200, which request_count's classes may not record
    # (UNCONFIRMED): the failures the service's own lines name count as the 5xx do, and a gRPC service's
    # clean classes are `healthy` only with its OK calls logged (shared/diagnosis/grpc_calls.py).
    grpc = _grpc_not_shown(facts, window, bar, recent.total)
    if grpc:
        return _not_healthy(b, context, about, observed, grpc, "log", b.logs.query if b.logs else b.requests.query,
                            "a person must judge whether the service's gRPC calls succeed: check their statuses "
                            "(the grpc-status the clients receive) directly")
    # Clean requests too few to rule out the failure the alert is about (a quiet service failing 10 %
    # shows 20 clean requests 12 % of the time): escalated with the figures, never skipped as healthy,
    # and not handed to the rules either (the failure may have stopped: nothing acts on it).
    few = too_few_clean(facts, bar, window)
    # Clean requests on a fraction of the traffic the service served before (callers that stopped sending:
    # a circuit breaker open on what failed) show the rest served, not the callers that failed
    # (shared/diagnosis/callers_left.py): escalated with the figures, not handed to the rules either.
    left = "" if few or not traffic_judged else callers_left(facts, window)
    if few or left:
        return _not_healthy(b, context, about, observed, few or left, "metric", b.requests.query,
                            "a person must judge whether the service still fails: watch its requests until enough "
                            "have been served, or check it directly" if few else
                            "a person must judge whether the service still fails: check it directly on what failed, "
                            "and whether its callers stopped sending (a circuit breaker open, a fallback, traffic "
                            "sent elsewhere)")
    # Clean requests while the application logs its failures at ERROR as often (a fallback or an error body
    # answered as a 200: shared/diagnosis/failure_lines.py): escalated naming the lines, not handed to the
    # rules either (a rule matching those lines would act on failures the requests do not show). The sweep's
    # `verified` too: the lines are the service's own failures, whoever's write came before them.
    lines = failure_lines_risen(facts, window, bar)
    if lines:
        return _not_healthy(b, context, about, observed, lines, "log", b.logs.query if b.logs else b.requests.query,
                            "a person must judge whether the service still fails: check what its callers receive "
                            "(the response bodies) and the cause its error lines name")
    # The same lines not known: the page cut before the minutes judged, and the read of the failure lines alone
    # failed. Not `healthy` on the cut page (a chatty service's INFO lines hide its ERROR lines there). The sweep
    # asks judging.lines_unread before its `verified` instead, as it judges its own action.
    unread = failure_read_failed(facts, window) if traffic_judged else ""
    if unread:
        return _not_healthy(b, context, about, observed, unread, "log", b.logs.query if b.logs else b.requests.query,
                            "a person must judge whether the service still fails: read its failure lines by hand, "
                            f"{failure_lines_by_hand(b, window)}, and check what its callers receive")
    # A connector at its ceiling for a long stretch while the requests failed, cleared before the notification
    # came: skipped, nobody heard of it (shared/diagnosis/saturated_stretch.py). Escalated, nothing written. On the
    # alert path only: the sweep judges its own action on the minutes since, as it does the 4xx and the traffic.
    ceiling = saturated_stretch(facts) if traffic_judged else ""
    if ceiling:
        return _not_healthy(b, context, about, observed, ceiling, "metric",
                            b.connector_instances.query if b.connector_instances else b.requests.query,
                            "a person must judge whether the connector needs more room before the load returns: "
                            "raise its max instances or machine type (gcloud compute networks vpc-access "
                            "connectors update), or move the load that filled it", shown=ceiling)
    # The database refused new connections in words that do not end by themselves (a password, a certificate, an
    # account or address not admitted) on a revision that still serves: the minutes since are clean because no
    # instance started, not because the cause is gone (shared/diagnosis/lasting_refusals.py). On the alert path
    # only, as the connector's stretch: the sweep judges its own action on the minutes since it.
    lasting = lasting_refusal(facts) if traffic_judged else ""
    if lasting:
        return _not_healthy(b, context, about, observed, lasting, "log", b.logs.query if b.logs else b.requests.query,
                            "a person must fix what the database refuses before the next instance starts: the "
                            "credential, certificate or grant its words name (a secret read at latest, a rotated "
                            "server CA, a changed user), then check that new instances connect")
    # An alert whose own failure no minute read shows: the alert and the evidence disagree, and clean minutes of
    # what was read are not its condition cleared (shared/diagnosis/alert_unseen.py). On the alert path only: the
    # sweep judges its own action on the minutes since it.
    unseen = alert_failure_unseen(facts, bar, window) if traffic_judged else ""
    if unseen:
        return _not_healthy(b, context, about, observed, unseen, "metric", b.requests.query,
                            "a person must judge which is right: compare the alert's own chart (its policy's "
                            "condition, filter and aggregation, the project and region of the series it names) with "
                            "the service's requests read here, and check the service directly")
    items = [EvidenceItem(source="metric", query=b.requests.query,
                          observed=f"{recent.total:.0f} requests over {minutes} minutes since the incident started, "
                                   f"{refused:.0f} ({recent.refused_ratio:.1%}) 5xx or 429 in {window}",
                          threshold=f">= {s.min_requests} requests over >= {_HEALTHY_MIN_MINUTES} minutes after the "
                                    f"incident start and <= {bar.error_ratio:.1%} 5xx or 429"
                                    + (f", <= {allowed:g} of them{' in any minute' if bar.per_minute else ''}"
                                       if allowed is not None else "")
                                    + f" ({bar.source})",
                          passed=True, about=about),
             EvidenceItem(source="metric", query=b.latencies.query, observed=f"p99 max {latency(max(p99))}",
                          threshold=f"< {bar.p99_seconds:g} s ({bar.source})", passed=True, about=about)]
    return Diagnosis(signature=Signature.HEALTHY, confidence=0.9, rule=f"{RULE_SET}: healthy",
                     summary=f"the service is healthy on live data since the incident started ({window})",
                     evidence=tuple(context + items), api_calls=b.api_calls)


def _grpc_not_shown(facts: Facts, window: Window, bar: HealthBar, requests: float) -> str:
    """Why clean classes do not show the calls served: gRPC failures the service's lines name over the bar's
    share, or a gRPC service (its port named h2c, or gRPC calls served in its request log) whose lines show too
    few calls answered OK ("" otherwise, or with no log read: the log read's own gap then keeps `healthy`
    honest elsewhere). Whether it is a gRPC service is asked last: the request log's lines are matched only then."""
    logs = facts.b.logs
    found = statuses(logs.entries if logs is not None else (), window)
    failing = grpc_failing(found, requests, bar.error_ratio) if logs is not None else ""
    if failing:
        return failing
    kind = grpc_kind(facts.serving, facts.b.request_lines)
    return grpc_unshown(found, facts.s.min_requests, kind) if kind else ""


# The signatures whose finding leads to a write (a rollback, a connector scale-up).
_ACTED_ON = frozenset({Signature.BAD_REVISION, Signature.CONNECTOR_SATURATION})


@dataclass(frozen=True)
class _Stopped:
    """The failures stopped (`whole`), or may have (the newest minutes look clean but are not whole yet)."""

    item: EvidenceItem
    since: datetime
    whole: bool
    # Why the clean requests do not rule the failure out ("" if they do): too few, had it gone on at
    # the share it failed at (shared/diagnosis/still_failing.py, the `healthy` check's own binomial test),
    # or a fraction of the traffic served before (callers_left.py: callers that stopped sending).
    few: str = ""


def _stopped_since(facts: Facts, found: Finding) -> _Stopped | None:
    """When the failures stopped before the newest data: the service failed earlier in the incident
    (Facts.failing_since; a canary's failures may never reach the service's bar, and the rule's own
    match says they were there), and each of its newest _HEALTHY_MIN_MINUTES minutes with requests is
    clean and fast at the alert's own bar (health_bar), with at least min_requests requests between
    them, and so are the requests of the revision the finding and the alert name, if any (a canary
    failing at 1% of the traffic is clean by the service's count); else None. The recent window
    `healthy` reads is cut at the incident's start, so an incident delivered late, or kept open by a
    long alignment period after the service recovered, still holds failing minutes there: the rules
    match on them, and acting would roll back or scale for failures that are no longer happening (a
    field lesson: an automation that killed a pod that had just recovered).
    The newest minutes are read as far as every series is whole (Facts.complete_until), as `healthy`
    reads them: a minute whose 200s are visible and whose 500s, or whose p99, are not yet reads as
    clean, and "they stopped" was said of failures still going on. Where the whole minutes still fail
    and the newer ones, as read, are clean, whether the failures stopped is not settled (`whole`
    False): nothing is done either (acting could be for failures that stopped), and the summary says
    it is not known, not that they stopped."""
    if facts.data_until is None or facts.complete_until is None:
        return None
    item = _clean_newest(facts, found, facts.complete_until)
    if item is None and facts.complete_until < facts.data_until:
        item = _clean_newest(facts, found, facts.data_until)
    return _Stopped(*item) if item is not None else None


def _too_few_to_say(facts: Facts, bar: HealthBar, window: Window, named: set[str]) -> str:
    """Why the clean requests of `window` do not show the failures stopped ("" if they do): too few to
    tell from the failure before them, for the service (clean_stretch.too_few_clean, the `healthy`
    check's test) or for a revision the finding or the alert names, at the share its own requests failed
    at from the service's first failing minute (or, none failing at the service's share, as a canary's
    failures may not, from the incident window's start) to the clean minutes: a canary failing 50 % of
    its 2 requests a minute shows 4 clean ones 6 % of the time had it gone on failing."""
    few = too_few_clean(facts, bar, window)
    start = facts.failing_since or facts.incident.start
    if few or start >= window.start:
        return few
    before = Window(start, window.start)
    for revision in sorted(named):
        failed, now = facts.requests(before, revision), facts.requests(window, revision)
        if not failed.total or failed.refused_ratio <= bar.error_ratio:
            continue
        k, n = round(now.refused), round(now.total)
        odds = too_few(k, n, failed.refused_ratio)
        if odds is not None:
            return ("too few requests to tell recovery from the failure: " + odds.says(
                k, n, window, f"{revision} still failed at the {failed.refused_ratio:.1%} 5xx or 429 it failed at "
                              f"in {before} ({failed.total:.0f} requests)"))
    return ""


def _clean_newest(facts: Facts, found: Finding, until: datetime) -> tuple[EvidenceItem, datetime, bool, str] | None:
    """(the evidence, when they stopped, whether read on whole minutes, why the clean requests are too
    few to tell or "") when the newest minutes up to `until` are clean after the failures
    (`_stopped_since`), else None."""
    s, b = facts.s, facts.b
    bar = health_bar(b.alert, s)
    minutes = [at for at, total, _ in facts.per_minute_where(Window(facts.incident.start, until), refused_series)
               if total]
    newest = minutes[-_HEALTHY_MIN_MINUTES:]
    if len(newest) < _HEALTHY_MIN_MINUTES:
        return None
    window = Window(newest[0] - timedelta(seconds=60), newest[-1])
    if facts.failing_since is not None and window.start < facts.failing_since:
        return None
    shares = [bad / total for _, total, bad in facts.per_minute_where(window, refused_series) if total]
    p99 = facts.p99_seconds(window)
    counts = facts.requests(window)
    refused = counts.refused
    named = {r for r in (found.suspect_revision, b.alert.revision if b.alert else "") if r}
    clean = (counts.total >= s.min_requests and all(share <= bar.error_ratio for share in shares)
             and count_cleared(facts, bar, window)
             and bool(p99) and max(p99) < bar.p99_seconds
             and all(facts.requests(window, r).refused_ratio <= bar.error_ratio for r in named))
    if not clean:
        return None
    # Clean on a fraction of the traffic served before (callers_left.py): not shown stopped either.
    few = _too_few_to_say(facts, bar, window, named) or callers_left(facts, window)
    whole = until <= facts.complete_until
    item = EvidenceItem(source="metric", query=b.requests.query,
                        observed=f"{counts.total:.0f} requests in the newest {len(newest)} minutes {window}, "
                                 f"{refused:.0f} 5xx or 429, p99 max {latency(max(p99))}"
                                 + (f"; failing since {hms(facts.failing_since)}" if facts.failing_since else "")
                                 + ("" if whole else f"; not whole yet: the minutes are whole up to "
                                                     f"{hms(facts.complete_until)}, and the minutes after it may "
                                                     "still be arriving"),
                        threshold=f"each of the newest {_HEALTHY_MIN_MINUTES} minutes <= {bar.error_ratio:.1%} 5xx or "
                                  f"429 and p99 < {bar.p99_seconds:g} s ({bar.source}): the failures stopped; no action"
                                  + ("" if whole else " (read on minutes not yet whole: whether they stopped is not "
                                                      "known; no action either)")
                                  + (f" ({few}: whether they stopped is not known; no action either)" if few else ""),
                        passed=True, role="context", about=Signature.INCONCLUSIVE.value)
    return item, window.start, whole, few


def _named_revision_failing(facts: Facts, window: Window, bar: HealthBar) -> str:
    """The revision the alert names, if its own requests in `window` still fail above the bar, in
    words; "" otherwise. A policy that keeps revision_name alerts on that revision's series: a canary
    at 1% failing 60% is 0.6% of the service, clean by the service's count while the alert's own
    condition still holds. A named revision with no request in the window no longer serves (its
    series stopped, as after a rollback): the service's requests decide."""
    revision = facts.b.alert.revision if facts.b.alert else ""
    if not revision:
        return ""
    own = facts.requests(window, revision)
    refused = own.refused
    if not own.total or (own.refused_ratio <= bar.error_ratio and count_cleared(facts, bar, window, revision)):
        return ""
    return (f"{revision}, the revision the alert names, still fails: {refused:.0f} of {own.total:.0f} requests "
            f"5xx or 429 ({own.refused_ratio:.1%}) in {window}, while the service as a whole looks clean")


def _callers_failing(facts: Facts, window: Window, bar: HealthBar) -> str:
    """Why the clean share of 5xx and 429 in `window` does not show the service's callers served ("" if it
    does, or if the request log was not asked for: the sweep asks it on its own, judging.py): request
    _count counts Cloud Monitoring's uptime checks' clean answers with the callers' requests, and a few
    failing callers beside them read as a clean share (shared/diagnosis/request_callers.py). A count bar
    (`error_count`) counts the 5xx whoever else was answered."""
    b = facts.b
    if not b.callers_asked or bar.error_count is not None:
        return ""
    recent = facts.requests(window)
    return callers_failing(b.request_lines, window, recent.refused, recent.total, bar.error_ratio,
                           _request_log_unread(b))


def _request_log_unread(b: EvidenceBundle) -> str:
    """Why the request log was not read, as its gap says ("" for none)."""
    return next((gap for gap in b.gaps if gap.startswith("logging: request log")), "")


def _sql_stayed_up(facts: Facts, window: Window) -> bool:
    """Whether every known Cloud SQL instance's database/up stayed at 1 in `window`, with at least
    _HEALTHY_MIN_MINUTES points each and no minutes skipped between them, at the window's start or
    its end (Facts.sql_gaps, Facts.sql_trailing): an alert on database/up is cleared by its own
    series only, never by unknown data."""
    values = facts.sql_up_values(window)
    return (bool(values) and not facts.sql_unread(values) and not facts.sql_gaps(window)
            and not any(facts.sql_trailing(window))
            and all(len(v) >= _HEALTHY_MIN_MINUTES and min(v) >= 1 for v in values.values()))


def _failure_seen(facts: Facts, bar: HealthBar) -> bool:
    """Whether the service's own requests showed a failure from one lookback before the incident's
    start until the window `healthy` is judged on: a minute whose share of 5xx and 429 exceeds both
    the share the service is then judged clean by and every minute of the lookback before (a
    failure that is news), or a p99 at the bar. An alert from outside the service (an uptime check)
    is cleared by clean requests only once they showed its failure (health_bar.py). Any one 5xx is
    not such a failure: a service's usual background (a flaky call, a client's bad input) is in
    every lookback, whatever failed outside it."""
    window = Window(facts.incident.start, facts.recent_since_incident.start)
    usual = max(_refused_shares(facts, facts.before), default=0.0)
    return (any(share > max(bar.error_ratio, usual) for share in _refused_shares(facts, window))
            or any(p99 >= bar.p99_seconds for p99 in facts.p99_seconds(window)))


def _refused_shares(facts: Facts, window: Window) -> list[float]:
    """Each minute's share of 5xx and 429 in `window`."""
    return [refused / total for _, total, refused in facts.per_minute_where(window, refused_series) if total]


def _subsume(matched: list[Finding]) -> list[Finding]:
    """A configuration failure on a revision explains that revision's failures better than
    'bad revision' does; both point at the same revision, so only the specific one stays."""
    config = {f.subject for f in matched if f.signature is Signature.STARTUP_CONFIG_FAILURE}
    return [f for f in matched if not (f.signature is Signature.BAD_REVISION and f.subject in config)]


def _human_changes(facts: Facts, blamed: frozenset[str] = frozenset()) -> tuple[str, list[EvidenceItem]]:
    """Changes to the service by someone other than Runwarden, from the audit log, and a person's change the
    service's last_modifier shows with no audit entry read for it (`_unaudited`).

    A deploy before the incident is context (it may be the cause), and so is a pipeline's own promotion
    (`_pipeline_promotions`): the release step of a blue/green deploy. A deploy after the incident
    began, or any other traffic change within the window, means a person is at work: stand down. A rollout
    tool's step (`_rollout_steps`) is context only when it steps a revision in `blamed` (the subjects of the
    bad_revision findings that stand).
    """
    reasons, items = _audited_changes(facts, blamed)
    unaudited = _unaudited(facts, blamed)
    if unaudited is not None:
        items.append(unaudited[1])
        reasons.append(unaudited[0])
    return ("recent human change: " + "; ".join(reasons)) if reasons else "", items


def _unaudited(facts: Facts, blamed: frozenset[str]) -> tuple[str, EvidenceItem] | None:
    """A change the service's last_modifier and update_time show and no audit entry read accounts for
    (unaudited_change.py): a person at work, as their audited move would say, or a service account's that no entry
    says who acted through (UNKNOWN, as principals.principal_kind reads it), with who and when only."""
    s, b = facts.s, facts.b
    since = b.incident_started_at - timedelta(seconds=s.manual_change_window_seconds)
    change = unaudited_change(b.service, b.revisions, b.audit.entries if b.audit is not None else (), since,
                              s.self_principals, started=b.incident_started_at, failing=_failures_seen(facts, blamed),
                              suspects=blamed)
    if change is None:
        return None
    item = EvidenceItem(source="api", query="run.services.get (last_modifier, update_time)",
                        observed=change.words(), passed=True, role="supports", about="stand_down",
                        threshold=(f"a person's change within {s.manual_change_window_seconds} s before the incident "
                                   "or since, or a service account's (anyone may act through it), not a deploy begun "
                                   "before the incident, nor after the blamed revision's first failing minute ended "
                                   "unless it is that revision's, and with no audit entry read for it, stands "
                                   "automation down: "
                                   "what was changed, and through an account by whom, is not known"))
    return change.words(), item


def _failures_seen(facts: Facts, blamed: frozenset[str]) -> datetime | None:
    """When the failures the diagnosis acts on were already seen: the end of the first minute (a minute's point covers
    the minute before its end) in which a revision in `blamed` (the bad_revision findings' subjects) failed at
    status_ratio of its own requests. A revision created then or later did not exist when they began, so its deploy
    is someone at work on the service (a fix, a next release), never their cause. Not the service's own first
    failing minute: failures of another kind before a deploy (a busy connector, a partner's 503s) leave the deploy a
    cause of what followed, which the rules judge. None: nothing blamed, or no such minute read."""
    ratio = facts.s.status_ratio
    return min((at for name in sorted(blamed) for at, total, failed in facts.revision_minutes(facts.incident, name)
                if total and failed / total >= ratio), default=None)


def _audited_changes(facts: Facts, blamed: frozenset[str]) -> tuple[list[str], list[EvidenceItem]]:
    """The audit reading of `_human_changes`: each entry's words and evidence."""
    s, b = facts.s, facts.b
    if b.audit is None:
        return [], []
    reasons, items = [], []
    entries = sorted((e for e in b.audit.entries if e.principal not in s.self_principals), key=lambda e: e.timestamp)
    deploys = _deploy_entries(entries, b.revisions)
    finishing = _finishing_entries(entries, deploys, b.service.serving_percent)
    deploys.update(finishing)
    promotions = _pipeline_promotions(facts, entries, deploys)
    steps = _rollout_steps(facts, entries, {**deploys, **promotions}, blamed)
    seen = _failures_seen(facts, blamed)
    for i, entry in enumerate(entries):
        if i in steps:
            items.append(_step_item(facts, entry, steps[i]))
            continue
        deployed = deploys.get(i) or promotions.get(i)
        failed_first = (i in deploys and i not in finishing and seen is not None
                        and entry.timestamp < b.incident_started_at and deploys[i].short_name not in blamed
                        and deploys[i].create_time >= seen)
        kind = ("traffic or configuration change" + _whose(entry) if deployed is None else
                f"deploy of {deployed.short_name}, its revision created after the first failing minute ended at "
                f"{hms(seen)}: someone at work on the service, not the failures' cause" if failed_first else
                f"traffic change promoting {deployed.short_name} (all traffic to it, at its first requests, by a "
                f"pipeline{_whose(entry)}: its pipeline's release)" if i in promotions else
                f"deploy of {deployed.short_name}" if i not in finishing else
                f"traffic change finishing the deploy of {deployed.short_name} (all traffic to it, by the same principal)")
        acting = entry.timestamp >= b.incident_started_at or failed_first if deployed else True
        items.append(EvidenceItem(source="log", query=b.audit.query,
                                  observed=f"{entry.method_name} by {named(entry)} at "
                                           f"{hms(entry.timestamp)}: {kind}",
                                  threshold=("a deploy after the incident began, or of a revision not blamed created "
                                             "after the blamed revision's first failing minute ended, or a traffic "
                                             "change within "
                                             f"{s.manual_change_window_seconds} s stands automation down"),
                                  passed=acting, role="supports" if acting else "context", about="stand_down"))
        if acting:
            reasons.append(f"{kind} by {named(entry)} at {hms(entry.timestamp)}")
    return reasons, items


def _pipeline_promotions(facts: Facts, entries: list[LogRecord], deploys: dict[int, Revision]) -> dict[int, Revision]:
    """The entries (by position) that are a pipeline's own promotion of the newest serving revision: a change
    within _DEPLOY_MATCH of the minute its traffic began (Facts.promotion, which dates it from its own requests)
    by a pipeline (principals.acts_as_tool: a service account acting as itself, or a pipeline acting through one or
    through a workload identity pool, read off the entry's principalEmail, principalSubject and
    serviceAccountDelegationInfo: google/cloud/audit/audit_log.proto), while it takes all the traffic. That is
    the release step of a blue/green deploy (`--no-traffic`, then `update-traffic`), the deploy itself, as a
    deploy's own entry is. A person's change (as themselves, or acting through the account), one whose principal
    is not known to be a pipeline's (no email, a delegate kept only as a third party principal), a share, or a
    change at another time is not: it stands automation down. A service account is any pipeline's, not only a
    release's: UNCONFIRMED which pipeline made it, and not needed, since only the change that promoted the failing
    revision at its first requests is read as its deploy."""
    suspect = facts.newest_serving
    promoted = facts.promotion(suspect) if suspect is not None else None
    if promoted is None or facts.b.service.serving_percent(suspect.short_name) < 100:
        return {}
    at = promoted.revision.create_time
    # One entry is the promotion, as one entry is a deploy (`_deploy_entries`): the service account's traffic
    # write nearest that minute. Another account's change in the same two minutes (a second pipeline's, an IAM
    # change) is a change of its own, and stands automation down.
    releases = [i for i, entry in enumerate(entries)
                if i not in deploys and abs(entry.timestamp - at) <= _DEPLOY_MATCH
                and _TRAFFIC_WRITE.search(entry.method_name or "")
                and acts_as_tool(entry)]
    nearest = min(releases, key=lambda i: abs(entries[i].timestamp - at), default=None)
    return {} if nearest is None else {nearest: suspect}


@dataclass(frozen=True)
class _Step:
    """A rollout tool's traffic step: the failing revision's share before it and the share it asked for."""

    revision: Revision
    before: int
    after: int


def _rollout_steps(facts: Facts, entries: list[LogRecord], deploys: dict[int, Revision],
                   blamed: frozenset[str]) -> dict[int, _Step]:
    """The entries (by position) that are a rollout tool's step of the failing revision's canary: a traffic write
    by a pipeline (principals.acts_as_tool: a service account acting as itself, or a pipeline acting through one or
    through a workload identity pool; a person acting through it is a person) after the
    newest serving revision's deploy, whose request's split (LogRecord.traffic, read off AuditLog.request) raised
    that revision's share, short of all traffic (a CI job stepping `gcloud run services update-traffic` 5 -> 25 ->
    50 %), while it still serves a share short of all traffic. Such a step is context (with no entry read,
    Service.last_modifier names the account alone and the step is held as not known whose: unaudited_change.py;
    the rollback's note names the tool: shared/remediation/release_pipeline.rollout_mover): rolling the canary back
    to its stable revision is what an SRE expects, and the tool is named so that a person stops it. Everything
    else stands automation down: a person's move (as themselves or through an account), a delegate that does not
    say who it was, a step that lowered the failing revision's share (a rollback already under way: never fought), a move of another revision's share, a write whose split is not
    read, and any step when more than one principal changed the service in the window (who is at work is then
    not one tool). Only a step of the revision a bad_revision finding blames (`blamed`, its subject) is context:
    a step of a clean canary while an older revision fails rolls out what may be the fix, and stands down.
    The share before is the one the latest earlier split read gave it, its own deploy's included (the deploy's
    entry is written before or at the revision's create_time, within _DEPLOY_MATCH: `_deploy_entries`), so a
    deploy that gave it all (a LATEST 100 target) and a tool's step down to 10 % is a step away, and stands
    down. With no split read for it (no deploy entry read, or one whose request holds no `traffic`), the share
    before is the one the revision served (`_served_share`): what Cloud Run did with an update without `traffic`
    is read in two ways. Service.traffic: "If traffic is empty or not provided, defaults to 100% traffic to the
    latest `Ready` Revision" (google/cloud/run/v2/service.proto; google-cloud-run's run_v2.types.Service
    docstring), so the deploy gave it everything; or the request held the split as the client read it (gcloud
    sends the service it read, its flags applied) and the audit entry does not log it, so the split in force was
    kept (a pin: nothing to the new revision; a LATEST target: its share). Which one a deploy's audit entry
    shows is UNCONFIRMED; its requests settle it. Served nothing known (no request in the minutes between), the
    share before is 0, as before: a step from a deploy that gave it everything would then read as a step up,
    and the rollback it allows goes where the tool was already stepping."""
    suspect = facts.newest_serving
    # A canary still under way, as rollout_mover reads it: the revision serves a share short of all traffic now. A
    # share written before a promotion to 100 % is not a step of a canary still running (the rollout is done).
    if (suspect is None or suspect.short_name not in blamed or len({named(e) for e in entries}) != 1
            or not 0 < facts.b.service.serving_percent(suspect.short_name) < 100):
        return {}
    steps, before, since = {}, None, suspect.create_time
    for i, entry in enumerate(entries):
        own_deploy = i in deploys and deploys[i].short_name == suspect.short_name
        if entry.timestamp <= suspect.create_time and not own_deploy:
            continue
        if entry.traffic is None:
            if own_deploy:      # the split it left is not read: what the revision served says it
                before, since = None, max(entry.timestamp, suspect.create_time)
            continue
        share = _asked_share(facts, entry.traffic, suspect)
        if (i not in deploys and 0 < share < 100 and _TRAFFIC_WRITE.search(entry.method_name or "")
                and acts_as_tool(entry)):
            was = before if before is not None else _served_share(facts, suspect, Window(since, entry.timestamp))
            if share > was:
                steps[i] = _Step(suspect, was, share)
        before, since = share, entry.timestamp
    return steps


def _served_share(facts: Facts, revision: Revision, between: Window) -> int:
    """`revision`'s share of the service's requests in the whole minutes of `between` (the minute the next write
    came in is left out: it may hold both splits), rounded; 0 when none were served or none read."""
    whole = Window(between.start, between.end - timedelta(minutes=1))
    if whole.end <= whole.start:
        return 0
    total = facts.requests(whole).total
    return round(100 * facts.requests(whole, revision.short_name).total / total) if total else 0


def _asked_share(facts: Facts, split: tuple[tuple[str, int], ...], revision: Revision) -> int:
    """`revision`'s share of a requested split: its own targets, and the latest ready revision's ("") when it is
    the newest revision (a LATEST target follows the newest ready one: TrafficTarget.type, traffic_target.proto)."""
    newest = max(facts.b.revisions, key=lambda r: r.create_time, default=None)
    latest = newest is not None and newest.short_name == revision.short_name
    return sum(p for name, p in split if name == revision.short_name or (not name and latest))


def _step_item(facts: Facts, entry: LogRecord, step: _Step) -> EvidenceItem:
    """A rollout tool's step, as context named in the words of release_pipeline.RolloutMover."""
    after = int((entry.timestamp - step.revision.create_time).total_seconds())
    return EvidenceItem(source="log", query=facts.b.audit.query if facts.b.audit else "",
                        observed=f"{entry.method_name} by {named(entry)} at {hms(entry.timestamp)}: traffic change "
                                 f"stepping {step.revision.short_name} from {step.before}% to {step.after}%, {after} s "
                                 f"after it was deployed, by {named(entry)}{_whose(entry)} (not a person): a rollout "
                                 "tool moving traffic in steps (gcloud run services update-traffic, canary/stable tags); stop its "
                                 "rollout, or its next step undoes a rollback",
                        threshold="a pipeline (a service account acting as itself, or a pipeline acting through one "
                                  "or a workload identity pool) raising the newest revision's share short of "
                                  "all traffic after its deploy, alone in the window, is a rollout's step: context, "
                                  "never a stand-down",
                        passed=False, role="context", about="stand_down")


# The calls that set a service's traffic: v2's UpdateService, v1's ReplaceService (run_audit.TRAFFIC_WRITES: the
# Cloud Run audit logging page's method names). A service's creation, an IAM policy's change, are not a promotion.
_TRAFFIC_WRITE = re.compile(service_methods(TRAFFIC_WRITES))


def _whose(entry: LogRecord) -> str:
    """Who acted through `entry`'s service account (its serviceAccountDelegationInfo), as a clause; "" when no one."""
    return f" (acting through it: {', '.join(entry.delegates)})" if entry.delegates else ""


def _deploy_entries(entries: list[LogRecord], revisions: tuple[Revision, ...]) -> dict[int, Revision]:
    """Which of `entries` (by position) made which revision: for each revision, the one entry
    nearest its create_time within _DEPLOY_MATCH. A deploy is one operation, one entry once its
    first and last are merged; a second change within the same two minutes (`gcloud run deploy
    --no-traffic`, then `update-traffic` to send the new revision a share: a rollout by hand) is a
    traffic change of its own, not the deploy again, unless it only finished the deploy
    (`_finishing_entries`)."""
    made = {}
    for revision in revisions:
        near = [(abs(revision.create_time - e.timestamp), i) for i, e in enumerate(entries)
                if abs(revision.create_time - e.timestamp) <= _DEPLOY_MATCH]
        if near:
            made.setdefault(min(near)[1], revision)
    # An operation's other entry, if it was not merged (collection merges them by operation: its producer and
    # id, LogRecord.operation_key), is the same deploy.
    operations = {entries[i].operation_key: revision for i, revision in made.items() if entries[i].operation_id}
    for i, entry in enumerate(entries):
        if entry.operation_id and entry.operation_key in operations:
            made.setdefault(i, operations[entry.operation_key])
    return made


def _finishing_entries(entries: list[LogRecord], deploys: dict[int, Revision],
                       serving_percent: Callable[[str], float]) -> dict[int, Revision]:
    """The entries (by position) that only finished a deploy: a change by the deploy's own principal
    within _DEPLOY_MATCH of the revision's creation, while the revision now takes all the traffic. A
    pipeline that deploys with `--no-traffic` and then sends the new revision everything
    (`update-traffic --to-latest`: two steps many CI scripts take) made a deploy like any other, and
    no one is left at work on a split. A share (a rollout by hand), another principal, or a change
    later than that is a person's change of its own."""
    finishing = {}
    for i, entry in enumerate(entries):
        if i in deploys or not entry.principal:
            continue
        for j, revision in deploys.items():
            if (entries[j].principal == entry.principal
                    and abs(revision.create_time - entry.timestamp) <= _DEPLOY_MATCH
                    and serving_percent(revision.short_name) >= 100):
                finishing[i] = revision
                break
    return finishing


def _collected(bundle: EvidenceBundle) -> str:
    text = f"{bundle.api_calls} API calls"
    return text + (f"; not read: {'; '.join(bundle.gaps)}" if bundle.gaps else "")
