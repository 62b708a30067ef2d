"""The facts a diagnosis found that bear on what a person decides, each in a few words with its number and
its bar, and which of them an escalation's words leave out.

A rule that does not match says why in its own terms ("no 503s or hangs at a client timeout") and stops
there: the connector sitting at its max instances with its CPU hot, a database that went down and came
back, a deploy minutes before, a person's change, a read that was cut or failed, may each be true while no
rule's words name it. A person paged for a verdict Runwarden does not act on (`inconclusive`, a signature a
person must handle, a plan awaiting approval) would then re-read the evidence to find them. `notable` lists
them, ordered by weight (who is at work first, then the database, the connector, the deploy, what was not
read), and `unsaid` keeps those the words do not already say (each kind's `said` pattern), so that no fact
is said twice. Pure: facts in, words out."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from shared.diagnosis.evidence import LogRecord
from shared.diagnosis.excerpts import excerpt
from shared.diagnosis.facts import Facts
from shared.diagnosis.log_signals import SQL_USER_WRITES, LogSignal
from shared.diagnosis.windows import Window, hms
from shared.diagnosis.latency_words import duration


@dataclass(frozen=True)
class Notable:
    """One fact in a person's words, with what in words already given says it (case-insensitive)."""

    kind: str           # person_change, database_user, database_down, database_back, worker_timeout,
                        # connector_at_max, connector_cpu, connector_throughput, deploy, named_revision, read_cut
    words: str
    said: str           # a regular expression: the words already given name this fact when it matches

    def said_in(self, text: str) -> bool:
        return re.search(self.said, text, re.IGNORECASE) is not None


def notable(facts: Facts, stand_down: str = "") -> tuple[Notable, ...]:
    """Every notable fact the diagnosis found, heaviest first. `stand_down`: the diagnosis's own words for a
    change by someone other than Runwarden (diagnose._human_changes, narrative.path_notes)."""
    return (*_person(stand_down), *_database_users(facts), *_database(facts), *_workers(facts), *_connector(facts),
            *_deploy(facts), *_named_revision(facts), *_reads(facts))


def unsaid(found: tuple[Notable, ...], words: str) -> tuple[Notable, ...]:
    """The facts of `found` that `words` (a summary and its recommendation) do not already say."""
    return tuple(n for n in found if not n.said_in(words))


# What goes before the facts added: planning reads the rule's own words before it (`rule_words`), never these.
ALSO = " Also found: "


def rule_words(summary: str) -> str:
    """The summary without the facts `noted` added: the words the rule (and the path notes) wrote, which
    planning reads its stress signs from (planning._cpu_bound: "CPU p99 N%"). A fact added for a person, a
    sign the rules left out as no cause among them, must never become the sign a plan answers."""
    return summary.partition(ALSO)[0]


def noted(summary: str, found: tuple[Notable, ...], recommendation: str = "") -> str:
    """`summary` with the facts it and its recommendation leave out, after "Also found:" in one sentence."""
    left = unsaid(found, f"{summary} {recommendation}")
    if not left:
        return summary
    base = summary.rstrip()
    base = base if base.endswith(".") else base + "."
    return f"{base}{ALSO}{'; '.join(n.words for n in left)}."


def _person(stand_down: str) -> list[Notable]:
    """A change by someone other than Runwarden that stands automation down: the diagnosis says it in its
    `stand_down` field, which planning reads only for a signature (planning._why_not answers an
    `inconclusive` or competing verdict first), so a person reading the summary did not hear of it."""
    if not stand_down:
        return []
    first = stand_down.split("; ")[0].removeprefix("recent human change: ")
    return [Notable("person_change", f"automation stands down for {stand_down}", re.escape(first))]


def _database_users(facts: Facts) -> list[Notable]:
    """Each database user changed or deleted on a Cloud SQL instance the revisions name (EvidenceBundle.sql_audit:
    cloudsql.users.update or .delete, log_signals.SQL_USER_WRITES), by anyone but Runwarden, its call not failed: a
    login refused on every new connection since may be its doing, and a person paged reads who did what and when
    before the secret the revision reads (the refusal's own advice)."""
    read = facts.b.sql_audit
    if read is None:
        return []
    found = []
    for entry in read.entries:
        if (entry.method_name not in SQL_USER_WRITES or entry.status_code not in (None, 0)
                or entry.principal in facts.s.self_principals):
            continue
        user = f" {entry.sql_account}" if entry.sql_user else ""
        # resourceName `projects/P/instances/I` or `projects/P/instances/I/users/NAME`: the segment after /instances/.
        instance = (entry.resource_name or "").partition("/instances/")[2].split("/", 1)[0] or "its instance"
        words = (f"database user{user} {SQL_USER_WRITES[entry.method_name]} on {instance} by "
                 f"{entry.principal or 'someone'} at {hms(entry.timestamp)} ({entry.method_name})"
                 + _outcome_unread(entry))
        found.append(Notable("database_user", words, re.escape(entry.method_name)))
    return found


def _outcome_unread(entry: LogRecord) -> str:
    """What a person reads of a change whose operation's end is not in the read: only its start entry (no status).
    Such a call may have failed (PostgreSQL refuses to drop a role that still owns objects); it is still counted as
    done, the reading that holds a rollback back, and the person is told its outcome was not seen."""
    return ", its outcome not read (only the operation's start logged)" if (
        entry.operation_first and not entry.operation_last and entry.status_code is None) else ""


def _database(facts: Facts) -> list[Notable]:
    """A Cloud SQL instance the service uses whose database/up fell below 1 (or went silent) in the incident
    window (Facts.sql_down), and whether its newest minutes show it up again (database/up 1 in every
    instance's points of the recent window: "back")."""
    down = facts.sql_down(facts.incident)
    if not down or not down[0]:
        return []
    names, seen = down
    recent = facts.sql_down(facts.recent)
    back = recent is not None and not recent[0] and not facts.sql_unread(facts.sql_up_values(facts.recent))
    label = ", ".join(names)
    words = f"Cloud SQL {label} down in {facts.incident} (database/up below 1: {seen})"
    said = rf"({'|'.join(map(re.escape, names))})[^.;]*\b(down|min 0|stopped)|database/up[^.;]*\b(0|below 1)"
    found = [Notable("database_down", words, said)]
    if back:
        found.append(Notable("database_back", f"{label} up again in {facts.recent} (database/up 1)",
                             r"\b(up again|back up|came back|is back|recovered)\b"))
    return found


def _workers(facts: Facts) -> list[Notable]:
    """The application server's own worker timeouts while the requests failed (LogSignal.WORKER_TIMEOUT: gunicorn's
    "WORKER TIMEOUT (pid:N)" and its SIGKILL reaping, Puma's "! Terminating timed out worker"), at least
    startup_failure_logs_min times (Facts.logged_enough): each ends the request its worker held unanswered, a 503.
    Their lines carry no severity of their own (gunicorn's arbiter and Puma's cluster write them plain to stderr
    or stdout), so the top error texts, warnings and worse, leave them out."""
    lines = facts.matches_while_failing(LogSignal.WORKER_TIMEOUT)
    if not facts.logged_enough(lines, facts.s.startup_failure_logs_min):
        return []
    return [Notable("worker_timeout", f"{len(lines)} worker timeouts of the application's own server while the "
                    f"requests failed (e.g. {excerpt(lines[0].text)!r})",
                    r"worker timeout|timed out worker|workers it timed out")]


def _connector(facts: Facts) -> list[Notable]:
    """The connector's three saturation signs in the incident window, as connector_news._signs reads them
    (instances at the connector's max, CPU p99 at connector_cpu_saturation, throughput at
    connector_throughput_ratio of its machine type's ceiling), whether or not a rule counted them as news:
    a sign the rules left out (already there before, gone before the failures) still bears on a scale a
    person weighs."""
    connector, s, window = facts.b.connector, facts.s, facts.incident
    if connector is None:
        return []
    name = connector.short_name
    found = []
    left_out = _left_out(facts)
    instances = facts.connector_values(facts.b.connector_instances, window)
    if instances and max(instances) >= connector.max_instances:
        found.append(Notable("connector_at_max", f"connector {name} at its max {connector.max_instances} "
                             f"instances (connector/instances peak {max(instances):.0f}{left_out('at max')})",
                             # connector_news._signs' words, or the connector named before "at max" in one clause:
                             # Cloud Run's own "at its 10 max instances" is another fact.
                             rf"at max instances \({connector.max_instances}\)|{re.escape(name)}[^.;|]*\bat (its )?max\b"))
    cpu = facts.connector_cpu(window)
    if cpu and max(cpu) >= s.connector_cpu_saturation:
        found.append(Notable("connector_cpu", f"its CPU p99 max {max(cpu):.0%} (bar {s.connector_cpu_saturation:.0%}{left_out('CPU')})",
                             rf"CPU[^.;]*\b{max(cpu):.0%}"))
    ceiling = facts.connector_ceiling_mbps()
    rates = facts.connector_bytes(window)
    mbps = max(rates) * 8 / 1e6 if rates else None
    if ceiling and mbps is not None and mbps >= s.connector_throughput_ratio * ceiling:
        found.append(Notable("connector_throughput", f"its throughput {mbps:.0f} Mbps of its {connector.machine_type} "
                             f"ceiling {ceiling:.0f} Mbps (bar {s.connector_throughput_ratio:.0%}{left_out('throughput')})",
                             rf"\b{mbps:.0f} (of {ceiling:.0f} )?Mbps"))
    return found


# Why connector_news left a sign out as a cause, read off the context check it cited (connector_news: _chronic,
# _held_while_failing, _stale_max_left_out), in a person's words.
_LEFT_OUT = (("already in", "not counted as a cause: so before the failures too, while requests were clean"),
             ("only before the failures began", "not counted as a cause: only before the failures began"),
             ("since load that has gone", "not counted as a cause: a high-water mark of load that has gone"))


def _left_out(facts: Facts) -> Callable[[str], str]:
    """A function from a sign's first words ("at max", "CPU", "throughput") to "; why it is not counted as a
    cause" when the connector's news left it out (Facts.connector_news), else "": a sign that is no news still
    bears on a scale a person weighs, and must not read as the cause."""
    news = facts.connector_news
    def why(sign: str) -> str:
        if any(kept.startswith(sign) for kept in news.signs):
            return ""
        for item in news.items:
            if item.role == "context" and item.observed.startswith(sign):
                reason = next((words for mark, words in _LEFT_OUT if mark in item.observed), "")
                if reason:
                    return f"; {reason}"
        return ""
    return why


def _deploy(facts: Facts) -> list[Notable]:
    """A revision deployed (or promoted) within deploy_window_seconds before the incident (Facts.recent_deploy)."""
    deploy = facts.recent_deploy()
    if deploy is None:
        return []
    revision, previous, lead = deploy
    name = re.escape(revision.short_name)
    return [Notable("deploy", f"{revision.short_name} deployed {duration(lead)} before the incident, replacing "
                    f"{previous.short_name} (deploy window {duration(facts.s.deploy_window_seconds)})",
                    # "X was not deployed shortly before" (bad_revision's words for a deploy outside its own window) is no saying.
                    rf"{name}(?![^.;]*not deployed)[^.;]*\b(deploy|promot)|(deploy|promot)[^.;]*{name}")]


def _named_revision(facts: Facts) -> list[Notable]:
    """The revision the alert names (resource.labels.revision_name: a log match's entry, a policy grouped by
    revision) when it serves 0% in the traffic statuses while others serve: the alert is about a revision no longer
    serving, and the evidence about the ones that do. Said with its own requests since the incident began and the
    split, so that a person does not read one revision's words as the other's (a log match on the old revision's
    entry, the new one failing, was escalated saying "too little traffic" of the new one)."""
    alert, service = facts.b.alert, facts.b.service
    named = alert.revision if alert is not None else ""
    serving = [f"{t.revision} {t.percent}%" for t in service.traffic_statuses if t.percent > 0 and t.revision]
    if not named or not serving or service.serving_percent(named) > 0:
        return []
    minutes = [at for at, total, _ in facts.revision_minutes(Window(facts.incident.start, facts.b.collected_at), named)
               if total]
    last = f"its newest request read in the minute to {hms(minutes[-1])}" if minutes else "no request of it read"
    return [Notable("named_revision", f"the alert names {named} ({alert.revision_where or 'resource.labels.revision_name'}), which serves 0% in "
                    f"the traffic statuses ({last}); serving: {', '.join(serving)}",
                    rf"alert names (revision )?{re.escape(named)}\b|"
                    rf"{re.escape(named)}[^.;]*(serves 0%|no longer serves|0% in the traffic)")]


def _reads(facts: Facts) -> list[Notable]:
    """The reads that failed (EvidenceBundle.gaps: refused, or unanswered after the retries) and the log page
    that was cut before the incident window's first minutes (Facts.page_cut): what was not read may hold what
    a rule needed. A read answered in part is said by diagnose._held_for_incomplete."""
    found = [Notable("read_cut", f"not read: {gap}", re.escape(gap[:60])) for gap in facts.b.gaps]
    if facts.page_cut:
        found.append(Notable("read_cut", facts.page_cut, re.escape(facts.page_cut[:60])))
    return found

