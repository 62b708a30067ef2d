"""Whether a rollback failing on the revision it went back to fails for a cause outside that revision which an
undo cannot end: then the undo is held, the rollback kept, and a person told the cause (`judging._standing`).

An undo sends the traffic back to the revision rolled back from, which the diagnosis found failing on its
own (its deploy the cause). It is held only for a cause that EXPLAINS the failures since and that the revision
rolled back from shares, or one the rollback's own traffic brought on:
- a Cloud SQL instance down through the minutes judged (`database/up` under 1 in most of them, the newest
  among them), or down in every minute of them that failed with a point read (an outage that ended, or one that
  flaps, with clean minutes between; a minute not read yet is unknown, not up): `_down_through`, an instance both
  revisions' templates name (`Revision.cloudsql_instances`). A blip of a minute among failing minutes it was up
  in explains none of theirs, and the undo goes on as before;
- the minutes diagnosed as the database (`database_unreachable`), not on a stopped database/up series alone
  and not on a refusal of the revision's own (its password, user, database name, host: `_OWN_REFUSALS`); with
  an outage read that does not cover the failing minutes, only on a shared refusal logged within each of them
  (`_refused_through`): a replica's restart of a minute does not end "too many clients" on the primary;
- the minutes diagnosed as the connector (`connector_saturation`) and held whatever it shares: the one both
  templates name (`vpc_connector`) full before the rollback too is a shared cause; one that filled only
  since the rollback was filled by the traffic the rollback moved, and an undo would put back the deploy that
  failed on its own. Both are told, never undone.
An instance only the revision rolled back to uses (the deploy moved to another), or a refusal of its own
credentials, is that revision's own failure: after a rollback made for a deploy that failed on its own
(`bad_revision`), both revisions are broken, and an undo would only trade one failure for the other, the next
sweep undoing it back (a flap): held, both causes named (`_both_broken`). Its own exception, or such a failure
after an operator's rollback (no diagnosis of the deploy), undoes as before. Pure."""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.diagnosis.evidence import LogRecord, Revision, short_name
from shared.diagnosis.facts import DEFAULT_REQUEST_TIMEOUT_SECONDS, SQL_INGEST_LAG, Facts, Window, refused_series
from shared.diagnosis.log_signals import Refusal
from shared.diagnosis.signatures import Diagnosis, Signature
from shared.diagnosis.windows import hms
from shared.gcp.identifiers import database_ids
from shared.remediation.headroom import limit_in
from shared.remediation.records import ActionRecord

# Refusals that answer one revision's own settings (a secret version, a user, a database or host name, a client
# library, a service account): the revision rolled back from, with its own, may be admitted (log_signals.Refusal).
_OWN_REFUSALS = frozenset({
    Refusal.CREDENTIALS, Refusal.AUTH_METHOD, Refusal.IAM_USER, Refusal.NOT_AUTHORIZED, Refusal.DB_ACCESS,
    Refusal.UNKNOWN_DATABASE, Refusal.NAME_MISSING, Refusal.SOURCE_NOT_ALLOWED, Refusal.NO_SUCH_HOST,
    Refusal.NO_SUCH_INSTANCE, Refusal.NO_IP_OF_TYPE, Refusal.CERTIFICATE, Refusal.TLS_MISMATCH})
# How `_both_broken`'s cause opens: the deploy was a cause too, so what a failing rollback shows of the deploy
# (judging.deploy_not_the_cause: "the deploy was not the cause") is not said with it.
BOTH_BROKEN = "both revisions fail on their own"
# A minute: a request_count point ending `at` counts the requests of (at - 60 s, at] (its 60 s alignment period).
_NEAR = timedelta(seconds=60)
# How far a refusal's line may fall outside its request's minute and still be that minute's (`_refused_through`): a
# refusal is logged as its dial fails, which may be any time while its request waits (a pool's connect retried for 30
# s, a dial refused at once and answered when the handler gives up). request_count counts a request in the minute it
# began or the one it ended in: Cloud Run's metrics page (request_count, "Number of requests reaching the revision")
# says neither, UNCONFIRMED; under the first reading the line falls up to the request's latency after its minute, under
# the second up to that latency before it, so the window reaches a request's latency either side (`_wait`), plus the
# seconds between the log's clock (LogEntry.timestamp, "the time the event described by the log entry occurred") and
# Monitoring's minute grid, `_ALIGNMENT` (5 s, UNCONFIRMED). A line it misses leaves the minute unexplained, and the
# undo goes on as it did before any refusal was read.
_ALIGNMENT = timedelta(seconds=5)
# The share of the failing minutes that must hold a database/up point read for "down in every failing minute" to be
# judged (`_down_through`). Cloud SQL's metrics are "not visible for up to 165 seconds" after sampling (Cloud SQL
# metrics reference, database/up; facts.SQL_INGEST_LAG keeps 210 s), request_count's up to 180 s (Cloud Run metrics
# reference): the newest failing minutes may have no database/up point yet, and a minute with no point is unknown, not
# up. Those read must be at least as many as those not: an outage read down in each minute read holds the undo (the
# safe side: a person told, nothing written), but a series silent in most of them is silence, never an outage read.
_READ_SHARE = 0.5


def shared_cause(facts: Facts, record: ActionRecord, window: Window, diagnosis: Diagnosis) -> str:
    """Why a rollback failing in `window` is not undone ("" for any other action, or no such cause shown)."""
    if record.action != "rollback_traffic":
        return ""
    frm = str(record.params.get("from_revision") or "")
    to = str(record.params.get("to_revision") or "")
    back = frm or "the revision rolled back from"
    failing = failing_minutes(facts, window)
    cause = (_instance_down(facts, window, failing, frm, to)
             or _database_diagnosed(facts, window, failing, diagnosis, frm, to)
             or _connector_full(facts, record, diagnosis, frm, to) or _both_broken(facts, record, window, failing))
    if not cause:
        return ""
    return (f"{cause}; an undo would send the traffic back to {back}, which failed on its own before the rollback, "
            f"and cannot end this failure: the rollback is kept, and a person must look at it (the minutes since: "
            f"{diagnosis.signature.value}: {diagnosis.summary})")


def _instance_down(facts: Facts, window: Window, failing: list[datetime], frm: str, to: str) -> str:
    """A Cloud SQL instance both revisions use, down through `window` (`_down_through`): its minutes and values."""
    down = {db: how for db, how in _down_through(facts, window, failing).items() if _both_use(facts, db, frm, to)}
    if not down:
        return ""
    read = "; ".join(f"{db} ({_use_words(facts, db, frm, to)}): {how}" for db, how in down.items())
    return (f"what fails since is a cause both revisions share: Cloud SQL down while the requests failed in {window} "
            f"(database/up {read})")


def _down_through(facts: Facts, window: Window, failing: list[datetime]) -> dict[str, str]:
    """The instances down through the failing minutes of `window`, and how: database/up under 1 in more than half
    the minutes with a point and in the newest of them (an outage still on), or under 1 in every minute that
    failed (`failing_minutes`: an outage that ended, or flapped, explains each failure, and the clean minutes
    since it came back are no failure an undo could end). Only a point read counts: a series that stopped is
    unknown, not down (`Facts.sql_down` reads it as not up, which holds a `healthy`; here it would hold a write
    back on silence, which a metric's own ingestion delay or an instance in another project gives). A minute is
    laid beside a minute by its end: collection reads request_count and database/up with one interval end and a
    60 s alignment period. That Monitoring ends every aligned point on that interval end's minute grid is
    UNCONFIRMED here; where the ends differ, no failing minute is covered and the first reading alone holds. A failing
    minute with no point is unknown, not up: the rule judges the failing minutes with a point read, at least
    `_READ_SHARE` of them, and says which were not read. Each reading says the minutes it was down in and the newest
    point read: whether it is up now. `failing`: `failing_minutes` of `window`, read once by `shared_cause`."""
    down: dict[str, str] = {}
    for db, minutes in sorted(facts.sql_up_minutes(window).items()):
        values = [minutes[at] for at in sorted(minutes)]
        under = sum(v < 1 for v in values)
        read = [at for at in failing if at in minutes]
        if values and values[-1] < 1 and 2 * under > len(values):
            how = f"under 1 in {under} of {len(values)} minutes: under 1 in most minutes judged, the newest among them"
        elif read and len(read) >= _READ_SHARE * len(failing) and all(minutes[at] < 1 for at in read):
            how = _each_failing_minute(failing, read, max(minutes)) + f", {under} of {len(values)} minutes read"
        else:
            continue
        down[db] = f"{how}; {_down_and_now(minutes)}"
    return down


def _each_failing_minute(failing: list[datetime], read: list[datetime], newest: datetime) -> str:
    """How an instance was down in each failing minute read, and the failing minutes not read (unknown, not up):
    those after the `newest` point read may not be visible yet (`_lagging`); one before it is a gap in the series
    (an instance restarting may report nothing for a while: facts.SQL_GAP_SECONDS), never lag."""
    if len(read) == len(failing):
        return f"under 1 in each of the {len(failing)} minutes that failed"
    unread = [at for at in failing if at not in read]
    gaps, lagging = [at for at in unread if at < newest], [at for at in unread if at > newest]
    said = [f"no point read for the minute(s) to {_hms(gaps)}, though a later point was (a gap in the series: unknown, "
            "not up)"] if gaps else []
    said += [_lagging(lagging)] if lagging else []
    return (f"under 1 in each of the {len(read)} of {len(failing)} minutes that failed with a point read; "
            + "; ".join(said))


def _lagging(minutes: list[datetime]) -> str:
    """The failing minutes after the newest point read: database/up is "not visible for up to 165 seconds" after
    sampling (Cloud SQL metrics reference, database/up); Runwarden allows facts.SQL_INGEST_LAG for it."""
    return (f"no point read yet for the minute(s) to {_hms(minutes)}, after the newest point read (Cloud SQL says its "
            f"metrics are not visible for up to 165 s after sampling; {SQL_INGEST_LAG.seconds} s allowed here: "
            "unknown, not up)")


def _hms(minutes: list[datetime]) -> str:
    return ", ".join(hms(at) for at in minutes)


def _down_and_now(minutes: dict[datetime, float]) -> str:
    """The minutes (by their ends) an instance's database/up read under 1, and its newest point: up or down now."""
    newest = max(minutes)
    now = "up at the newest point read" if minutes[newest] >= 1 else "still down at the newest point read"
    down = ", ".join(hms(at) for at in sorted(minutes) if minutes[at] < 1)
    return f"down in the minutes to {down}; the newest {minutes[newest]:g} at {hms(newest)}: {now}"


def failing_minutes(facts: Facts, window: Window) -> list[datetime]:
    """The minute ends of `window` whose requests failed: a 5xx or 429 share over `healthy_error_ratio`, or a p99
    at or over the hang bar."""
    s = facts.s
    hung = {at for at, p99 in facts.p99_by_minute(window) if p99 >= s.hang_latency_seconds}
    return sorted({at for at, total, bad in facts.per_minute_where(window, refused_series)
                   if total and bad / total > s.healthy_error_ratio} | hung)


def _refused_through(facts: Facts, window: Window, failing: list[datetime]) -> bool:
    """Whether a refusal not of the revision's own (`_OWN_REFUSALS`) is logged within each minute that failed
    (`failing`, `failing_minutes`), or as far either side of it as its requests waited (`_logged_through`): one burst
    of lines explains the minute it fell in and those its requests' latency reaches, not minutes of quick requests
    after it."""
    said = [line.timestamp for kind, lines in facts.db_refusals.items() if kind not in _OWN_REFUSALS
            for line in lines]
    return _logged_through(facts, window, failing, said)


def _logged_through(facts: Facts, window: Window, failing: list[datetime], stamps: list[datetime]) -> bool:
    """Whether one of the log timestamps `stamps` falls within each failing minute of `window`, or as far either side
    of it as its requests waited (`_wait`, `_ALIGNMENT`): a refusal is logged as its dial fails, which may be a
    request's wait before or after the minute request_count counts it in (its start or its end: UNCONFIRMED which)."""
    waits, limit = _wait(facts, window), _timeout(facts)

    def within(at: datetime) -> bool:
        reach = waits.get(at, limit) + _ALIGNMENT
        return any(at - _NEAR - reach < ts <= at + reach for ts in stamps)
    return bool(failing) and all(within(at) for at in failing)


def _wait(facts: Facts, window: Window) -> dict[datetime, timedelta]:
    """How long a request ending in each minute of `window` may have waited: the minute's p99 latency (a hung minute's
    is at or over the hang bar), never past the request timeout (`_timeout`). A minute with no p99 read is not here:
    its requests may have waited up to the timeout."""
    limit = _timeout(facts)
    return {at: min(timedelta(seconds=p99), limit) for at, p99 in facts.p99_by_minute(window)}


def _timeout(facts: Facts) -> timedelta:
    """The longest request timeout of the revisions read (Revision.timeout_seconds), Cloud Run's default where none
    says (facts.DEFAULT_REQUEST_TIMEOUT_SECONDS): the longest a request may wait before it is answered."""
    return timedelta(seconds=max((r.timeout_seconds or DEFAULT_REQUEST_TIMEOUT_SECONDS for r in facts.b.revisions),
                                 default=DEFAULT_REQUEST_TIMEOUT_SECONDS))


def _database_diagnosed(facts: Facts, window: Window, failing: list[datetime], diagnosis: Diagnosis, frm: str,
                        to: str) -> str:
    """The minutes diagnosed as the database, on evidence read (not a database/up series that stopped there:
    `Facts.sql_trailing`), on no refusal of the revision's own, and on an instance both revisions may use. Beside an
    outage read that does not cover them (a blip among minutes it was up in: `_down_through`; the diagnosis then
    says the outage explains its own minutes only), only on a shared refusal logged in each failing minute
    (`_refused_through`): the instance's sign and the refusal are judged apart, and a replica's restart of a
    minute does not end "too many clients" on the primary."""
    if diagnosis.signature is not Signature.DATABASE_UNREACHABLE or facts.sql_trailing(window)[0]:
        return ""
    if any(min(values) < 1 for values in facts.sql_up_values(window).values() if values) and not _refused_through(
            facts, window, failing):
        return ""   # an outage read that does not cover the minutes (`_instance_down`), and no refusal that does
    refused = set(facts.db_refusals)
    if refused and refused <= _OWN_REFUSALS:
        return ""
    if facts.sql_named and not any(_both_use(facts, db, frm, to) for db in facts.sql_named):
        return ""
    return f"what fails since is a cause both revisions share: the database ({diagnosis.summary})"


def _connector_full(facts: Facts, record: ActionRecord, diagnosis: Diagnosis, frm: str, to: str) -> str:
    """The minutes diagnosed as the connector: shared when both revisions route through it and it was at its limit
    before the rollback too (headroom.limit_in); else the rollback's own traffic filled it."""
    if diagnosis.signature is not Signature.CONNECTOR_SATURATION:
        return ""
    before = Window(record.applied_at - timedelta(seconds=facts.s.lookback_seconds), record.applied_at)
    limit = limit_in(facts, before)
    was_full = limit is not None and limit.read > 0 and limit.held()
    same = _same_connector(facts, frm, to)
    if was_full and same:
        return ("what fails since is a cause both revisions share: the connector both route through, at its limit "
                f"before the rollback too ({len(limit.at_limit)} of {limit.read} minutes in {before})")
    other = "" if same else f"; {frm or 'the revision rolled back from'} routes through another"
    at = f"what fails since is the connector {to or 'the revision rolled back to'} routes through"
    if limit is None or not limit.read:
        return (f"{at}, full since the rollback; whether it was full before it is unknown: its load was not read in "
                f"{before}{other}")
    return (f"{at}, full since the rollback moved the traffic onto it (at its limit in {len(limit.at_limit)} of "
            f"{limit.read} minutes in {before}{other})")


def _both_broken(facts: Facts, record: ActionRecord, window: Window, failing: list[datetime]) -> str:
    """Both revisions broken: the rollback was made for a deploy that failed on its own (`bad_revision`), and the
    revision it went back to fails on its own database settings in every minute that failed, a refusal of its
    own logged in each (`_OWN_REFUSALS`: a password the deploy rotated, a user or database it renamed), or an
    instance only it still names down through them (the deploy moved to another; the old one retired). An undo
    puts back the deploy's own failure, and the sweep after it could only send the traffic back again: a flap
    between two failing revisions that ends neither. Both causes are named, with what each was seen saying."""
    if record.signature != Signature.BAD_REVISION.value:
        return ""
    frm = str(record.params.get("from_revision") or "") or "the revision rolled back from"
    to = str(record.params.get("to_revision") or "") or "the revision rolled back to"
    own = _own_database_failure(facts, window, failing, frm, to)
    if not own:
        return ""
    return (f"{BOTH_BROKEN}: {to}, rolled back to, on its own database settings in each of the "
            f"{len(failing)} minutes that failed ({own}), and {frm} on its own before the rollback (diagnosed "
            f"{record.signature}, the rollback's reason); an undo would trade one failure for the other, and the next "
            "sweep could only undo it back")


def _own_database_failure(facts: Facts, window: Window, failing: list[datetime], frm: str, to: str) -> str:
    """What shows the revision rolled back to failing on its own database settings (`_both_broken`): a refusal
    of its own, logged by it, accounting for every failing minute (`_own_refusals_account`), or an instance only
    it names down through them; "" if neither."""
    said = {kind: kept for kind, lines in facts.db_refusals.items() if kind in _OWN_REFUSALS
            for kept in [[line for line in lines if _logged_by(line, to)]] if kept}
    if _own_refusals_account(facts, window, failing, said):
        return "; ".join([f"{kind} ({len(lines)}x, e.g. '{lines[0].text[:120]}')" for kind, lines in said.items()]
                         + _other_failure_lines(facts, to, said))
    down = {db: how for db, how in _down_through(facts, window, failing).items()
            if db in _instances(facts, to) and _instances(facts, frm) and db not in _instances(facts, frm)}
    return "; ".join(f"Cloud SQL {db}, which {to} names and {frm} no longer does ({', '.join(sorted(_instances(facts, frm)))}"
                     f" instead), down: database/up {how}" for db, how in down.items())


def _own_refusals_account(facts: Facts, window: Window, failing: list[datetime],
                          said: dict[str, list[LogRecord]]) -> bool:
    """Whether the refusals of its own settings `said`, logged by the revision rolled back to (the entry's
    revision_name label: Cloud Run's cloud_run_revision monitored resource), fall within each failing minute (or
    as far either side as its requests waited, `_logged_through`, as `_refused_through`). However many other failure lines
    it logged beside them: a pool logs its refused reconnect once a minute, while each request it fails logs its
    own consequence (HikariPool's "Connection is not available", psycopg_pool.PoolTimeout, a framework's "Internal
    Server Error"), so no share of lines tells the refusal's failure from another. An undo is a write and a wrong
    one flaps back onto the deploy's failure; holding with both named (`_other_failure_lines`) loses nothing."""
    return _logged_through(facts, window, failing, [line.timestamp for lines in said.values() for line in lines])


def _other_failure_lines(facts: Facts, revision: str, said: dict[str, list[LogRecord]]) -> list[str]:
    """The application's other failure lines (LogIndex.app_failing) `revision` logged beside its own refusals
    `said`: their count and one example, so a hold on the refusal never hides what else the revision said."""
    refusals = {id(line) for lines in said.values() for line in lines}
    texts = {line.text for lines in said.values() for line in lines}
    other = [line for line in facts.logs.app_failing
             if _logged_by(line, revision) and id(line) not in refusals and line.text not in texts]
    if not other:
        return []
    return [f"and {len(other)} other failure line(s) it logged, e.g. '{other[0].text[:120]}'"]


def _logged_by(line: LogRecord, revision: str) -> bool:
    return line.resource_labels.get("revision_name") == revision


def _both_use(facts: Facts, db: str, frm: str, to: str) -> bool:
    """Whether instance `db` (PROJECT:INSTANCE) is one both revisions use: named in each one's template, or a
    revision whose template names no instance (read or not: it may reach one by its address)."""
    return all(not names or db in names for names in (_instances(facts, frm), _instances(facts, to)))


def _use_words(facts: Facts, db: str, frm: str, to: str) -> str:
    """How each revision is known to use instance `db`: named in its template, or a template that names none (or
    none read, or a name not parsed), which may reach it by its address: said as read, never "both use"."""
    def said(name: str) -> str:
        label = name or "a revision unnamed"
        revision = _revision(facts, name)
        if revision is None:
            return f"{label}'s template not read"
        if db in _instances(facts, name):
            return f"named by {label}"
        if revision.cloudsql_instances:
            return f"{label} names {', '.join(revision.cloudsql_instances)}, not parsed as an instance"
        return f"{label} names none"
    words = [said(to), said(frm)]
    return "which both templates name" if all(w.startswith("named by") for w in words) else "; ".join(words)


def _instances(facts: Facts, revision: str) -> frozenset[str]:
    """The database_ids a revision's template names (Cloud Run's volumes[].cloud_sql_instance.instances)."""
    return database_ids(getattr(_revision(facts, revision), "cloudsql_instances", ()))


def _same_connector(facts: Facts, frm: str, to: str) -> bool:
    """Whether both revisions route through one connector (either template unread counts as the same; a
    connector is named by its full name or its id: evidence.Revision.vpc_connector)."""
    a, b = _revision(facts, frm), _revision(facts, to)
    return a is None or b is None or short_name(a.vpc_connector or "") == short_name(b.vpc_connector or "")


def _revision(facts: Facts, name: str) -> Revision | None:
    return next((r for r in facts.b.revisions if name and r.short_name == name), None)
