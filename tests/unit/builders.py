"""A small builder for evidence bundles, so unit tests read as the situation they describe.

Times are minutes relative to the incident start T0; metric points are one per minute.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import (AlertContext, Condition, Connector, EvidenceBundle, LogRecord, LogResult,
                                       MetricPoint, MetricResult, MetricSeries, Revision, SecretRef, Service,
                                       TrafficTarget, TrafficType)
from shared.diagnosis.signatures import Diagnosis, Signature

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
PROJECT = "demo"
SERVICE = f"projects/{PROJECT}/locations/us-central1/services/backend"
# httpRequest.userAgent of a request-log line: Cloud Monitoring's uptime checker's, and a caller's.
UPTIME = "GoogleStackdriverMonitoring-UptimeChecks(https://cloud.google.com/monitoring)"
CALLER = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36"
CONNECTOR = f"projects/{PROJECT}/locations/us-central1/connectors/backend-conn"
SQL = f"{PROJECT}:us-central1:main-db"
READY = (Condition(type="Ready", state="CONDITION_SUCCEEDED"),)
FAILED = (Condition(type="Ready", state="CONDITION_FAILED", reason="HEALTH_CHECK_CONTAINER_ERROR"),)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _minutes(start: float, end: float):
    m = int(start) + 1
    while m <= end:
        yield m
        m += 1


class Evidence:
    def __init__(self, now: float = 2, read_after: float = 3) -> None:
        self.now = now
        # Minutes between the newest point and the read: Monitoring's ingest lag (facts.INGEST_LAG, 180 s), so
        # that every minute up to `now` is whole (Facts.whole_line); 0 reads minutes still arriving.
        self.read_after = read_after
        self.revs: list[Revision] = []
        self.split: dict[str, int] = {}
        self.tags: list[tuple[str, str]] = []
        self.req: dict[tuple[str, str], dict[int, float]] = {}
        self.uptime_req: dict[tuple[str, str], dict[int, float]] = {}   # the part of `req` uptime checks sent
        self.lat: dict[str, dict[int, float]] = {}
        self.lat_p50: dict[str, dict[int, float]] = {}
        self.inst: dict[str, dict[int, float]] = {}
        self.conn: Connector | None = None
        # "bytes": received_bytes_count, "sent_bytes": sent_bytes_count (bytes/s per minute)
        self.conn_series: dict[str, dict[int, float]] = {"instances": {}, "cpu": {}, "bytes": {}, "sent_bytes": {}}
        self.sql: dict[str, dict[int, float]] = {}
        self.sql_cpu_values: dict[str, dict[int, float]] = {}
        self.sql_connection_values: dict[str, dict[int, float]] = {}
        self.logs: list[LogRecord] = []
        self.audits: list[LogRecord] = []
        self.sql_audits: list[LogRecord] = []
        self.etag = "etag-1"
        self.collected = {"requests", "latencies", "instances"}

    # --- Cloud Run -----------------------------------------------------------------------
    def revision(self, name: str, created: float, ready: bool = True, *, connector: str | None = CONNECTOR,
                 sql: tuple[str, ...] = (), timeout: float = 300, max_instances: int | None = None,
                 conditions: tuple[Condition, ...] | None = None, service_account: str = "",
                 concurrency: int | None = None, memory_mib: float | None = None,
                 egress: str | None = None, network_interfaces: tuple[str, ...] = (),
                 env: tuple[str, ...] = (), secrets: tuple[SecretRef, ...] = (),
                 plain_env: tuple[tuple[str, str], ...] = (), images: tuple[str, ...] = (),
                 creator: str = "") -> "Evidence":
        # Conditions given are kept as given; the default Ready (or failed) one is dated at the revision's creation,
        # as Cloud Run dates it (Condition.last_transition_time) for a revision that starts at once.
        default = tuple(c.model_copy(update={"last_transition_time": at(created)}) for c in (READY if ready else FAILED))
        self.revs.append(Revision(name=f"{SERVICE}/revisions/{name}", service=SERVICE, create_time=at(created),
                                  conditions=conditions if conditions is not None else default,
                                  vpc_connector=connector, cloudsql_instances=sql, timeout_seconds=timeout,
                                  max_instance_count=max_instances, service_account=service_account,
                                  container_concurrency=concurrency, memory_mib=memory_mib, vpc_egress=egress,
                                  vpc_network_interfaces=network_interfaces,
                                  env_values=env or tuple(value for _, value in plain_env), plain_env=plain_env,
                                  secrets=secrets, images=images, creator=creator))
        return self

    def traffic(self, **split: int) -> "Evidence":
        self.split = {k.replace("_", "-"): v for k, v in split.items()}
        return self

    def tag(self, revision: str, tag: str) -> "Evidence":
        """A tagged entry at 0% for `revision`: its own URL, no share of the split."""
        self.tags.append((revision, tag))
        return self

    # --- Monitoring ----------------------------------------------------------------------
    def requests(self, revision: str, start: float, end: float, per_minute: float, code: str = "200") -> "Evidence":
        points = self.req.setdefault((revision, code), {})
        for m in _minutes(start, min(end, self.now)):
            points[m] = points.get(m, 0) + per_minute
        return self

    def uptime(self, revision: str, start: float, end: float, per_minute: float, code: str = "200") -> "Evidence":
        """Cloud Monitoring's uptime checks on the service's URL: `per_minute` requests a minute in
        request_count (which does not say who sent them) and, in the request log, lines with the
        checker's User-Agent."""
        self.requests(revision, start, end, per_minute, code)
        points = self.uptime_req.setdefault((revision, code), {})
        for m in _minutes(start, min(end, self.now)):
            points[m] = points.get(m, 0) + per_minute
        return self

    def request_log(self, since: float, *, callers_kept: float = 1.0, uptime_kept: float = 1.0,
                    page: int = 1000) -> LogResult:
        """The request log of the minutes after `since`, newest first, as the sweep reads it (at most
        `page` lines, `truncated` past them): a line per request counted (Cloud Run logs every request),
        the uptime checks' with their agent; `callers_kept`/`uptime_kept`: the share of each an exclusion
        filter leaves (0: the log not kept)."""
        lines: list[LogRecord] = []
        for (rev, code), points in self.req.items():
            uptime = self.uptime_req.get((rev, code), {})
            owed = {UPTIME: 0.0, CALLER: 0.0}     # a fraction a minute: its lines fall in the minutes it adds up in
            for m, n in sorted(points.items()):
                if m <= since:
                    continue
                checks = uptime.get(m, 0)
                for agent, share in ((UPTIME, checks * uptime_kept), (CALLER, (n - checks) * callers_kept)):
                    owed[agent] += share
                    count = int(owed[agent] + 1e-9)
                    owed[agent] -= count
                    for i in range(count):
                        lines.append(LogRecord(
                            timestamp=at(m) - timedelta(seconds=59.0 * (i + 1) / (count + 1)),
                            log_id="run.googleapis.com/requests", severity="ERROR" if code >= "500" else "INFO",
                            resource_type="cloud_run_revision",
                            resource_labels={"service_name": "backend", "revision_name": rev},
                            http_status=int(code), user_agent=agent))
        lines.sort(key=lambda e: e.timestamp, reverse=True)
        return LogResult(query="request log", entries=tuple(lines[:page]), truncated=len(lines) > page)

    def latency(self, revision: str, start: float, end: float, p99_seconds: float) -> "Evidence":
        for m in _minutes(start, min(end, self.now)):
            self.lat.setdefault(revision, {})[m] = p99_seconds * 1000
        return self

    def median(self, revision: str, start: float, end: float, p50_seconds: float) -> "Evidence":
        """The revision's median latency per minute (request_latencies p50, from the p99's read)."""
        for m in _minutes(start, min(end, self.now)):
            self.lat_p50.setdefault(revision, {})[m] = p50_seconds * 1000
        return self

    def instances(self, revision: str, start: float, end: float, count: float) -> "Evidence":
        for m in _minutes(start, min(end, self.now)):
            self.inst.setdefault(revision, {})[m] = count
        return self

    def connector(self, machine_type: str = "e2-micro", min_instances: int = 2, max_instances: int = 3,
                  state: str = "READY", ip_cidr_range: str = "", name: str = CONNECTOR) -> "Evidence":
        self.conn = Connector(name=name, state=state, machine_type=machine_type, min_instances=min_instances,
                              max_instances=max_instances, ip_cidr_range=ip_cidr_range)
        return self

    def connector_metric(self, which: str, start: float, end: float, value: float) -> "Evidence":
        for m in _minutes(start, min(end, self.now)):
            self.conn_series[which][m] = value
        return self

    def sql_up(self, start: float, end: float, value: float, db: str = SQL) -> "Evidence":
        for m in _minutes(start, min(end, self.now)):
            self.sql.setdefault(db, {})[m] = value
        return self

    def sql_cpu(self, start: float, end: float, value: float, db: str = SQL) -> "Evidence":
        """database/cpu/utilization (a fraction of the reserved CPU) per minute."""
        for m in _minutes(start, min(end, self.now)):
            self.sql_cpu_values.setdefault(db, {})[m] = value
        return self

    def sql_connections(self, start: float, end: float, value: float, db: str = SQL) -> "Evidence":
        """database/postgresql/num_backends summed over the instance's databases, per minute."""
        for m in _minutes(start, min(end, self.now)):
            self.sql_connection_values.setdefault(db, {})[m] = value
        return self

    def missing(self, *sources: str) -> "Evidence":
        self.collected -= set(sources)
        return self

    # --- Logging -------------------------------------------------------------------------
    def log(self, minute: float, text: str, revision: str = "", count: int = 1,
            log_id: str = "run.googleapis.com/stderr", severity: str = "ERROR",
            status: int | None = None) -> "Evidence":
        for i in range(count):
            self.logs.append(LogRecord(timestamp=at(minute) + timedelta(seconds=i), log_id=log_id, severity=severity,
                                       resource_type="cloud_run_revision",
                                       resource_labels={"service_name": "backend", "revision_name": revision},
                                       text=text, http_status=status))
        return self

    def audit(self, minute: float, principal: str, method: str = "google.cloud.run.v2.Services.UpdateService"):
        self.audits.append(LogRecord(timestamp=at(minute), log_id="cloudaudit.googleapis.com/activity",
                                     severity="NOTICE", text=method, method_name=method,
                                     resource_name=SERVICE, principal=principal))
        return self

    def sql_user_changed(self, minute: float, principal: str, method: str = "cloudsql.users.update",
                         instance: str = "main-db", status: int | None = None, user: str | None = None,
                         host: str | None = None):
        """An Admin Activity entry of a database user changed on the Cloud SQL instance `instance` (`user`: the
        user its request names, None for none; `host`: the MySQL account's host it names, None for none)."""
        self.sql_audits.append(LogRecord(timestamp=at(minute), log_id="cloudaudit.googleapis.com/activity",
                                         severity="NOTICE", text=method, method_name=method,
                                         resource_type="cloudsql_database",
                                         resource_labels={"database_id": f"{PROJECT}:{instance}"},
                                         resource_name=f"projects/{PROJECT}/instances/{instance}",
                                         principal=principal, status_code=status, sql_user=user,
                                         sql_user_host=host))
        return self

    # --- the bundle ----------------------------------------------------------------------
    def bundle(self) -> EvidenceBundle:
        targets = tuple(TrafficTarget(type=TrafficType.REVISION, revision=r, percent=p) for r, p in self.split.items())
        targets += tuple(TrafficTarget(type=TrafficType.REVISION, revision=r, percent=0, tag=t) for r, t in self.tags)
        service = Service(name=SERVICE, generation=3, etag=self.etag, traffic=targets, traffic_statuses=targets)
        sql = tuple(dict.fromkeys(s for r in self.revs for s in r.cloudsql_instances))
        return EvidenceBundle(
            incident_started_at=T0, collected_at=at(self.now + self.read_after), service=service,
            revisions=tuple(sorted(self.revs, key=lambda r: r.create_time)),
            requests=self._requests() if "requests" in self.collected else None,
            latencies=self._by_revision("request_latencies", self.lat) if "latencies" in self.collected else None,
            latencies_p50=(self._by_revision("request_latencies p50", self.lat_p50)
                           if "latencies" in self.collected and self.lat_p50 else None),
            instances=self._by_revision("instance_count", self.inst) if "instances" in self.collected else None,
            connector=self.conn,
            connector_instances=self._single("connector/instances", self.conn_series["instances"]),
            connector_cpu=self._single("connector/cpu", self.conn_series["cpu"]),
            connector_bytes=self._single("connector/bytes", self.conn_series["bytes"]),
            connector_sent_bytes=self._single("connector/sent_bytes", self.conn_series["sent_bytes"]),
            sql_instances=sql,
            sql_up=MetricResult(query="cloudsql database/up", series=tuple(
                MetricSeries(resource_labels={"database_id": db.split(":")[0] + ":" + db.split(":")[2]},
                             points=_points(v)) for db, v in self.sql.items())) if self.sql else None,
            sql_cpu=MetricResult(query="cloudsql database/cpu/utilization", series=tuple(
                MetricSeries(resource_labels={"database_id": db.split(":")[0] + ":" + db.split(":")[2]},
                             points=_points(v)) for db, v in self.sql_cpu_values.items())) if self.sql_cpu_values else None,
            sql_connections=MetricResult(query="cloudsql database/postgresql/num_backends", series=tuple(
                MetricSeries(resource_labels={"database_id": db.split(":")[0] + ":" + db.split(":")[2]},
                             points=_points(v)) for db, v in self.sql_connection_values.items()))
            if self.sql_connection_values else None,
            logs=LogResult(query="app logs", entries=tuple(sorted(self.logs, key=lambda e: e.timestamp, reverse=True))),
            audit=LogResult(query="audit", entries=tuple(self.audits)),
            sql_audit=LogResult(query="audit", entries=tuple(self.sql_audits)),
            api_calls=9,
        )

    def _requests(self) -> MetricResult:
        series = tuple(MetricSeries(resource_labels={"revision_name": rev},
                                    metric_labels={"response_code": code, "response_code_class": f"{code[0]}xx"},
                                    points=_points(points)) for (rev, code), points in self.req.items())
        return MetricResult(query="request_count by revision, class, code", series=series)

    @staticmethod
    def _by_revision(name: str, data: dict[str, dict[int, float]]) -> MetricResult:
        return MetricResult(query=name, series=tuple(MetricSeries(resource_labels={"revision_name": rev},
                                                                  points=_points(v)) for rev, v in data.items()))

    @staticmethod
    def _single(name: str, data: dict[int, float]) -> MetricResult | None:
        return MetricResult(query=name, series=(MetricSeries(points=_points(data)),)) if data else None


def _points(values: dict[int, float]) -> tuple[MetricPoint, ...]:
    return tuple(MetricPoint(end=at(m), value=v) for m, v in sorted(values.items()))


# --- situations several test files build -------------------------------------------------

# Cloud Run's system log, where it writes an instance's exit.
RUN_SYSTEM_LOG = "run.googleapis.com/varlog/system"


def deploy_failing(old: str, new: str, lines: Iterable[tuple[str, int]], *, old_settings: dict[str, Any],
                   new_settings: dict[str, Any], canary: bool = False, starts: int = 0) -> Evidence:
    """`new` replaced `old` 6 minutes ago, both on the database SQL through the connector (3 max instances,
    2 in use, CPU 30 %, 2 MB/s; the database up): `old` served 40 requests a minute at 0.2 s before it, `new`
    serves 34 a minute since, 20 of them 500 (59 %), and logs `lines` (text, count) at ERROR at -5.
    `old_settings`/`new_settings`: Evidence.revision's keywords of each (the env, secrets and account the
    deploy kept or changed). With `canary`, `old` keeps 90 % of the traffic beside it, cleanly (300 a
    minute); else `new` has it all. `starts`: that many of Cloud Run's exits of a `new` instance that failed to
    start, in its system log at -5."""
    e = (Evidence().revision(old, -300, sql=(SQL,), **old_settings).revision(new, -6, sql=(SQL,), **new_settings)
         .requests(old, -90, -6, 40).latency(old, -90, -6, 0.2)
         .requests(new, -6, 5, 14).requests(new, -6, 5, 20, code="500").latency(new, -6, 5, 0.5)
         .connector(max_instances=3).connector_metric("instances", -40, 5, 2).connector_metric("cpu", -40, 5, 0.3)
         .connector_metric("bytes", -40, 5, 2e6).sql_up(-40, 5, 1))
    if canary:
        e.traffic(**{old: 90, new: 10}).requests(old, -6, 5, 300).latency(old, -6, 5, 0.2)
    else:
        e.traffic(**{new: 100})
    for text, count in lines:
        e.log(-5, text, new, count=count)
    if starts:
        e.log(-5, "Container called exit(1).", new, count=starts, log_id=RUN_SYSTEM_LOG, severity="WARNING")
    return e


# A Cloud Run 5xx-ratio alert at 5 % (request_count, response_code_class 5xx over all requests).
FIVE_XX_RATIO = AlertContext(resource_type="cloud_run_revision", metric_type="run.googleapis.com/request_count",
                             comparison="COMPARISON_GT", threshold=0.05, metric_labels={"response_code_class": "5xx"},
                             ratio=True)


def healthy_or_escalated(evidence: Evidence, alert: AlertContext | None, settings: DiagnosisSettings, healthy: bool,
                         words: str, why: str) -> Diagnosis:
    """The alert path's diagnosis of `evidence` under `alert`: `healthy` when expected; else escalated
    (inconclusive, no suspect revision) with `words` and `why` in its summary. Returned for further checks."""
    d = diagnose(evidence.bundle().model_copy(update={"alert": alert}), settings)
    assert (d.signature is Signature.HEALTHY) is healthy, d.summary
    if not healthy:
        assert d.signature is Signature.INCONCLUSIVE and not d.suspect_revision, d.summary
        assert words in d.summary and why in d.summary, d.summary
    return d


def healthy_or_held(evidence: Evidence, alert: AlertContext | None, settings: DiagnosisSettings,
                    healthy: bool) -> Diagnosis:
    """The alert path's diagnosis of `evidence` under `alert`: `healthy` when expected; else inconclusive
    with nothing planned (no rollback, no scale). Returned for further checks."""
    bundle = evidence.bundle().model_copy(update={"alert": alert})
    if not healthy:
        return held(bundle, settings)
    d = diagnose(bundle, settings)
    assert d.signature is Signature.HEALTHY, d.summary
    return d


def held(bundle: EvidenceBundle, settings: DiagnosisSettings) -> Diagnosis:
    """The diagnosis of `bundle`, asserted inconclusive with nothing planned (no rollback, no scale)."""
    from shared.remediation.planning import plan

    d = diagnose(bundle, settings)
    assert d.signature is Signature.INCONCLUSIVE, d.summary
    assert plan(d, bundle, settings).action is None
    return d
