# The verification sweep: Cloud Scheduler publishes {"command": "sweep"} on the commands topic.
# Reference: registry.terraform.io/providers/hashicorp/google/latest/docs/resources/cloud_scheduler_job

resource "google_cloud_scheduler_job" "sweep" {
  project     = var.project_id
  region      = var.region
  name        = "${var.name_prefix}-sweep"
  description = "Runwarden's verification sweep, every ${var.sweep_interval_minutes} minutes."
  schedule    = "*/${var.sweep_interval_minutes} * * * *"
  time_zone   = "Etc/UTC"

  # A failed attempt (the publish not acknowledged: a Pub/Sub outage, a grant not yet propagated)
  # is retried at 5, 10 and 20 s. Without retry_config, retry_count is 0 and "a job attempt won't
  # be retried if it fails. Instead, Cloud Scheduler will wait for the next scheduled execution
  # time" (Cloud Scheduler "Retry jobs"; RetryConfig reference): one transient fault would cost a
  # whole sweep period of verification. The retries end 35 s after the attempt, inside the shortest
  # interval sweep_interval_minutes allows (1 minute), since "the next scheduled execution time might
  # be skipped if the retries continue through that time" (same page). A second delivery of one
  # sweep is harmless: two sweeps judge an action once (docs/behaviour.md). The page does not limit
  # retries to HTTP targets; that a Pub/Sub target's failed publish is retried alike is UNCONFIRMED.
  # No attempt_deadline: "For PubSub targets, this field is ignored" (Job.attempt_deadline, Cloud
  # Scheduler v1beta1 Job). An attempt ends with the publish; the sweep itself is bounded by its delivery
  # to on_command (the push subscription's ack deadline, above the function timeout it bounds itself by).
  retry_config {
    retry_count          = 3
    min_backoff_duration = "5s"
    max_backoff_duration = "20s"
    max_doublings        = 2
  }

  pubsub_target {
    topic_name = google_pubsub_topic.topics["commands"].id
    data       = base64encode(jsonencode({ command = "sweep" }))
    # For people only: Runwarden reads no attribute (shared/alerts/commands.py), but a sweep pulled
    # from the dead-letter hold then says it came from this job, not from an operator's publish.
    attributes = { origin = "cloud-scheduler" }
  }

  # After on_command's subscription: a sweep published before it exists reaches nobody (Pub/Sub
  # "Subscription overview": only messages published after a subscription is created are delivered).
  depends_on = [google_pubsub_topic_iam_member.scheduler_publisher, google_pubsub_subscription.push]
}
