# Names, the settings derived from the code's own waits, and the custom roles' permissions.

locals {
  labels = merge({ "managed-by" = "terraform", "app" = "runwarden" }, var.labels)

  # --- Waits (tests/infra/test_settings.py holds these to the code) ------------------------
  # The longest operation wait in the code is the VPC Access connector update: up to 300 s
  # (shared/gcp/vpcaccess.py, VpcAccessAdapter operation_timeout); Cloud Run's UpdateService
  # wait is 120 s (shared/gcp/run.py). The slowest alert that still finishes spends:
  #   16 diagnosis reads at one 10 s call each (collection.MAX_API_CALLS + ALERT_READS,
  #   the request log `healthy` may need, and the rollback target's startup read
  #   after a full log page; CallPolicy)                                               160 s
  #   (a read with its retries, or a paged read's pages, may take 30 s, but the reads
  #   run concurrently in three rounds: at most 150 s on the clock, under this count;
  #   tests/infra/test_settings.py collection_wall_seconds)
  #   the rollback target's pinned secret versions (collection.TARGET_SECRET_READS):
  #   in flight beside the second round's other reads (the pool holds the round
  #   whole: collection.MAX_CONCURRENT_READS), each within 10 s, its retry included
  #   (secretmanager.SECRET_READ_POLICY), so never past that round's 10 s call          0 s
  #   a service alert's reads of its connector's other users: none started that could
  #   end past those 160 s from the alert's receipt (sweep_budget.alert_peer_time)      0 s
  #   the PATCH with its retries: 30 s in all (CallPolicy.longest_run: every attempt's
  #   deadline and backoff sleep cut to what is left of total_timeout)                  30 s
  #   the operation wait, its polls included (each cut to what is left of it,
  #   shared/gcp/endpoints.py WaitDeadline)                                            300 s
  #   the read-back, as the PATCH                                                        30 s
  #   the outcome publish (PubSubPublisher timeout)                                      30 s
  # = 550 s; 570 s covers it, the gate's Firestore calls left to the 20 s over it
  # (they normally take
  # milliseconds; each is bounded by FirestoreStateStore's 10 s timeout; a dozen of them all at
  # their timeout together with every read above is not budgeted). Past 570 s the function is
  # cut off, Pub/Sub redelivers, and the idempotency claim (claim_ttl_seconds, 600 s by default)
  # stops the redelivery from acting twice. The timeout cannot grow much: for push delivery the
  # ack deadline is the request timeout and must stay above it, and 600 s is its maximum.
  # tests/infra/test_settings.py recomputes this budget from the code.
  function_timeout_seconds = 570
  # For push subscriptions the ack deadline is also the push request's timeout (Pub/Sub
  # Subscription reference, ackDeadlineSeconds). Above the function timeout, so Pub/Sub never
  # redelivers a message a function is still handling; 600 s is the API's maximum.
  ack_deadline_seconds = 600
  # The timeline (HTTP, a person waiting): shared/timeline/builder.py Limits lets one request
  # read at most 10 + 10 + 30 ListLogEntries pages of 1000 entries, plus one ListRevisions and
  # at most three ListTimeSeries (Limits.max_metric_reads), each ended within 10 s, its retries
  # and pages included (shared/timeline/live.py SIDE_READ_SECONDS). At 5 s a page (an allowance,
  # not a measurement against Cloud Logging) that is 250 + 40 = 290 s; a person waits that long
  # only for a very busy incident, and the read stops at its page limits rather than at this
  # timeout. tests/infra/test_settings.py recomputes it.
  timeline_timeout_seconds = 300
  # How long Pub/Sub keeps a message (every topic and subscription, pubsub.tf): a delivery or a seek's
  # replay may come until then after the publish ("How long to retain unacknowledged messages in the
  # subscription's backlog, from the moment a message is published"; a topic's retention is how far back
  # a subscription may seek: Subscription and Topic message_retention_duration, google/pubsub/v1/pubsub.proto,
  # 10 minutes to 31 days). A redelivery is answered by the records the handler wrote: the shortest-lived,
  # an alert's or a command's intent, is kept 7 days from when the handler noted it by its own clock
  # (shared/remediation/records.py, INTENT_RETENTION), which may lag Pub/Sub's by up to 5 minutes
  # (shared/clock.py, CLOCK_SKEW_ALLOWANCE), and Firestore's TTL may delete it as soon as it expires. So
  # 7 days less those 5 minutes: no message outlives the records that answer it.
  # tests/infra/test_settings.py holds this to the code.
  message_retention = "604500s"
  # Redelivery after a failure (non-2xx): exponential backoff between these bounds.
  retry_minimum_backoff = "10s"
  retry_maximum_backoff = "600s"

  functions = {
    on_alert = {
      name        = "${var.name_prefix}-on-alert"
      entry_point = "on_alert"
      topic       = "alerts"
      min         = var.min_instances
    }
    on_command = {
      name        = "${var.name_prefix}-on-command"
      entry_point = "on_command"
      topic       = "commands"
      min         = 0
    }
  }

  # Firestore collections whose documents carry `expires_at` (shared/gcp/firestore.py: claims;
  # shared/remediation/records.py: action, incident, intent and settled records; operators' command claims
  # and their kept answers). Proposals
  # and pins keep no TTL: an expired proposal still answers "expired", a pin stays until released.
  # Each listed collection gets a TTL policy.
  # The records that keep a report until it is published (firestore.tf, google_firestore_field.report).
  report_collections = ["intents", "actions", "incidents", "pins", "answers"]
  ttl_collections    = ["claims", "dry_run_claims", "cooldowns", "writing", "budgets", "actions", "incidents", "commands", "answers", "intents", "settled", "restores"]

  # --- Custom roles: exactly what functions/permissions.py derives from the code -----------
  # Project-level roles in Runwarden's own project (resource-scoped permissions excluded:
  # pubsub.topics.publish is granted on the outcomes topic, iam.serviceAccounts.actAs on the
  # managed services' runtime accounts, Firestore's on Runwarden's database only: state_role_permissions
  # below; and the Cloud Run writes, granted only where a managed service lives: service_write_permissions).
  role_permissions = {
    on_alert = [
      "logging.logEntries.list",
      "monitoring.timeSeries.list",
      "run.revisions.list",
      "run.services.get",
      "run.services.list",
      "secretmanager.versions.get",
      "vpcaccess.connectors.get",
      "vpcaccess.connectors.update",
      "vpcaccess.operations.get",
    ]
    on_command = [
      "logging.logEntries.list",
      "monitoring.timeSeries.list",
      "run.revisions.list",
      "run.services.get",
      "run.services.list",
      "secretmanager.versions.get",
      "vpcaccess.connectors.get",
      "vpcaccess.connectors.update",
      "vpcaccess.operations.get",
    ]
    incident_timeline = [
      "logging.logEntries.list",
      "monitoring.timeSeries.list",
      "run.revisions.list",
    ]
  }

  # Firestore's, granted on Runwarden's database only (iam.tf, `state`: a binding in project_id whose
  # IAM condition names the database). What each call needs, from Firestore's "Security for server
  # client libraries", "Required permissions for API methods": batchGet `datastore.entities.get`; commit
  # with exists=false `create`, with exists=true `update`, with no precondition `create` and `update`,
  # a delete `delete`; runQuery (the sweep's queries: FirestoreStateStore.find_*) `get` and `list`, as
  # runAggregationQuery and partitionQuery. An older copy of that page listed runQuery with `get` alone;
  # the current one names both, so `list` stays: without it every query is refused and the sweep is
  # blind. beginTransaction and rollback need `datastore.databases.get`, which no call here makes
  # (shared/gcp/firestore.py: preconditions, never transactions), so it is not granted.
  state_role_permissions = {
    on_alert = [
      "datastore.entities.create",
      "datastore.entities.delete",
      "datastore.entities.get",
      "datastore.entities.list",
      "datastore.entities.update",
    ]
    on_command = [
      "datastore.entities.create",
      "datastore.entities.delete",
      "datastore.entities.get",
      "datastore.entities.list",
      "datastore.entities.update",
    ]
  }

  # The same roles in each watched project (all three functions read there; Firestore is never granted there).
  watched_role_permissions = {
    on_alert = [
      "logging.logEntries.list",
      "monitoring.timeSeries.list",
      "run.revisions.list",
      "run.services.get",
      "run.services.list",
      "secretmanager.versions.get",
      "vpcaccess.connectors.get",
      "vpcaccess.connectors.update",
      "vpcaccess.operations.get",
    ]
    on_command = [
      "logging.logEntries.list",
      "monitoring.timeSeries.list",
      "run.revisions.list",
      "run.services.get",
      "run.services.list",
      "secretmanager.versions.get",
      "vpcaccess.connectors.get",
      "vpcaccess.connectors.update",
      "vpcaccess.operations.get",
    ]
    # The timeline reads the service's audit entries, request log and revisions where the service lives.
    incident_timeline = [
      "logging.logEntries.list",
      "monitoring.timeSeries.list",
      "run.revisions.list",
    ]
  }

  # Cloud Run's writes, only in the projects that hold a service the config manages (iam.tf,
  # service_writes; functions/permissions.py, service_writes): config_check reads those projects
  # from the config's `services`. Runwarden's own project gets them only when it holds one.
  service_write_permissions = ["run.operations.get", "run.services.update"]
  service_projects          = setintersection(toset(module.config_check.service_projects), local.role_projects)
  service_write_pairs = {
    for pair in setproduct(["on_alert", "on_command"], local.service_projects) :
    "${pair[0]}/${pair[1]}" => { function = pair[0], project = pair[1] }
  }

  # Granted on single resources, by role (see iam.tf).
  act_as_permissions  = ["iam.serviceAccounts.actAs"]
  publish_permissions = ["pubsub.topics.publish"]

  # --- Operators (var.operators_group): what the `runwarden` CLI calls to wait for an outcome ----
  # It creates a pull subscription on the outcomes topic, filtered on its command_id, pulls and
  # acknowledges on it, and deletes it (cli/_commands.py publish_and_wait). Pub/Sub checks
  # pubsub.subscriptions.create on the project and pubsub.topics.attachSubscription on the topic
  # to create it, pubsub.subscriptions.consume on the subscription to pull and acknowledge, and
  # pubsub.subscriptions.delete on it to delete (Pub/Sub "Access control", required permissions;
  # "Create pull subscriptions", required permissions). The subscription does not exist before
  # the CLI creates it, so consume and delete can only be granted on the project.
  # tests/infra/test_iam.py derives both lists from the CLI's calls.
  operator_project_permissions        = ["pubsub.subscriptions.consume", "pubsub.subscriptions.create", "pubsub.subscriptions.delete"]
  operator_outcomes_topic_permissions = ["pubsub.topics.attachSubscription"]

  watched_pairs = {
    for pair in setproduct(keys(local.watched_role_permissions), var.watched_projects) :
    "${pair[0]}/${pair[1]}" => { function = pair[0], project = pair[1] }
  }
  act_as_pairs = {
    for pair in setproduct(["on_alert", "on_command"], var.managed_runtime_service_accounts) :
    "${pair[0]}/${pair[1]}" => { function = pair[0], account = pair[1] }
  }

  # The Cloud Run services the alert policies watch: watched_services, or every service in the
  # metrics scope but Runwarden's own functions (latency_conditions/main.tf, own_services, says why).
  # A gen2 function runs as the Cloud Run service of its name (the functions' log entries name it as
  # resource.labels.service_name: watchdog.tf, own_logs).
  own_services   = ["${var.name_prefix}-on-alert", "${var.name_prefix}-on-command", "${var.name_prefix}-timeline"]
  service_filter = module.latency_conditions.service_filter
  runbook        = var.runbook_url
}
