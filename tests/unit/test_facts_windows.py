"""Facts cut windows from per-series indexes, computed once per evidence. Each window fact is
checked against a plain scan that tests every point (the way the facts were first computed), on
ordered points, shuffled points, repeated minutes and values that are not numbers."""
from __future__ import annotations

import random
import re
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.config import DiagnosisSettings
from shared.diagnosis.evidence import EvidenceBundle, LogRecord, LogResult, MetricPoint, MetricResult, MetricSeries
from shared.diagnosis.facts import Facts, Window, refused_series
from shared.diagnosis.log_signals import LogSignal, signals_in

from tests.unit.builders import SQL, Evidence, T0, at

OLD, NEW = "backend-00001-abc", "backend-00002-xyz"


def _busy() -> EvidenceBundle:
    """A day of per-minute points on every source the facts read, two revisions, three codes."""
    e = (Evidence().revision(OLD, -1500, sql=(SQL,)).revision(NEW, -20, sql=(SQL,)).traffic(**{NEW: 100})
         .requests(OLD, -1440, -20, 40).requests(OLD, -1440, -20, 1, code="500")
         .requests(NEW, -20, 2, 18).requests(NEW, -12, 2, 27, code="503").requests(NEW, -12, 2, 4, code="429")
         .latency(OLD, -1440, -20, 0.2).latency(NEW, -20, 2, 31).instances(OLD, -1440, -20, 4)
         .instances(NEW, -20, 2, 6).connector().connector_metric("instances", -1440, 2, 3)
         .connector_metric("cpu", -1440, 2, 0.95).connector_metric("bytes", -1440, 2, 2e6).sql_up(-1440, 2, 1))
    return e.bundle()


def _shuffled(bundle: EvidenceBundle, seed: int) -> EvidenceBundle:
    rng = random.Random(seed)

    def shuffle(result: MetricResult | None) -> MetricResult | None:
        if result is None:
            return None
        series = []
        for s in result.series:
            points = list(zip(s.end_us, s.values))
            rng.shuffle(points)
            series.append(s.model_copy(update={"end_us": tuple(p[0] for p in points),
                                               "values": tuple(p[1] for p in points)}))
        return result.model_copy(update={"series": tuple(series)})

    return bundle.model_copy(update={k: shuffle(getattr(bundle, k)) for k in (
        "requests", "latencies", "instances", "connector_instances", "connector_cpu", "connector_bytes",
        "connector_sent_bytes", "sql_up")})


# --- the plain scans -------------------------------------------------------------------------------


def _series(result: MetricResult | None):
    return result.series if result else ()


def scan_requests(b: EvidenceBundle, window: Window, revision: str | None = None):
    by_class, by_code = Counter(), Counter()
    for s in _series(b.requests):
        if revision is not None and s.label("resource.labels.revision_name") != revision:
            continue
        count = sum(float(p.value) for p in s.points if window.holds(p.end))
        by_class[s.label("metric.labels.response_code_class") or "unknown"] += count
        by_code[s.label("metric.labels.response_code") or "unknown"] += count
    return dict(by_class), dict(by_code)


def scan_per_minute(b: EvidenceBundle, window: Window, code: str):
    total, coded = Counter(), Counter()
    for s in _series(b.requests):
        for p in s.points:
            if window.holds(p.end):
                total[p.end] += float(p.value)
                if s.label("metric.labels.response_code") == code:
                    coded[p.end] += float(p.value)
    return [(t, total[t], coded[t]) for t in sorted(total)]


def scan_p99(b: EvidenceBundle, window: Window):
    per_minute = {}
    for s in _series(b.latencies):
        for p in s.points:
            if window.holds(p.end):
                per_minute[p.end] = max(per_minute.get(p.end, 0.0), float(p.value) / 1000.0)
    return [per_minute[k] for k in sorted(per_minute)]


def scan_values(result: MetricResult | None, window: Window):
    return [float(p.value) for s in _series(result) for p in s.points if window.holds(p.end)]


def check_every_fact(b: EvidenceBundle, window: Window) -> None:
    facts = Facts(b, DiagnosisSettings())
    for revision in (None, OLD, NEW, "other"):
        got = facts.requests(window, revision)
        assert (got.by_class, got.by_code) == scan_requests(b, window, revision)
        assert facts.requests(window, revision) is got          # computed once per window and revision
    for code in ("503", "429", "200", "999"):
        assert facts.per_minute(window, code) == scan_per_minute(b, window, code)
    assert facts.p99_seconds(window) == scan_p99(b, window)
    assert [p99 for _, p99 in facts.p99_by_minute(window)] == scan_p99(b, window)
    assert facts.p99_by_minute(window) is facts.p99_by_minute(window)   # computed once per window
    down = facts.sql_down(window)
    assert facts.sql_down(window) is down and down == Facts(b, DiagnosisSettings())._sql_down_in(window)
    assert facts.minutes_with_requests(window) == len({p.end for s in _series(b.requests) for p in s.points
                                                        if window.holds(p.end)})
    assert facts.revision_names_with_requests(window) == sorted(
        {s.label("resource.labels.revision_name") for s in _series(b.requests)
         if any(window.holds(p.end) for p in s.points)} - {""})
    for revision in (OLD, NEW):
        values = [float(p.value) for s in _series(b.instances) if s.label("resource.labels.revision_name") == revision
                  for p in s.points if window.holds(p.end)]
        assert facts.max_instances_seen(window, revision) == max(values, default=None)
    for result in (b.connector_instances, b.connector_cpu, b.connector_bytes, b.connector_sent_bytes):
        assert facts.connector_values(result, window) == scan_values(result, window)
    assert facts.sql_up_values(window) == {s.label("resource.labels.database_id"): [
        float(p.value) for p in s.points if window.holds(p.end)] for s in _series(b.sql_up)}
    assert facts.data_until == b.requests.latest
    assert facts.refused_minutes == facts.per_minute_where(facts.incident, refused_series)
    for revision in b.revisions:   # kept by creation time: the answer for any revision created then
        assert facts.replaced(revision) == Facts(b, DiagnosisSettings())._replacing(revision)


BUSY = _busy()
WINDOWS = {
    "the incident": Window(at(-15), at(2)),
    "a whole day and more": Window(at(-2000), at(5)),
    "the baseline before the deploy": Window(at(-20 - 1440), at(-20)),
    "bounds on minute ends": Window(at(-12), at(-11)),
    "between two minutes": Window(at(-12) + timedelta(seconds=1), at(-11) - timedelta(seconds=1)),
    "empty": Window(at(0), at(0)),
    "after the data": Window(at(3), at(60)),
    "before the data": Window(at(-3000), at(-2000)),
}


@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize("seed", [None, 1, 2])
def test_each_window_fact_equals_a_plain_scan(name, seed):
    bundle = BUSY if seed is None else _shuffled(BUSY, seed)
    check_every_fact(bundle, WINDOWS[name])


@settings(max_examples=60, deadline=None)
@given(st.integers(-1500, 5), st.integers(0, 1500), st.integers(0, 59), st.booleans())
def test_random_windows_equal_a_plain_scan(start, length, seconds, shuffle):
    bundle = _shuffled(BUSY, start) if shuffle else BUSY
    begin = at(start) + timedelta(seconds=seconds)
    check_every_fact(bundle, Window(begin, begin + timedelta(minutes=length)))


def _one_series(points: list[tuple[float, object]]) -> EvidenceBundle:
    base = Evidence().revision(OLD, -300).traffic(**{OLD: 100}).bundle()
    series = MetricSeries(resource_labels={"revision_name": OLD},
                          metric_labels={"response_code": "200", "response_code_class": "2xx"},
                          points=tuple(MetricPoint(end=at(m), value=v) for m, v in points))
    return base.model_copy(update={"requests": MetricResult(query="q", series=(series,))})


def test_repeated_minutes_are_all_counted():
    b = _one_series([(1, 5.0), (2, 1.0), (2, 2.0), (3, 4.0)])
    check_every_fact(b, Window(at(1), at(3)))
    assert Facts(b, DiagnosisSettings()).requests(Window(at(1), at(2))).total == 3.0


def test_a_value_that_is_not_a_number_fails_only_where_a_window_holds_it():
    b = _one_series([(1, 5.0), (2, "n/a"), (3, 4.0)])
    facts = Facts(b, DiagnosisSettings())
    assert facts.requests(Window(at(2), at(3))).total == 4.0
    with pytest.raises(ValueError):
        facts.requests(Window(at(1), at(3)))


# --- the log pass ------------------------------------------------------------------------------------


def test_log_matches_keep_the_reads_order_and_filter_by_revision():
    texts = ["dial tcp 10.20.0.3:5432: i/o timeout", "GET / 200",
             "The request has been terminated because it has reached the maximum request timeout.",
             "Container failed to start", "dial tcp 10.20.0.3:5432: i/o timeout"]
    entries = tuple(LogRecord(timestamp=T0 - timedelta(seconds=i), log_id="run.googleapis.com/stderr", text=t,
                              resource_labels={"revision_name": (OLD, NEW)[i % 2]}) for i, t in enumerate(texts))
    b = Evidence().bundle().model_copy(update={"logs": LogResult(query="q", entries=entries)})
    facts = Facts(b, DiagnosisSettings())
    for signal in LogSignal:
        for revision in (None, OLD, NEW):
            expected = [e for e in entries if signal in signals_in(e)
                        and (revision is None or e.resource_labels.get("revision_name") == revision)]
            assert facts.log_matches(signal, revision) == expected
    assert [e.text for e in facts.log_matches(LogSignal.DB_CONNECTION)] == [texts[0], texts[4]]


def test_top_error_texts_group_numbers_and_keep_the_first_wording():
    from shared.diagnosis.narrative import top_error_texts
    e = (Evidence().log(-3, "  slow request 120 ms id=7  ", count=2).log(-2, "slow request 999 ms id=8", count=3)
         .log(-1, "cache miss", count=4, severity="INFO").log(-1, "pool exhausted", count=4, severity="WARNING"))
    facts = Facts(e.bundle(), DiagnosisSettings())
    # Entries are newest first: the first text of the group in the read is the 999 ms one.
    assert top_error_texts(facts) == [("slow request 999 ms id=8", 5), ("pool exhausted", 4)]


# --- clock text and error counts -----------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.datetimes(timezones=st.one_of(st.none(), st.timezones())))
def test_clock_text_is_what_strftime_writes(moment):
    """hms writes exactly what "%H:%M:%S" writes: the datetime's own fields, naive or aware, no conversion."""
    from shared.diagnosis.facts import hms
    assert hms(moment) == moment.strftime("%H:%M:%S") == f"{moment:%H:%M:%S}"


def test_window_text_is_its_ends_formatted():
    window = Window(at(-15), at(0))
    assert str(window) == f"({at(-15):%H:%M:%S}, {at(0):%H:%M:%S}]"


_SEVERITIES = ("DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY", "DEFAULT")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(("", "a", "b 1", "b 2", "dial tcp 10.0.0.1:5432: i/o timeout", " c ")),
                          st.sampled_from(_SEVERITIES)), max_size=30),
       st.booleans())
def test_error_counts_are_the_warning_texts_counted(rows, every_entry_an_error):
    """The index's counts of warning-or-worse texts are Counter(error_texts()) in the read's order,
    whether every entry is one (the read's own counts, shared or copied) or not; and asking for
    them, or for the top texts, leaves the read's counts as they were."""
    from shared.diagnosis.facts import LogIndex
    if every_entry_an_error:
        rows = [(text, "ERROR") for text, _ in rows]
    e = Evidence()
    for i, (text, severity) in enumerate(rows):
        e.log(-1 - i / 100, text, severity=severity)
    index = LogIndex(e.bundle().logs.entries if e.logs else ())
    counted = Counter(index.texts)
    expected = Counter(index.error_texts())
    assert index._error_counts() == expected and list(index._error_counts()) == list(expected)
    index.top_error_texts(3)
    assert index._counts == counted and list(index._counts) == list(counted)
    assert index._error_counts() == expected


@pytest.mark.parametrize("open_for, judged_from", [
    (timedelta(minutes=2), T0),                                   # the first notification: from the start
    (timedelta(minutes=30), T0),                                  # exactly the bound: still from the start
    (timedelta(hours=3), T0 + timedelta(hours=3) - timedelta(minutes=30)),   # re-notified: its last 30 min
])
def test_an_incident_open_long_is_judged_on_its_last_minutes(open_for, judged_from):
    from shared.diagnosis.collection import judged_since

    settings = DiagnosisSettings()
    assert judged_since(T0, settings, T0 + open_for) == judged_from
    bundle = _busy().model_copy(update={"judged_from": judged_from if judged_from != T0 else None})
    facts = Facts(bundle, settings)
    assert facts.incident.start == judged_from - timedelta(seconds=settings.lookback_seconds)
    assert bundle.incident_started_at == T0   # the start still names the deploy suspect and the audit reach


# --- a read's columns (evidence.Entries) ---------------------------------------------------------------

_ROWS = st.lists(st.tuples(st.sampled_from(("", "a", "b 1", "b 2", "dial tcp 10.0.0.1:5432: i/o timeout",
                                            "FATAL: sorry, too many clients already", " c ",
                                            "The request has been terminated because it has reached the maximum "
                                            "request timeout.")),
                           st.sampled_from(_SEVERITIES)), max_size=30)


def _read(rows) -> tuple[LogRecord, ...]:
    return tuple(LogRecord(timestamp=T0 - timedelta(seconds=i), log_id="run.googleapis.com/stderr", text=text,
                           severity=severity, resource_labels={"revision_name": (OLD, NEW)[i % 2]})
                 for i, (text, severity) in enumerate(rows))


@settings(max_examples=150, deadline=None)
@given(_ROWS)
def test_a_validated_read_carries_its_columns(rows):
    """A read built with validation (as the Logging adapter builds it, or from JSON) holds Entries:
    its texts and severities, in order, equal to a plain tuple of the same records; round-tripped
    through JSON and pickle it carries them again."""
    import pickle

    from shared.diagnosis.evidence import Entries
    entries = _read(rows)
    for result in (LogResult(query="q", entries=entries), LogResult.model_validate({"query": "q", "entries": entries})):
        assert type(result.entries) is Entries and result.entries == entries
        assert result.entries.texts == tuple(e.text for e in entries)
        assert result.entries.severities == tuple(e.severity for e in entries)
        for again in (LogResult.model_validate_json(result.model_dump_json()), pickle.loads(pickle.dumps(result))):
            assert again == result and type(again.entries) is Entries
            assert again.entries.texts == result.entries.texts and again.entries.severities == result.entries.severities
        assert result.model_dump() == LogResult.model_construct(query="q", entries=entries, truncated=False).model_dump()


@settings(max_examples=150, deadline=None)
@given(_ROWS)
def test_the_index_is_the_same_with_the_columns_or_without(rows):
    """The log index of a read with its columns and of the same records in a plain tuple (a
    model_copy update, model_construct) agree on everything a rule reads."""
    from shared.diagnosis.evidence import Entries
    from shared.diagnosis.facts import LogIndex
    entries = _read(rows)
    with_columns, plain = LogIndex(Entries(entries)), LogIndex(entries)
    assert with_columns.by_signal == plain.by_signal
    assert list(with_columns.error_texts()) == list(plain.error_texts())
    assert with_columns._error_counts() == plain._error_counts()
    assert list(with_columns._error_counts()) == list(plain._error_counts())
    assert with_columns.top_error_texts(3) == plain.top_error_texts(3)
    copied = LogResult(query="q", entries=entries).model_copy(update={"entries": entries})
    assert type(copied.entries) is tuple and LogIndex(copied.entries).by_signal == plain.by_signal


def test_the_index_reads_the_columns():
    """The index takes the texts and severities from the columns when the read has them: a column
    that disagreed with its records would change what it finds (so the columns are what it reads)."""
    from shared.diagnosis.evidence import Entries
    from shared.diagnosis.facts import LogIndex
    entries = _read([("dial tcp 10.0.0.1:5432: i/o timeout", "ERROR"), ("GET / 200", "INFO")])
    wrong = Entries(entries)
    wrong.texts = ("GET / 200", "dial tcp 10.0.0.1:5432: i/o timeout")
    wrong.severities = ("ERROR", "INFO")
    assert LogIndex(wrong).by_signal != LogIndex(entries).by_signal
    assert list(LogIndex(wrong).error_texts()) != list(LogIndex(entries).error_texts())


# --- what several rules read of the log read, read once ---------------------------------------------

_LOGS = ("run.googleapis.com/stderr", "run.googleapis.com/stdout", "run.googleapis.com/requests",
         "run.googleapis.com/varlog/system", "cloudaudit.googleapis.com/activity")
_ENTRY_ROWS = st.lists(st.tuples(st.sampled_from(_LOGS), st.sampled_from(_SEVERITIES),
                                 st.sampled_from(("dial tcp 10.0.0.1:5432: i/o timeout", "GET / 200",
                                                  "FATAL: sorry, too many clients already", "",
                                                  "connection refused (pool timeout)")),
                                 st.integers(min_value=-1500, max_value=120)), max_size=25)


def _entries(rows) -> tuple[LogRecord, ...]:
    return tuple(LogRecord(timestamp=T0 + timedelta(seconds=seconds), log_id=log, severity=severity, text=text,
                           resource_labels={"revision_name": (OLD, NEW)[i % 2]})
                 for i, (log, severity, text, seconds) in enumerate(rows))


@settings(max_examples=150, deadline=None)
@given(_ENTRY_ROWS)
def test_the_applications_own_lines_are_its_stderr_and_stdout_in_the_reads_order(rows):
    """LogIndex.app: the entries of the application's own logs (stderr, stdout), in the read's order,
    and which of them were logged at ERROR or worse: what the rules' passes over the application's
    failure lines read (connector_saturation, bad_revision), taken once per read."""
    from shared.diagnosis.facts import APP_LOGS, FAILED_SEVERITIES, LogIndex
    entries = _entries(rows)
    index = LogIndex(entries)
    assert index.app == tuple(e for e in entries if e.log_id in APP_LOGS)
    assert index.app_failed == tuple(e for e in entries if e.log_id in APP_LOGS and e.severity in FAILED_SEVERITIES)
    assert APP_LOGS == {"run.googleapis.com/stderr", "run.googleapis.com/stdout"}
    assert FAILED_SEVERITIES == {"ERROR", "CRITICAL", "ALERT", "EMERGENCY"}


@pytest.mark.parametrize("failing_from", [None, -1500, -600, -90, 0, 60])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_database_lines_split_at_the_failing_window_once_per_signal(failing_from, seed):
    """database_lines and database_lines_before are the signal's lines from the failing window's start
    on and before it (all and none when no minute failed or the failures began with the window), in
    the read's order, whatever order the read is in; each signal's lines are split once however many
    rules ask (the log index's filed lines are read once per signal), and a caller changing the list
    it got changes nothing the next one gets."""
    from functools import cached_property
    rng = random.Random(seed)
    rows = [("run.googleapis.com/stderr", "ERROR", rng.choice(("dial tcp 10.0.0.1:5432: i/o timeout",
                                                                "FATAL: sorry, too many clients already",
                                                                "GET / 200")), rng.randint(-1000, 100))
            for _ in range(40)]
    entries = _entries(rows)
    b = Evidence().bundle().model_copy(update={"logs": LogResult(query="q", entries=entries)})
    facts = Facts(b, DiagnosisSettings())
    start = None if failing_from is None else T0 + timedelta(seconds=failing_from)
    facts.__dict__["failing_window"] = None if start is None else Window(start, T0 + timedelta(seconds=600))
    assert isinstance(Facts.__dict__["failing_window"], cached_property)
    read = []
    index = facts.logs
    original = index.by_signal
    class Counting(dict):
        def get(self, signal, default=None):
            read.append(signal)
            return original.get(signal, default)
    index.by_signal = Counting(original)
    for signal in (LogSignal.DB_CONNECTION, LogSignal.DB_REFUSED):
        found = [e for e in entries if signal in signals_in(e)]
        whole = start is None or start <= facts.incident.start
        after = found if whole else [e for e in found if e.timestamp >= start]
        before = [] if whole else [e for e in found if e.timestamp < start]
        for _ in range(3):
            got = facts.database_lines(signal)
            assert got == after
            got.append(None)
            assert facts.database_lines_before(signal) == before
        assert read.count(signal) == 1


# --- a window in words -------------------------------------------------------------------------------


@pytest.mark.parametrize("start, end, text", [
    # On one day its times of day say it.
    (at(-60), at(0), "(11:00:00, 12:00:00]"),
    # A day's baseline (baseline_seconds up to 24 h) read "(12:00:00, 12:00:00]": empty, yet holding requests.
    (at(-1440), at(0), "(2026-11-25 12:00:00, 2026-11-26 12:00:00]"),
    # Across midnight the start's time of day is later than the end's.
    (at(-750), at(-690), "(2026-11-25 23:30:00, 2026-11-26 00:30:00]"),
])
def test_a_window_names_its_dates_when_its_ends_are_on_different_days(start, end, text):
    assert str(Window(start, end)) == text


def test_a_days_baseline_is_cited_as_the_day_it_is_not_an_empty_interval():
    """The evidence of a deploy judged against a day's baseline (the LARGE settings of
    bench/diagnosis_identity.py): no interval in it reads empty, and the baseline names its dates."""
    from shared.diagnosis.diagnose import diagnose
    from tests.unit.builders import deploy_failing

    e = deploy_failing(OLD, NEW, [("boom", 3)], old_settings={}, new_settings={})
    d = diagnose(e.bundle(), DiagnosisSettings(baseline_seconds=24 * 3600))

    texts = [f"{i.observed} {i.threshold}" for i in d.evidence]
    empty = [t for t in texts for a, b in re.findall(r"\(([^,()]+), ([^,()]+)\]", t) if a == b]
    assert not empty, empty
    assert any(f"{OLD} before the deploy (2026-11-25 11:54:00, 2026-11-26 11:54:00]" in t for t in texts), texts
