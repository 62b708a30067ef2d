"""The deployed settings agree with the code's own waits: function timeout, ack deadline, retry.

Every number on the code side is read from the code (constructor defaults, CallPolicy,
config defaults), so changing a wait there without changing infra/ fails here.
"""
from __future__ import annotations

import inspect

from shared.config import Guardrails
from shared.diagnosis.collection import (ALERT_READS, MAX_API_CALLS, MAX_CONCURRENT_READS, SWEEP_READS,
                                        TARGET_CONNECTOR_READS, TARGET_SECRET_READS)
from shared.gcp.endpoints import CallPolicy
from shared.gcp.pubsub import PubSubPublisher
from shared.gcp.run import CloudRunAdapter
from shared.gcp.secretmanager import SECRET_READ_POLICY
from shared.gcp.vpcaccess import VpcAccessAdapter
from shared.diagnosis.scope import PEER_LOOKUP_SECONDS, PEER_METRICS_SECONDS
from shared.remediation.sweep_budget import (ALERT_AFTER_PEERS_SECONDS, CONNECTOR_OPERATION_WAIT_SECONDS,
                                             DEFAULT_FUNCTION_TIMEOUT_SECONDS, FUNCTION_TIMEOUT_ENV, GATE_SECONDS,
                                             LONGEST_STEP_SECONDS, LOOKUP_SECONDS)
from tests.infra.terraform import ROOT, evaluate, load_module, single

PUBSUB_MAX_ACK_DEADLINE = 600      # Pub/Sub Subscription reference: ackDeadlineSeconds, at most 600
PUBSUB_MIN_BACKOFF = 10            # RetryPolicy.minimumBackoff: 0-600 s, default 10 s


def _default(cls: type, parameter: str) -> float:
    return inspect.signature(cls.__init__).parameters[parameter].default


def longest_operation_wait() -> float:
    return max(_default(CloudRunAdapter, "operation_timeout"), _default(VpcAccessAdapter, "operation_timeout"))


def one_call_with_retries(policy: CallPolicy | None = None) -> float:
    """call_with_retry ends within the policy's longest run: every sleep and attempt deadline is cut to what
    is left of total_timeout (tests/unit/test_call_retry.py drives the loop to it)."""
    return (policy or CallPolicy()).longest_run


def secret_reads_beyond_their_round(policy: CallPolicy | None = None) -> float:
    """What the rollback target's secret version reads add to the slowest alert: only what one of them may run
    past the round it shares. They are planned in the evidence's second round (collection.collect plans them
    before that round's `run`), or, for a promoted suspect, in its last round, whose reads are all in flight at
    once (the pool holds the largest round: tests/unit/test_evidence_round.py), so they overlap its other reads,
    counted below at one call each (the request metrics are in every such round). A secret read runs at most
    SECRET_READ_POLICY.longest_run (its retry included), so it adds that much beyond the round's call, if anything:
    nothing under today's policies."""
    policy = policy or CallPolicy()
    # no read queued in its round
    assert MAX_CONCURRENT_READS >= MAX_API_CALLS + ALERT_READS + TARGET_SECRET_READS + TARGET_CONNECTOR_READS
    return max(0.0, SECRET_READ_POLICY.longest_run - policy.call_timeout) if TARGET_SECRET_READS else 0.0


def diagnosis_reads(policy: CallPolicy | None = None) -> float:
    """Every diagnosis read at one call's timeout (its request log's too; the rollback target's secret versions
    only for what they may run past the round they share)."""
    policy = policy or CallPolicy()
    return (MAX_API_CALLS + ALERT_READS) * policy.call_timeout + secret_reads_beyond_their_round(policy)


def after_the_reads(policy: CallPolicy | None = None) -> float:
    """The write and its operation wait, the read-back, and the outcome publish."""
    policy = policy or CallPolicy()
    return (one_call_with_retries(policy) + longest_operation_wait() + one_call_with_retries(policy)
            + _default(PubSubPublisher, "timeout"))


def peer_reads_end(timeout: float = DEFAULT_FUNCTION_TIMEOUT_SECONDS) -> float:
    """When, from the alert's receipt, the reads of the connector's other users end at the latest
    (sweep_budget.alert_peer_time: no lookup or metrics read is started that could end past it)."""
    return timeout - ALERT_AFTER_PEERS_SECONDS


def alert_budget(policy: CallPolicy | None = None) -> float:
    """The slowest on_alert that still finishes: the diagnosis's reads, then a service alert's reads of its
    connector's other users (scope.service_peers_held), which end by `peer_reads_end` whatever their number,
    then the write and its operation wait, the read-back, and the outcome publish."""
    return max(diagnosis_reads(policy), peer_reads_end()) + after_the_reads(policy)


def test_the_function_timeout_covers_the_longest_wait_and_the_alert_budget() -> None:
    timeout = evaluate(load_module().locals["function_timeout_seconds"])
    assert longest_operation_wait() == 300        # the connector update: if this moves, revisit locals.tf
    assert timeout >= alert_budget(), f"timeout {timeout}s is below the {alert_budget()}s an alert may need"
    assert alert_budget() == 550      # locals.tf's sum: if this moves, revisit its comment and the slack it leaves
    assert timeout <= 3600                         # the longest an HTTP-triggered gen2 function may run


def test_the_peer_reads_end_where_the_diagnosis_reads_do_and_leave_the_gate_its_room() -> None:
    """The connector's other users are read only within what is left of the alert's reads (160 s from its
    receipt): the write, the connector's operation wait, the read-back, the publish and the gate's 20 s come after
    them within the timeout, and one peer at its longest (its lookup and its metrics) still fits after a fast
    diagnosis. Before, they were read whatever the time (three slow peers: 360 s more, past the timeout)."""
    timeout = evaluate(load_module().locals["function_timeout_seconds"])
    assert ALERT_AFTER_PEERS_SECONDS == GATE_SECONDS + after_the_reads()
    assert GATE_SECONDS == timeout - alert_budget() == 20
    assert peer_reads_end(timeout) == diagnosis_reads()
    assert peer_reads_end(timeout) >= PEER_LOOKUP_SECONDS + PEER_METRICS_SECONDS
    assert PEER_LOOKUP_SECONDS == LOOKUP_SECONDS
    assert CONNECTOR_OPERATION_WAIT_SECONDS == _default(VpcAccessAdapter, "operation_timeout")
    unbounded = diagnosis_reads() + 3 * (PEER_LOOKUP_SECONDS + PEER_METRICS_SECONDS) + after_the_reads()
    assert unbounded > timeout, "the model no longer tells a bound on the peers' reads from none"


def collection_wall_seconds(alert: bool) -> float:
    """The longest one collect() may take on the clock, each read at its longest run (CallPolicy.longest_run:
    a read with its retries and, for a paged read, all its pages, endpoints.PageCursor), not at call_timeout.
    Its reads go in sequential rounds (collection.SEQUENTIAL_ROUNDS, counted at the ports in the alert path's
    worst case by tests/integration/test_collection_rounds.py), each round's reads at once on the evidence pool
    (collection.MAX_CONCURRENT_READS threads; the function serves one request at a time,
    max_instance_request_concurrency = 1 in infra/functions.tf): the service and its revisions; then every
    other planned read, in waves of the pool's size; then the log read again without the alert's filter, alone;
    then the last round (the failure lines alone, the candidates' startups, a promoted suspect's reads)."""
    from math import ceil

    from shared.diagnosis.collection import MAX_CONCURRENT_READS, SEQUENTIAL_ROUNDS, UPTIME_READS

    one = one_call_with_retries()
    # An uptime check's alert (and the sweep after one: collect's `check_of`) reads its check's results too.
    second_round = MAX_API_CALLS + UPTIME_READS + (
        ALERT_READS + TARGET_SECRET_READS + TARGET_CONNECTOR_READS if alert else 0) - 2
    return (SEQUENTIAL_ROUNDS - 1) * one + ceil(second_round / MAX_CONCURRENT_READS) * one


def test_a_collection_at_every_reads_longest_run_fits_what_the_budgets_count_it_at() -> None:
    """The alert budget and sweep_budget.COLLECT_SECONDS count each diagnosis read at one call_timeout (10 s),
    one after another: 16 x 10 s. A read may take its longest run (30 s: retries, and a paged read's pages,
    which share the call's total), but the reads run concurrently, in rounds, so the figure counted is above
    what a collection can take on the clock: safe, and held here so a change to the rounds, the pool or the
    policy that made it untrue fails."""
    from shared.remediation.sweep_budget import COLLECT_SECONDS

    policy = CallPolicy()
    counted_on_alert = (MAX_API_CALLS + ALERT_READS) * policy.call_timeout \
        + TARGET_SECRET_READS * SECRET_READ_POLICY.call_timeout
    assert collection_wall_seconds(alert=True) <= counted_on_alert
    # The sweep's collection, then its request log (one read, after the collection: verification.py).
    assert collection_wall_seconds(alert=False) + SWEEP_READS * one_call_with_retries() <= COLLECT_SECONDS


def test_a_round_more_in_the_collection_is_counted_by_the_model() -> None:
    """The model counts collection.SEQUENTIAL_ROUNDS, which tests/integration/test_collection_rounds.py holds to what
    collect() makes: a round more adds one read's longest run to the slowest collection, and the slowest alert's
    collection still fits what the alert budget counts it at (the function timeout, under the ack deadline)."""
    from unittest import mock

    from shared.diagnosis import collection

    one = one_call_with_retries()
    counted_on_alert = (MAX_API_CALLS + ALERT_READS) * CallPolicy().call_timeout \
        + TARGET_SECRET_READS * SECRET_READ_POLICY.call_timeout
    today = collection_wall_seconds(alert=True)
    assert today == collection.SEQUENTIAL_ROUNDS * one == 120.0
    with mock.patch.object(collection, "SEQUENTIAL_ROUNDS", collection.SEQUENTIAL_ROUNDS + 1):
        assert collection_wall_seconds(alert=True) == today + one
    # The room left: two more rounds pass what the budget counts a collection at.
    with mock.patch.object(collection, "SEQUENTIAL_ROUNDS", collection.SEQUENTIAL_ROUNDS + 2):
        assert collection_wall_seconds(alert=True) > counted_on_alert


def test_the_alert_budget_moves_with_the_call_policy() -> None:
    """No hand-written per-call figure: a policy whose calls run longer makes the slowest alert pass the
    function timeout, and this check fails (a one call of 42 s, as the loop before could run, does)."""
    timeout = evaluate(load_module().locals["function_timeout_seconds"])
    assert alert_budget(CallPolicy(total_timeout=42.0, attempts=5)) > timeout
    assert alert_budget(CallPolicy(total_timeout=40.0, attempts=5)) == alert_budget() + 20.0


def test_the_secret_reads_count_only_what_they_may_run_past_their_round() -> None:
    """They overlap the second round's other reads: nothing under today's policies; a secret read allowed to run
    longer than the round's calls counts for the difference (the check can fail)."""
    assert secret_reads_beyond_their_round() == 0.0
    assert secret_reads_beyond_their_round(CallPolicy(call_timeout=4.0)) == SECRET_READ_POLICY.longest_run - 4.0


def test_the_functions_use_that_timeout() -> None:
    config = load_module()
    service = single(config.resource("google_cloudfunctions2_function", "pubsub")["service_config"])
    assert service["timeout_seconds"] == "${local.function_timeout_seconds}"


def sweep_step_budget() -> float:
    """The longest one step of the sweep may take once started: a rollback's judgement (its evidence
    reads), then its undo (the service and its revisions read, the write, Cloud Run's operation wait,
    the read-back), and one outcome publish after the last step; each from the adapters' own defaults."""
    policy = CallPolicy()
    return ((MAX_API_CALLS + SWEEP_READS) * policy.call_timeout + 2 * one_call_with_retries() + one_call_with_retries()
            + _default(CloudRunAdapter, "operation_timeout") + one_call_with_retries()
            + _default(PubSubPublisher, "timeout"))


def test_the_sweep_knows_the_deployed_function_timeout() -> None:
    # The sweep stops starting steps before the timeout (sweep_budget.py): told it by the functions'
    # environment, from the same local as their timeout_seconds; its default is the same number.
    config = load_module()
    service = single(config.resource("google_cloudfunctions2_function", "pubsub")["service_config"])
    env = service["environment_variables"]
    assert f"{FUNCTION_TIMEOUT_ENV} = tostring(local.function_timeout_seconds)" in env
    assert DEFAULT_FUNCTION_TIMEOUT_SECONDS == evaluate(config.locals["function_timeout_seconds"])


def test_the_functions_are_told_their_own_services_in_their_region() -> None:
    """Every function (the timeline too) is told the region and the names of Runwarden's own functions as
    shared/gcp/identity.py reads them: without them, an alert about on_command reaching on_alert was answered
    `skipped` as another team's service, and a config managing one of them was used."""
    from shared.gcp.identity import OWN_SERVICES_ENV, REGION_ENV

    config = load_module()
    env = config.locals["environment"]
    assert env[REGION_ENV] == "${var.region}"
    assert env[OWN_SERVICES_ENV] == '${join(",", local.own_services)}'
    deployed = set(config.locals["own_services"])
    functions = {f["name"] for f in config.locals["functions"].values()} | {
        config.resource("google_cloudfunctions2_function", "timeline")["name"]}
    assert deployed == functions
    for kind in ("pubsub", "timeline"):
        service = single(config.resource("google_cloudfunctions2_function", kind)["service_config"])
        assert "local.environment" in str(service["environment_variables"]), kind


def test_the_sweeps_margin_covers_its_longest_step_and_leaves_it_time() -> None:
    timeout = evaluate(load_module().locals["function_timeout_seconds"])
    assert LONGEST_STEP_SECONDS >= sweep_step_budget(), \
        f"a sweep step may take {sweep_step_budget()} s, over the {LONGEST_STEP_SECONDS} s margin"
    assert LONGEST_STEP_SECONDS == sweep_step_budget(), "the margin is derived from the code: no slack by hand"
    assert timeout - LONGEST_STEP_SECONDS >= 60, "a sweep would have almost no time to start steps in"


def test_a_connector_changes_reads_are_bounded_by_the_longest_one_of_each() -> None:
    """sweep_budget's read bounds, recomputed from the code: one service's evidence at every call's
    timeout, one service's lookup (two calls with their retries), and the step's reads (the longest step
    less the publish after it)."""
    from shared.remediation.sweep_budget import (COLLECT_SECONDS, LOOKUP_SECONDS, PUBLISH_SECONDS,
                                                 RUN_OPERATION_WAIT_SECONDS, STEP_READS_SECONDS)

    assert RUN_OPERATION_WAIT_SECONDS == _default(CloudRunAdapter, "operation_timeout")
    assert PUBLISH_SECONDS == _default(PubSubPublisher, "timeout")

    assert COLLECT_SECONDS >= (MAX_API_CALLS + SWEEP_READS) * CallPolicy().call_timeout
    assert LOOKUP_SECONDS >= 2 * one_call_with_retries()
    assert STEP_READS_SECONDS + _default(PubSubPublisher, "timeout") <= LONGEST_STEP_SECONDS
    assert STEP_READS_SECONDS >= COLLECT_SECONDS + LOOKUP_SECONDS, "a judgement must read at least one service"


def test_the_ack_deadline_is_above_the_function_timeout() -> None:
    config = load_module()
    ack = evaluate(config.locals["ack_deadline_seconds"])
    timeout = evaluate(config.locals["function_timeout_seconds"])
    assert timeout < ack <= PUBSUB_MAX_ACK_DEADLINE
    push = config.resource("google_pubsub_subscription", "push")
    assert push["ack_deadline_seconds"] == "${local.ack_deadline_seconds}"


def test_a_redelivery_after_a_timeout_still_finds_the_claim() -> None:
    # A function cut off at its timeout leaves its claim; the redelivery must see it held: the
    # default and the least the config accepts (Guardrails.claim_ttl_seconds' `ge`, written as a
    # number in shared/config.py) both outlive the deployed timeout, whichever of the two moves.
    import annotated_types

    timeout = evaluate(load_module().locals["function_timeout_seconds"])
    assert Guardrails().claim_ttl_seconds >= timeout
    floor = next(m.ge for m in Guardrails.model_fields["claim_ttl_seconds"].metadata
                 if isinstance(m, annotated_types.Ge))
    assert floor >= timeout, f"a config may set claim_ttl_seconds: {floor}, under the {timeout} s function timeout"


def test_every_pubsub_function_has_retry_and_a_dead_letter_policy() -> None:
    config = load_module()
    push = config.resource("google_pubsub_subscription", "push")
    assert push["for_each"] == "${local.functions}"
    assert set(config.locals["functions"]) == {"on_alert", "on_command"}
    retry = single(push["retry_policy"])
    minimum = int(evaluate(retry["minimum_backoff"]).rstrip("s"))
    maximum = int(evaluate(retry["maximum_backoff"]).rstrip("s"))
    assert PUBSUB_MIN_BACKOFF <= minimum < maximum <= 600
    dead_letter = single(push["dead_letter_policy"])
    assert dead_letter["dead_letter_topic"] == '${google_pubsub_topic.topics["dead-letter"].id}'
    assert dead_letter["max_delivery_attempts"] == "${var.max_delivery_attempts}"
    push_config = single(push["push_config"])
    assert "oidc_token" in push_config, "pushes must carry an identity token"
    # The functions read a push body or a CloudEvent: with payload unwrapping (Pub/Sub "Payload unwrapping") the body
    # is the bare notification, which functions-framework answers 400 before Runwarden runs
    # (tests/integration/test_unwrapped_push.py).
    assert "no_wrapper" not in push_config, "the functions read the wrapped push body, not the bare message data"


TIMELINE_PAGE_ALLOWANCE = 5     # seconds per ListLogEntries page of 1000 entries: an allowance, not a measurement


def test_the_timeline_timeout_covers_every_page_the_builder_may_read() -> None:
    from shared.timeline.builder import Limits

    config = load_module()
    service = single(config.resource("google_cloudfunctions2_function", "timeline")["service_config"])
    assert service["timeout_seconds"] == "${local.timeline_timeout_seconds}"
    timeout = evaluate(config.locals["timeline_timeout_seconds"])
    from shared.timeline.live import side_read_policy

    limits = Limits()
    pages = 2 * limits.max_pages + limits.max_error_pages          # steps, audit, request errors
    # One ListRevisions and at most max_metric_reads ListTimeSeries, each at the longest its policy lets it run,
    # its retries and pages included (before: counted at one call_timeout, 10 s, each, while a read may run 30 s).
    other_calls = 1 + limits.max_metric_reads
    assert timeout >= pages * TIMELINE_PAGE_ALLOWANCE + other_calls * side_read_policy().longest_run
    assert timeout >= one_call_with_retries()
    assert timeout <= 3600                          # the longest an HTTP-triggered gen2 function may run


def test_entry_points_exist() -> None:
    import main

    config = load_module()
    for name, function in config.locals["functions"].items():
        assert hasattr(main, function["entry_point"]), f"main.py does not export {function['entry_point']}"
    timeline = single(config.resource("google_cloudfunctions2_function", "timeline")["build_config"])
    assert timeline["entry_point"] == "incident_timeline"


def test_ttl_covers_every_collection_with_an_expiry() -> None:
    from shared.config import StateSettings
    from shared.ports import ClaimRecord
    from shared.remediation import guardrails
    from shared.remediation.records import (ACTIONS, ANSWERS, COMMANDS, FLAGS, INCIDENTS, INTENTS, PINS, RESTORES,
                                            SETTLED, ActionRecord, CommandAnswer, IncidentRecord, IntentRecord,
                                            RestoreNote)

    config = load_module()
    expiring = {guardrails.CLAIMS, guardrails.DRY_RUN_CLAIMS, guardrails.COOLDOWNS, guardrails.WRITING,
                guardrails.BUDGETS, ACTIONS, INCIDENTS, COMMANDS, ANSWERS, INTENTS, SETTLED, RESTORES}
    assert set(config.locals["ttl_collections"]) == expiring
    assert FLAGS not in config.locals["ttl_collections"]        # the kill switch must never expire
    assert PINS not in config.locals["ttl_collections"]         # a pin stays until someone releases it
    for model in (ClaimRecord, ActionRecord, IncidentRecord, IntentRecord, CommandAnswer, RestoreNote):
        assert "expires_at" in model.model_fields, model.__name__
    ttl = config.resource("google_firestore_field", "ttl")
    assert ttl["field"] == "expires_at" and ttl["collection"] == "${var.collection_prefix}_${each.value}"
    assert config.variables["collection_prefix"]["default"] == StateSettings().collection_prefix


def test_the_sweeps_query_of_open_intents_has_its_composite_index() -> None:
    """FirestoreStateStore.find_before(INTENTS, "state", ..., "noted_at", ...), as the sweep calls it:
    equality on `state`, then the range and the order on `noted_at`, both ascending."""
    import inspect

    from shared.remediation import verification
    from shared.remediation.records import INTENTS

    source = inspect.getsource(verification.Sweep._unrecorded_intents)
    assert 'find_before(INTENTS, "state", IntentState.OPEN.value, "noted_at"' in source
    index = load_module().resource("google_firestore_index", "open_intents")
    assert index["collection"] == "${var.collection_prefix}_" + INTENTS and index["query_scope"] == "COLLECTION"
    fields = [(f["field_path"], f["order"]) for f in index["fields"]]
    assert fields == [("state", "ASCENDING"), ("noted_at", "ASCENDING")]


def test_the_sweeps_query_of_actions_by_deadline_has_its_composite_index() -> None:
    """Sweep._page's find_before(ACTIONS, "state", <pending or undoing>, "deadline_at", ..., since=...):
    equality on `state`, then the ranges and the order on `deadline_at`, both ascending. One index serves
    every value of the equality, so the pending and the undoing actions both read by it."""
    import inspect

    from shared.remediation import verification
    from shared.remediation.records import ACTIONS

    source = inspect.getsource(verification.Sweep._page)
    assert 'find_before(ACTIONS, "state", state.value, "deadline_at"' in source
    due = inspect.getsource(verification.Sweep._due)
    assert "self._actions(ActionState.PENDING)" in due and "self._actions(ActionState.UNDOING)" in due
    index = load_module().resource("google_firestore_index", "pending_actions")
    assert index["collection"] == "${var.collection_prefix}_" + ACTIONS and index["query_scope"] == "COLLECTION"
    fields = [(f["field_path"], f["order"]) for f in index["fields"]]
    assert fields == [("state", "ASCENDING"), ("deadline_at", "ASCENDING")]


def test_the_sweeps_kept_reports_are_never_indexed_and_their_state_is() -> None:
    """Every record the sweep keeps an outcome in (records.KeptReport: the report, an outcome's JSON,
    kept until published) has the report's single-field indexes disabled; the sweep finds the pending
    ones by an equality on `report_state` (verification.py), which keeps its index. The intents'
    exemption keeps its deployed address."""
    import inspect

    from shared.remediation import kept_reports, verification
    from shared.remediation.records import KeptReport

    config = load_module()
    assert set(config.locals["report_collections"]) == set(kept_reports.KEPT_IN)
    for name in ("report", "earlier_reports"):
        field = config.resource("google_firestore_field", name)
        assert field["collection"] == "${var.collection_prefix}_${each.value}" and field["field"] == name
        assert field["index_config"] in ({}, [{}]), field["index_config"]
    for model in kept_reports.KEPT_IN.values():
        assert issubclass(model, KeptReport) and {"report", "report_state", "earlier_reports"} <= set(model.model_fields), model
    assert 'find_records(INTENTS, "report_state", REPORT_PENDING' in inspect.getsource(verification.Sweep._unsent_reports)
    assert 'c, "report_state", REPORT_PENDING' in inspect.getsource(verification.Sweep._unsent_outcomes)
    text = (ROOT / "infra" / "firestore.tf").read_text()
    assert "from = google_firestore_field.intent_report" in text and 'to   = google_firestore_field.report["intents"]' in text


def test_the_scheduler_publishes_a_sweep_on_the_commands_topic_that_on_command_parses() -> None:
    """scheduler.tf's body, as Terraform renders it (`base64encode(jsonencode({...}))`: Cloud
    Scheduler's PubsubTarget.data is base64), decoded as on_command decodes a message's data."""
    import json
    import re

    from shared.alerts.commands import Sweep, parse_command

    target = single(load_module().resource("google_cloud_scheduler_job", "sweep")["pubsub_target"])
    assert target["topic_name"] == '${google_pubsub_topic.topics["commands"].id}'
    literal = re.fullmatch(r"\$\{base64encode\(jsonencode\(\{(.*)\}\)\)\}", target["data"])
    assert literal, f"not a base64encode(jsonencode({{...}})) body: {target['data']}"
    # An HCL object of `key = "string"` pairs, as jsonencode renders it.
    body = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', literal.group(1)))
    assert body and isinstance(parse_command(json.dumps(body).encode()), Sweep), body


def test_the_sweeps_deadline_is_its_delivery_not_the_scheduler_job() -> None:
    """A Pub/Sub job's attempt ends with the publish: "For PubSub targets, this field is ignored"
    (Job.attempt_deadline, Cloud Scheduler v1beta1 Job, as the client library documents it). So the
    sweep's own deadline is its delivery to on_command: the commands push subscription's ack deadline,
    above the function timeout the sweep bounds itself by (sweep_budget), not a Scheduler setting, which
    must stay unset rather than suggest a bound that does not hold."""
    config = load_module()
    job = config.resource("google_cloud_scheduler_job", "sweep")
    assert "pubsub_target" in job and "http_target" not in job
    assert "attempt_deadline" not in job, "ignored for a Pub/Sub target: it bounds nothing"
    push = config.resource("google_pubsub_subscription", "push")
    assert config.locals["functions"]["on_command"]["topic"] == "commands"
    assert push["ack_deadline_seconds"] == "${local.ack_deadline_seconds}"
    assert evaluate(config.locals["ack_deadline_seconds"]) > evaluate(config.locals["function_timeout_seconds"])


SCHEDULER_MAX_RETRY_COUNT = 5   # Cloud Scheduler RetryConfig.retryCount: "Values greater than 5 and negative values are not allowed"


def scheduler_retry_waits(retry: dict) -> list[float]:
    """The waits before each retry, as Cloud Scheduler's RetryConfig describes them: the interval
    starts at min_backoff_duration, doubles max_doublings times, then grows linearly by
    2^max_doublings x min_backoff_duration, capped at max_backoff_duration ("Retry jobs"; the
    reference's example: 10s, 300s, 3 doublings -> 10, 20, 40, 80, 160, 240, 300, 300 s)."""
    low = float(evaluate(retry["min_backoff_duration"]).rstrip("s"))
    high = float(evaluate(retry["max_backoff_duration"]).rstrip("s"))
    doublings = int(evaluate(retry["max_doublings"]))
    waits, wait = [], low
    for attempt in range(int(evaluate(retry["retry_count"]))):
        waits.append(min(wait, high))
        wait = wait * 2 if attempt < doublings else wait + low * 2 ** doublings
    return waits


def test_scheduler_retry_waits_follow_the_references_example() -> None:
    example = {"min_backoff_duration": "10s", "max_backoff_duration": "300s", "max_doublings": 3, "retry_count": 8}
    assert scheduler_retry_waits(example) == [10, 20, 40, 80, 160, 240, 300, 300]


def test_a_failed_sweep_publish_is_retried_within_the_shortest_interval() -> None:
    """Without retry_config Cloud Scheduler retries nothing ("If retryCount is 0 ... a job attempt
    won't be retried if it fails"), so one failed publish costs a sweep period. The retries must end
    before the next scheduled run, which they may otherwise skip ("Retry jobs")."""
    config = load_module()
    job = config.resource("google_cloud_scheduler_job", "sweep")
    assert "retry_config" in job, "the sweep's Scheduler job retries nothing"
    retry = single(job["retry_config"])
    assert 1 <= int(evaluate(retry["retry_count"])) <= SCHEDULER_MAX_RETRY_COUNT
    allowed = config.variables["sweep_interval_minutes"]["validation"][0]["condition"]
    shortest = min(int(m) for m in allowed.split("[", 1)[1].split("]", 1)[0].split(","))
    assert sum(scheduler_retry_waits(retry)) < shortest * 60


PUBSUB_MIN_RETENTION = 600               # Topic/Subscription.message_retention_duration: "less than 10 minutes" refused
PUBSUB_MAX_RETENTION = 31 * 24 * 3600    # "Cannot be more than 31 days" (google/pubsub/v1/pubsub.proto, both)


def _seconds(duration: str) -> float:
    assert duration.endswith("s"), duration
    return float(duration[:-1])


def test_no_message_outlives_the_records_that_answer_its_redelivery() -> None:
    """A message can be delivered again until message_retention_duration after it was published: a
    redelivery, or a seek replaying it (the topic's retention is how far back a subscription may seek;
    Topic.message_retention_duration, pubsub.proto). The handler's memory of it starts when it noted the
    message by its own clock, which may lag Pub/Sub's by up to CLOCK_SKEW_ALLOWANCE, and Firestore's TTL
    may delete a record as soon as it expires: an intent (records.INTENT_RETENTION, the shortest) is what
    tells a redelivery that a write was in flight. So every retention, the allowance added, must end
    before the shortest of those memories; Pub/Sub itself would keep a message up to 31 days."""
    from shared.clock import CLOCK_SKEW_ALLOWANCE
    from shared.remediation.records import COMMAND_RETENTION, INTENT_RETENTION, RECORD_RETENTION

    memory = min(INTENT_RETENTION, COMMAND_RETENTION, RECORD_RETENTION)
    config = load_module()
    kept = {f"google_pubsub_topic.{name}": body for name, body in config.of_type("google_pubsub_topic").items()}
    kept |= {f"google_pubsub_subscription.{name}": body
             for name, body in config.of_type("google_pubsub_subscription").items()}
    assert "google_pubsub_topic.topics" in kept and "google_pubsub_subscription.push" in kept
    for where, body in kept.items():
        assert "message_retention_duration" in body, f"{where}: Pub/Sub's default applies, unchecked"
        retention = _seconds(evaluate(body["message_retention_duration"], config))
        assert PUBSUB_MIN_RETENTION <= retention <= PUBSUB_MAX_RETENTION, (where, retention)
        assert retention + CLOCK_SKEW_ALLOWANCE.total_seconds() <= memory.total_seconds(), (
            f"{where} keeps a message {retention:.0f} s; with the {CLOCK_SKEW_ALLOWANCE} clock allowance that "
            f"outlives the {memory} a redelivery's records are kept")


def test_every_dead_lettered_message_is_kept_and_a_person_is_paged() -> None:
    """A dead-letter topic with no subscription loses what it receives ("Users should ensure that there
    is a subscription attached to this topic since messages published to a topic with no subscriptions
    are lost", DeadLetterPolicy.dead_letter_topic, google/pubsub/v1/pubsub.proto). So the topic every
    dead-letter policy names must have a pull subscription that keeps every message (no filter, never
    expiring), and the watchdog's dead-letter alert, sent to people only, must watch that subscription's
    backlog: a message that failed every delivery reaches a person."""
    config = load_module()
    subscriptions = config.of_type("google_pubsub_subscription")
    topics = {single(body["dead_letter_policy"])["dead_letter_topic"]
              for body in subscriptions.values() if "dead_letter_policy" in body}
    assert topics == {'${google_pubsub_topic.topics["dead-letter"].id}'}, topics
    alert = config.resource("google_monitoring_alert_policy", "dead_letter")
    assert alert["notification_channels"] == "${var.human_notification_channels}"
    backlogs = [single(c["condition_threshold"])["filter"] for c in alert["conditions"]
                if "num_undelivered_messages" in single(c["condition_threshold"])["filter"]]
    assert len(backlogs) == 1, "no condition watches the hold subscription's backlog"
    watched = backlogs[0]
    for topic in topics:
        holds = [name for name, body in subscriptions.items() if body["topic"] == topic]
        assert holds, f"nothing subscribes to {topic}: dead-lettered messages are lost"
        for name in holds:
            body = subscriptions[name]
            assert "push_config" not in body and "filter" not in body and "dead_letter_policy" not in body, name
            assert single(body["expiration_policy"])["ttl"] == "", f"{name} may expire when quiet"
            assert f"${{google_pubsub_subscription.{name}.name}}" in watched, f"the dead-letter alert does not watch {name}"
        assert "num_undelivered_messages" in watched


def _refusals_span(attempts: int, minimum: int, maximum: int, factor: float) -> int:
    """Seconds from a message's first delivery to its last, each refused, the backoff growing by `factor`."""
    waits = [min(maximum, minimum * factor ** n) for n in range(attempts - 1)]
    return int(sum(waits))


def test_the_dead_letter_arithmetic_of_a_storm_s_429s_is_the_deployed_one() -> None:
    """docs/deploy.md, "The dead-letter count: a storm's 429s and a page waited on": each number recomputed from infra/
    and the config's defaults (the page claim's lease), each row of its table and what it concludes."""
    from shared.clock import skew_safe_lease

    config = load_module()
    push = config.resource("google_pubsub_subscription", "push")
    retry = single(push["retry_policy"])
    minimum = int(evaluate(retry["minimum_backoff"]).rstrip("s"))
    maximum = int(evaluate(retry["maximum_backoff"]).rstrip("s"))
    attempts = config.variables["max_delivery_attempts"]["default"]
    instances = config.variables["max_instances"]["default"]
    timeout = evaluate(config.locals["function_timeout_seconds"])
    lease = int(skew_safe_lease(Guardrails().claim_ttl_seconds).total_seconds())
    doubling, flat = _refusals_span(attempts, minimum, maximum, 2), _refusals_span(attempts, minimum, maximum, 1)
    most = _refusals_span(100, minimum, maximum, 1)
    doc = (ROOT / "docs" / "deploy.md").read_text()
    section = doc[doc.index("### The dead-letter count: a storm's 429s and a page waited on"):
                  doc.index("## A faster first alert")]
    said = " ".join(section.split())
    assert f"`max_instances` {instances}, concurrency 1" in said
    assert f"({attempts} attempts, {minimum} s to {maximum} s" in said, said
    assert f"= {doubling:,} s" in said and f"the {timeout} s function timeout" in said, said
    assert f"{attempts - 1} × {minimum} s = {flat} s" in said and f"99 × {minimum} s = {most} s" in said, said
    assert doubling > 4 * timeout and flat < timeout < most     # what the section concludes from them
    assert f"and the clock-skew allowance (300 s): {lease} s" in said and f"outlasts the page's lease ({lease} s)" in said
    rows = {int(row.split("|")[1].split()[0]): row for row in section.splitlines() if row.startswith("| ")
            and row.split("|")[1].strip()[:1].isdigit()}
    assert set(rows) == {5, attempts, 92, 100}, rows
    for count, row in rows.items():
        grown, even = _refusals_span(count, minimum, maximum, 2), _refusals_span(count, minimum, maximum, 1)
        assert f"{grown:,} s" in row and f"{count - 1} × {minimum} s = {even} s" in row, row
        verdicts = [cell.strip() for cell in row.split("|")[4:6]]
        expected = ["yes" if even > limit else "doubling only" if grown > limit else "no" for limit in (timeout, lease)]
        assert verdicts == expected, (count, verdicts, expected)
    least_direct = next(n for n in range(5, 101) if _refusals_span(n, minimum, maximum, 1) > lease)
    assert least_direct == 92 and f"Raising `max_delivery_attempts` to {least_direct} or more" in said, least_direct
    description = config.variables["max_delivery_attempts"]["description"]
    assert f"{least_direct} or more" in description and f"span {flat} s" in description, description
