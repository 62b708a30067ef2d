# Topics, the push subscriptions that deliver to the functions, and the dead-letter path.
#
# Why push subscriptions of our own, not the functions' event triggers: a gen2 Pub/Sub event
# trigger is an Eventarc trigger, and Eventarc creates and owns its subscription
# (eventarc-REGION-...; Eventarc "Retry events"). The function resource exposes only the
# retry policy; the subscription's ack deadline and dead-letter policy are not arguments of
# google_cloudfunctions2_function, and editing the Eventarc-owned subscription behind
# Terraform's back would drift. Cloud Run's "Create triggers from Pub/Sub events" recommends a
# direct Pub/Sub trigger: a push subscription we manage, to the function's URL, with an OIDC
# token. docs/deploy.md has the details and sources.
# Reference: registry.terraform.io/providers/hashicorp/google/latest/docs/resources/pubsub_topic,
#            .../pubsub_subscription, .../pubsub_topic_iam_member, .../pubsub_subscription_iam_member

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  pubsub_agent     = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
  monitoring_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-monitoring-notification.iam.gserviceaccount.com"
  scheduler_agent  = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-cloudscheduler.iam.gserviceaccount.com"
}

resource "google_pubsub_topic" "topics" {
  for_each = toset(["alerts", "commands", "outcomes", "dead-letter"])
  # checkov:skip=CKV_GCP_83:Messages are alert notifications, commands and outcomes (no customer data) and live at most 7 days; Google-managed encryption applies. A CMEK would add a key ring whose loss silences Runwarden.

  project = var.project_id
  name    = "${var.name_prefix}-${each.value}"
  labels  = local.labels
  # Seven days less the clock allowance (locals.tf, message_retention): a message that reached nobody can
  # still be read while someone investigates, and none outlives the records that answer its redelivery.
  message_retention_duration = local.message_retention

  depends_on = [google_project_service.apis]
}

# The push subscriptions: one per Pub/Sub-driven function.
resource "google_pubsub_subscription" "push" {
  for_each = local.functions

  project = var.project_id
  name    = "${var.name_prefix}-${each.value.topic}-to-${replace(each.key, "_", "-")}"
  topic   = google_pubsub_topic.topics[each.value.topic].id
  labels  = local.labels

  ack_deadline_seconds       = local.ack_deadline_seconds
  message_retention_duration = local.message_retention
  # Never expire, however quiet the topic is.
  expiration_policy {
    ttl = ""
  }

  # No no_wrapper block, on purpose: the functions are CloudEvent functions, and a push with payload
  # unwrapping (Pub/Sub "Payload unwrapping": the message data as the request body) is answered 400/415
  # by functions-framework before Runwarden runs, so every alert would end on the dead-letter topic
  # (docs/deploy.md, runbook "A message on the dead-letter topic"). An apply removes one set by hand.
  push_config {
    push_endpoint = google_cloudfunctions2_function.pubsub[each.key].service_config[0].uri
    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = google_cloudfunctions2_function.pubsub[each.key].service_config[0].uri
    }
  }

  # Retry on failure: a non-2xx answer (a transient fault the code raised) is redelivered
  # with exponential backoff, up to max_delivery_attempts, then dead-lettered.
  retry_policy {
    minimum_backoff = local.retry_minimum_backoff
    maximum_backoff = local.retry_maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.topics["dead-letter"].id
    max_delivery_attempts = var.max_delivery_attempts
  }
}

# Messages on the dead-letter topic need a subscription to be kept; the watchdog alerts on it.
resource "google_pubsub_subscription" "dead_letter_hold" {
  project = var.project_id
  name    = "${var.name_prefix}-dead-letter-hold"
  topic   = google_pubsub_topic.topics["dead-letter"].id
  labels  = local.labels

  ack_deadline_seconds       = 60
  message_retention_duration = local.message_retention
  expiration_policy {
    ttl = ""
  }
}

# Dead-lettering is done by the Pub/Sub service agent: it publishes to the dead-letter topic
# and acknowledges on the source subscription (Pub/Sub "Dead-letter topics", permissions).
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.topics["dead-letter"].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each = google_pubsub_subscription.push

  project      = var.project_id
  subscription = each.value.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# The alerts topic receives Cloud Monitoring's notifications through its service agent.
resource "google_pubsub_topic_iam_member" "monitoring_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.topics["alerts"].name
  role    = "roles/pubsub.publisher"
  member  = local.monitoring_agent

  # The agent exists once the project has a Pub/Sub notification channel.
  depends_on = [google_monitoring_notification_channel.runwarden]
}

# The commands topic: Cloud Scheduler's sweep and the operators.
resource "google_pubsub_topic_iam_member" "scheduler_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.topics["commands"].name
  role    = "roles/pubsub.publisher"
  member  = local.scheduler_agent
}

resource "google_pubsub_topic_iam_member" "operators_publisher" {
  count = var.operators_group == "" ? 0 : 1

  project = var.project_id
  topic   = google_pubsub_topic.topics["commands"].name
  role    = "roles/pubsub.publisher"
  member  = "group:${var.operators_group}"
}
