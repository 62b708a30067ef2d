# The watchdog for the watchdog: alerts on Runwarden itself, sent to people only
# (var.human_notification_channels), never to Runwarden's own Pub/Sub channel.
# Reference: registry.terraform.io/providers/hashicorp/google/latest/docs/resources/monitoring_alert_policy
#            (condition_matched_log needs alert_strategy.notification_rate_limit),
#            .../logging_metric; Cloud Logging "Log-based metrics" (user metrics are
#            logging.googleapis.com/user/NAME); Pub/Sub metric subscription/num_undelivered_messages.

locals {
  function_names = concat([for k, v in local.functions : v.name], [google_cloudfunctions2_function.timeline.name])
  # Runwarden's own log entries, under either resource type a gen2 function's entries may carry.
  # `gcloud functions logs read` (googlecloudsdk, _CreateGen2LogFilterBase) reads a gen2 function's
  # logs as resource.type "cloud_run_revision" with service_name = the function id lower-cased,
  # "_" written "-"; gen1 functions log as "cloud_function" with function_name. Matching both
  # (as that command does when the generation is not given) keeps the watchdog right if an entry
  # ever arrives under the other type. Written as ORs of comparisons, not `field = ("a" OR "b")`,
  # so that tests/infra/test_log_filters.py can run them against the Logging stand-in.
  own_run_logs  = join(" OR ", [for f in local.function_names : "resource.labels.service_name = \"${f}\""])
  own_gen1_logs = join(" OR ", [for f in local.function_names : "resource.labels.function_name = \"${f}\""])
  own_logs      = "((resource.type = \"cloud_run_revision\" AND (${local.own_run_logs})) OR (resource.type = \"cloud_function\" AND (${local.own_gen1_logs})))"
  # A log-based metric takes the entries' monitored resource type; a metric condition must name one.
  own_metric_resource = "resource.type = one_of(\"cloud_run_revision\", \"cloud_function\")"
  # An uncaught exception's traceback, however its entry is written: plain text on stderr has no
  # severity ("Logs to standard output or standard error do not have an associated log level",
  # Cloud Run functions, "View and write Cloud Run function logs", Python), so `severity >= ERROR`
  # alone would miss a crash; as JSON (functions-framework's execution-id logging) it is the message.
  traceback = "(textPayload:\"Traceback (most recent call last)\" OR jsonPayload.message:\"Traceback (most recent call last)\")"
  # Cloud Run's request log holds an entry for every request a function answered, at ERROR for a 5xx: a
  # public gen2 function's entry for a 500 it answered itself is `severity: ERROR`, logName
  # run.googleapis.com%2Frequests, httpRequest.status 500 and no payload (seen in a log dump a user published, not
  # on a Google page: that every answered 5xx is logged at ERROR is UNCONFIRMED). So each 503
  # on_alert answers while its config is broken (functions/runtime.py: one CRITICAL config_error line, its own
  # policy) paged a second time here, at every delivery, and so did a raised fault's 500 (its traceback pages
  # already) and the timeline's 5xx answer to a person (Cloud Logging busy or refusing: the caller is told).
  # Only the request entries that carry a text of Cloud Run's own page: the request timeout, a broken
  # connection, no instance, an instance that never started (Cloud Run troubleshooting; the texts the diagnosis
  # reads, shared/diagnosis/log_signals.py PLATFORM_REQUEST_TEXTS), which no other line of Runwarden's reports.
  # Under the other reading (an answered 5xx's entry carrying a text), it still pages, as before; a request
  # entry with a text is never dropped. tests/infra/test_log_filters.py runs both kinds.
  answered_5xx = "(log_id(\"run.googleapis.com/requests\") AND NOT textPayload:*)"
  # The outcomes a person must hear about (shared/outcomes.py NOTIFY_STATUSES; tests/infra holds the two equal).
  # "rejected" is written as a notify line for an alert only (a malformed one, a policy to fix).
  notify_statuses      = ["escalated", "proposed", "undone", "failed", "reminder", "rejected"]
  notify_status_filter = join(" OR ", [for s in local.notify_statuses : "labels.runwarden_status = \"${s}\""])
  # The push subscriptions that dead-letter (pubsub.tf), quoted for a one_of(...).
  push_subscription_ids = join(", ", [for s in google_pubsub_subscription.push : "\"${s.name}\""])
}

resource "google_monitoring_alert_policy" "dead_letter" {
  project      = var.project_id
  display_name = "Runwarden watchdog: message on the dead-letter topic"
  combiner     = "OR"
  severity     = "ERROR"
  user_labels  = local.labels

  conditions {
    display_name = "Undelivered messages on the dead-letter hold subscription"
    condition_threshold {
      filter          = "metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type = \"pubsub_subscription\" AND resource.label.subscription_id = \"${google_pubsub_subscription.dead_letter_hold.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "60s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
      trigger {
        count = 1
      }
    }
  }

  # The condition above opens one incident and holds it until every held message is acknowledged, and
  # an incident notifies when it opens: a second alert dead-lettered while the first is held reached
  # nobody. This one counts the messages Pub/Sub forwards from each push subscription ("use the
  # subscription/dead_letter_message_count metric. This metric shows the number of undeliverable
  # messages that Pub/Sub forwards from a subscription", Pub/Sub "Monitor forwarded undeliverable
  # messages"); with no data read as none, its incident closes once no more arrive, and the next burst
  # opens (and notifies) a new one, naming the subscription: alerts or commands.
  conditions {
    display_name = "Messages forwarded to the dead-letter topic, by push subscription"
    condition_threshold {
      filter                  = "metric.type = \"pubsub.googleapis.com/subscription/dead_letter_message_count\" AND resource.type = \"pubsub_subscription\" AND resource.label.subscription_id = one_of(${local.push_subscription_ids})"
      comparison              = "COMPARISON_GT"
      threshold_value         = 0
      duration                = "0s"
      evaluation_missing_data = "EVALUATION_MISSING_DATA_INACTIVE"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.subscription_id"]
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    subject   = "Runwarden could not handle a message"
    mime_type = "text/markdown"
    content   = "A message to on_alert or on_command failed every delivery attempt and was moved to the dead-letter topic. An alert may have gone unhandled. Runbook: ${local.runbook}#runbook-dead-letter"
  }

  notification_channels = var.human_notification_channels
}

resource "google_monitoring_alert_policy" "function_errors" {
  project      = var.project_id
  display_name = "Runwarden watchdog: function errors and crashes"
  combiner     = "OR"
  severity     = "ERROR"
  user_labels  = local.labels

  conditions {
    display_name = "An ERROR or worse log entry from a Runwarden function"
    condition_matched_log {
      # notify and config_error lines have policies of their own: one page per cause; a 5xx a function
      # answered itself is paged by the line that says why, or by none (answered_5xx above).
      filter = "${local.own_logs} AND (severity >= ERROR OR ${local.traceback}) AND NOT labels.runwarden_step = \"notify\" AND NOT labels.runwarden_step = \"config_error\" AND NOT ${local.answered_5xx}"
      label_extractors = {
        function = "EXTRACT(resource.labels.service_name)"
        gen1     = "EXTRACT(resource.labels.function_name)"
      }
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "300s"
    }
    auto_close = "1800s"
  }

  documentation {
    subject   = "Runwarden function $${log.extracted_label.function}$${log.extracted_label.gen1} failed"
    mime_type = "text/markdown"
    content   = "A Runwarden function logged an error or crashed. Pub/Sub redelivers the message; if it keeps failing it reaches the dead-letter topic. Runbook: ${local.runbook}#runbook-function-errors"
  }

  notification_channels = var.human_notification_channels
}

resource "google_monitoring_alert_policy" "config_error" {
  project      = var.project_id
  display_name = "Runwarden watchdog: bad config"
  combiner     = "OR"
  severity     = "CRITICAL"
  user_labels  = local.labels

  conditions {
    display_name = "Runwarden cannot load its config"
    condition_matched_log {
      filter = "${local.own_logs} AND labels.runwarden_step = \"config_error\" AND severity = CRITICAL"
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "300s"
    }
    auto_close = "1800s"
  }

  documentation {
    subject   = "Runwarden cannot start: its config is invalid"
    mime_type = "text/markdown"
    content   = "RUNWARDEN_CONFIG names a file that is missing or invalid. Every alert and sweep is redelivered until the config is fixed and redeployed; nothing is acted on meanwhile. Runbook: ${local.runbook}#runbook-config-error"
  }

  notification_channels = var.human_notification_channels
}

# The sweep writes one `swept` step line per run: counted, it is Runwarden's heartbeat.
resource "google_logging_metric" "sweep_heartbeat" {
  project     = var.project_id
  name        = "${var.name_prefix}-sweep-heartbeat"
  description = "One per completed verification sweep (timeline step `swept`)."
  filter      = "${local.own_logs} AND labels.runwarden_step = \"swept\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

resource "google_monitoring_alert_policy" "heartbeat" {
  project      = var.project_id
  display_name = "Runwarden watchdog: sweep heartbeat missing"
  combiner     = "OR"
  severity     = "ERROR"
  user_labels  = local.labels

  conditions {
    display_name = "No completed sweep for 3 sweep periods"
    condition_absent {
      filter   = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.sweep_heartbeat.name}\" AND ${local.own_metric_resource}"
      duration = "${var.sweep_interval_minutes * 60 * 3}s"
      aggregations {
        alignment_period     = "${var.sweep_interval_minutes * 60}s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  # A metric-absence condition never fires for a metric that never had a point ("The condition won't
  # trigger when the subsystem that writes metric data has never written a data point"; it needs one
  # "within the maximum duration window after the policy was installed or modified", Cloud Monitoring
  # "Create metric-absence alerting policies"): a Runwarden whose sweep never completed after the first
  # apply, or after an apply that changed this policy, was never reported. This condition counts a
  # period without data as failing ("If there is no data to evaluate the condition, then evaluate the
  # condition as true", AlertPolicy.Condition.EvaluationMissingData.EVALUATION_MISSING_DATA_ACTIVE).
  # Whether that holds for a filter that never matched any time series is UNCONFIRMED; the absence
  # condition above covers a heartbeat that stops, so with OR the policy is never quieter than before.
  conditions {
    display_name = "Fewer than one completed sweep for 3 sweep periods, no data counted as none"
    condition_threshold {
      filter                  = "metric.type = \"logging.googleapis.com/user/${google_logging_metric.sweep_heartbeat.name}\" AND ${local.own_metric_resource}"
      comparison              = "COMPARISON_LT"
      threshold_value         = 1
      duration                = "${var.sweep_interval_minutes * 60 * 3}s"
      evaluation_missing_data = "EVALUATION_MISSING_DATA_ACTIVE"
      aggregations {
        alignment_period     = "${var.sweep_interval_minutes * 60}s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  documentation {
    subject   = "Runwarden's verification sweep has stopped"
    mime_type = "text/markdown"
    content   = "No sweep completed for 3 periods of ${var.sweep_interval_minutes} minutes. Actions Runwarden took are not being verified or undone. Check the Scheduler job, the commands subscription and on_command. Runbook: ${local.runbook}#runbook-heartbeat"
  }

  notification_channels = var.human_notification_channels
}

# Escalations reach a person: every notify line with one of these statuses (timeline step
# `notify`, label runwarden_status; WARNING or ERROR).
resource "google_monitoring_alert_policy" "notify" {
  project      = var.project_id
  display_name = "Runwarden: needs a person (escalated, proposed, undone, failed, reminder, rejected)"
  combiner     = "OR"
  severity     = "WARNING"
  user_labels  = local.labels

  conditions {
    display_name = "A notify line for a person"
    condition_matched_log {
      filter = "${local.own_logs} AND labels.runwarden_step = \"notify\" AND (${local.notify_status_filter}) AND severity >= WARNING"
      label_extractors = {
        status   = "EXTRACT(labels.runwarden_status)"
        incident = "EXTRACT(labels.runwarden_incident)"
      }
    }
  }

  alert_strategy {
    notification_rate_limit {
      period = "300s"
    }
    auto_close = "3600s"
  }

  documentation {
    subject   = "Runwarden: $${log.extracted_label.status} for incident $${log.extracted_label.incident}"
    mime_type = "text/markdown"
    content   = "Runwarden needs a person: it escalated, proposed a change for approval, undid its own change, failed, is reminding of traffic a rollback still pins while a newer Ready revision exists, or rejected a malformed alert (a policy to fix). The incident's timeline is the Logging filter labels.runwarden_incident=\"INCIDENT\". Runbook: ${local.runbook}#runbook-notify"
  }

  notification_channels = var.human_notification_channels
}
