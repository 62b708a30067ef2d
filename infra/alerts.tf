# Cloud Monitoring's way into Runwarden, and the alert policies for the watched services: one
# per signature family. Each groups by project, location and service (and revision where it
# matters), so the notification's resource labels name the Cloud Run service
# (shared/alerts/incidents.py reads project_id, location and service_name).
# Reference: registry.terraform.io/providers/hashicorp/google/latest/docs/resources/monitoring_notification_channel,
#            .../monitoring_alert_policy; Cloud Monitoring "Create and manage notification
#            channels" (type pubsub, label topic); metric lists for run.googleapis.com,
#            vpcaccess.googleapis.com and cloudsql.googleapis.com.

resource "google_monitoring_notification_channel" "runwarden" {
  project      = var.project_id
  display_name = "Runwarden (${google_pubsub_topic.topics["alerts"].name})"
  type         = "pubsub"
  labels = {
    topic = google_pubsub_topic.topics["alerts"].id
  }
  user_labels = local.labels
}

# The alert policies live in Runwarden's project and see a watched project's metrics only when
# that project is in this project's metrics scope (Cloud Monitoring, "Metrics scopes"; the
# provider's monitoring_monitored_project). The person applying needs monitoring.metricsScopes.link
# on project_id AND on each watched project (Monitoring API locations.global.metricsScopes.projects.create,
# "IAM Permissions": on the name and on the parent; "Configure a metrics scope by using the API":
# Monitoring Admin on the scoping project and on each project added); a platform team that manages
# the scope itself turns it off.
resource "google_monitoring_monitored_project" "watched" {
  for_each = var.add_watched_projects_to_metrics_scope ? toset(var.watched_projects) : toset([])

  metrics_scope = var.project_id
  name          = each.value

  depends_on = [google_project_service.apis]
}

locals {
  run_group_by      = ["resource.label.project_id", "resource.label.location", "resource.label.service_name"]
  revision_group_by = ["resource.label.project_id", "resource.label.location", "resource.label.service_name", "resource.label.revision_name"]
  run_requests      = "metric.type = \"run.googleapis.com/request_count\" AND resource.type = \"cloud_run_revision\"${local.service_filter}"
  # Each policy that notifies Runwarden is created after the push subscriptions and Monitoring's grant on the
  # alerts topic (their depends_on): "Only messages published to the topic after the subscription is created
  # are available to subscriber clients" (Pub/Sub "Subscription overview"), and the subscriptions wait for
  # the functions' builds. Without that order, an incident opened during the first apply was published to a
  # topic nobody subscribed to, and Monitoring notifies an incident when it opens: Runwarden never heard of
  # it (tests/infra/test_apply_order.py).
  service_channels = concat([google_monitoring_notification_channel.runwarden.name], var.human_notification_channels)

  connector_group_by = ["resource.label.project_id", "resource.label.location", "resource.label.connector_name"]
  # connector_max_instances by full name, split into the vpc_access_connector labels (project_id,
  # location, connector_name: Cloud Monitoring's monitored resource list).
  connector_ceilings = { for name, max in var.connector_max_instances : name => {
    project       = split("/", name)[1]
    location      = split("/", name)[3]
    connector     = split("/", name)[5]
    max_instances = max
  } }
}

resource "google_monitoring_alert_policy" "error_ratio" {
  project      = var.project_id
  display_name = "Runwarden: 5xx ratio by revision"
  combiner     = "OR"
  severity     = "ERROR"
  user_labels  = local.labels

  conditions {
    display_name = "5xx share of requests above the diagnosis's bad_error_ratio (${module.config_check.diagnosis.bad_error_ratio}) for 2 minutes, per revision"
    condition_threshold {
      filter             = "${local.run_requests} AND metric.label.response_code_class = \"5xx\""
      denominator_filter = local.run_requests
      comparison         = "COMPARISON_GT"
      threshold_value    = module.config_check.diagnosis.bad_error_ratio
      duration           = "120s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = local.revision_group_by
      }
      denominator_aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = local.revision_group_by
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    subject   = "5xx ratio on $${resource.label.service_name} ($${resource.label.revision_name})"
    mime_type = "text/markdown"
    content   = "A revision of a watched Cloud Run service answers more than ${module.config_check.diagnosis.bad_error_ratio} of its requests with 5xx (the diagnosis's bad_error_ratio). Runwarden diagnoses it (bad revision, startup or configuration failure, database unreachable, capacity) and may roll traffic back. Runbook: ${local.runbook}#runbook-5xx-ratio"
  }

  notification_channels = local.service_channels

  depends_on = [google_pubsub_subscription.push, google_pubsub_topic_iam_member.monitoring_publisher]
}

resource "google_monitoring_alert_policy" "request_timeout" {
  project      = var.project_id
  display_name = "Runwarden: 504s at the request timeout"
  combiner     = "OR"
  severity     = "ERROR"
  user_labels  = local.labels

  conditions {
    display_name = "504 share of requests above 5% for 2 minutes"
    condition_threshold {
      filter             = "${local.run_requests} AND metric.label.response_code = \"504\""
      denominator_filter = local.run_requests
      comparison         = "COMPARISON_GT"
      threshold_value    = 0.05
      duration           = "120s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = local.run_group_by
      }
      denominator_aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = local.run_group_by
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    subject   = "Requests time out on $${resource.label.service_name}"
    mime_type = "text/markdown"
    content   = "A watched Cloud Run service answers 504s, requests cut at its request timeout: requests hang on something slow, often a saturated VPC connector or an unreachable database. Runwarden diagnoses it and may scale the connector. Runbook: ${local.runbook}#runbook-request-timeout"
  }

  notification_channels = local.service_channels

  depends_on = [google_pubsub_subscription.push, google_pubsub_topic_iam_member.monitoring_publisher]
}

# p99 latency at 90% of the request timeout: each service's own timeout (latency_conditions/main.tf
# says why), one policy per distinct timeout, so the bar is always under what p99 can reach.
module "latency_conditions" {
  source = "./latency_conditions"

  watched_services         = var.watched_services
  own_services             = local.own_services
  request_timeout_seconds  = var.request_timeout_seconds
  service_request_timeouts = var.service_request_timeouts
}

resource "google_monitoring_alert_policy" "latency" {
  for_each = module.latency_conditions.conditions

  project      = var.project_id
  display_name = "Runwarden: latency at the request timeout (${each.value.timeout_seconds} s)"
  combiner     = "OR"
  severity     = "ERROR"
  user_labels  = local.labels

  conditions {
    display_name = "p99 latency at 90% of the request timeout (${each.value.timeout_seconds} s) for 5 minutes"
    condition_threshold {
      filter          = each.value.filter
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.threshold_ms
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_PERCENTILE_99"
        cross_series_reducer = "REDUCE_MAX"
        group_by_fields      = local.run_group_by
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    subject   = "Requests near the request timeout on $${resource.label.service_name}"
    mime_type = "text/markdown"
    content   = "A watched Cloud Run service's p99 latency reaches 90% of its request timeout (${each.value.timeout_seconds} s): requests hang on something slow, often a saturated VPC connector or an unreachable database. Runwarden diagnoses it and may scale the connector. Runbook: ${local.runbook}#runbook-request-timeout"
  }

  notification_channels = local.service_channels

  depends_on = [google_pubsub_subscription.push, google_pubsub_topic_iam_member.monitoring_publisher]
}

# A connector's CPU: the same bar for every connector (a share of its CPU), the diagnosis's
# connector_cpu_saturation as the config sets it (config_check/main.tf, output diagnosis).
resource "google_monitoring_alert_policy" "connector" {
  project      = var.project_id
  display_name = "Runwarden: VPC connector CPU"
  combiner     = "OR"
  severity     = "WARNING"
  user_labels  = local.labels

  conditions {
    display_name = "Connector CPU p99 above the diagnosis's connector_cpu_saturation (${module.config_check.diagnosis.connector_cpu_saturation}) for 5 minutes"
    condition_threshold {
      filter          = "metric.type = \"vpcaccess.googleapis.com/connector/cpu/utilizations\" AND resource.type = \"vpc_access_connector\""
      comparison      = "COMPARISON_GT"
      threshold_value = module.config_check.diagnosis.connector_cpu_saturation
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_PERCENTILE_99"
        cross_series_reducer = "REDUCE_MAX"
        group_by_fields      = local.connector_group_by
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    subject   = "VPC connector $${resource.label.connector_name} is CPU-bound"
    mime_type = "text/markdown"
    content   = "A Serverless VPC Access connector is CPU-bound; services behind it see 503s, 504s and hangs. The notification names the connector: Runwarden diagnoses every managed service whose serving revision routes through it, combines their verdicts, and scales the connector at most once. Runbook: ${local.runbook}#runbook-connector"
  }

  notification_channels = local.service_channels

  depends_on = [google_pubsub_subscription.push, google_pubsub_topic_iam_member.monitoring_publisher]
}

# "At its instance ceiling" is each connector's own max instances: Connector.maxInstances, set per
# connector (VPC Access v1 REST reference, projects.locations.connectors: "Maximum value of instances
# in autoscaling group underlying the connector"; gcloud's --max-instances takes 3-10: gcloud reference,
# compute networks vpc-access connectors update), and what the diagnosis compares connector/instances with
# ("reaches the connector's max_instances", docs/signatures.md, connector_saturation). One bar for all would
# never fire for a connector whose max is under it. No metric carries a connector's max, so the
# threshold comes from connector_max_instances, one policy per connector (a policy holds at most
# six conditions). The count is a whole number; the bar sits half an instance under the max, so
# the condition holds at the max whatever the aligner's rounding (MetricThreshold takes only
# COMPARISON_GT and COMPARISON_LT).
resource "google_monitoring_alert_policy" "connector_ceiling" {
  for_each = local.connector_ceilings

  project      = var.project_id
  display_name = "Runwarden: VPC connector ${each.value.connector} at its max instances"
  combiner     = "OR"
  severity     = "WARNING"
  user_labels  = local.labels

  conditions {
    display_name = "Connector ${each.value.connector} at its max instances (${each.value.max_instances}) for 5 minutes"
    condition_threshold {
      filter          = "metric.type = \"vpcaccess.googleapis.com/connector/instances\" AND resource.type = \"vpc_access_connector\" AND resource.label.project_id = \"${each.value.project}\" AND resource.label.location = \"${each.value.location}\" AND resource.label.connector_name = \"${each.value.connector}\""
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.max_instances - 0.5
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_MAX"
        cross_series_reducer = "REDUCE_MAX"
        group_by_fields      = local.connector_group_by
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    subject   = "VPC connector $${resource.label.connector_name} is at its max instances (${each.value.max_instances})"
    mime_type = "text/markdown"
    content   = "A Serverless VPC Access connector has reached its own max instances (${each.value.max_instances}) and cannot scale out further; services behind it see 503s, 504s and hangs. The notification names the connector: Runwarden diagnoses every managed service whose serving revision routes through it, combines their verdicts, and scales the connector at most once. Connectors do not scale in, so the count stays at the max after a burst. Runbook: ${local.runbook}#runbook-connector"
  }

  notification_channels = local.service_channels

  depends_on = [google_pubsub_subscription.push, google_pubsub_topic_iam_member.monitoring_publisher]
}

resource "google_monitoring_alert_policy" "database" {
  project      = var.project_id
  display_name = "Runwarden: Cloud SQL database down"
  combiner     = "OR"
  severity     = "CRITICAL"
  user_labels  = local.labels

  conditions {
    display_name = "Cloud SQL database/up below 1 for 2 minutes"
    condition_threshold {
      filter          = "metric.type = \"cloudsql.googleapis.com/database/up\" AND resource.type = \"cloudsql_database\""
      comparison      = "COMPARISON_LT"
      threshold_value = 1
      duration        = "120s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_MIN"
        cross_series_reducer = "REDUCE_MIN"
        group_by_fields      = ["resource.label.project_id", "resource.label.region", "resource.label.database_id"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    subject   = "Cloud SQL $${resource.label.database_id} is down"
    mime_type = "text/markdown"
    content   = "A Cloud SQL instance reports database/up = 0. Runwarden never acts on a database; it reads this as evidence when a service fails, and escalates. Runbook: ${local.runbook}#runbook-database"
  }

  notification_channels = local.service_channels

  depends_on = [google_pubsub_subscription.push, google_pubsub_topic_iam_member.monitoring_publisher]
}
