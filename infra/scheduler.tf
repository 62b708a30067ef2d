# The verification sweep: Cloud Scheduler publishes {"command": "sweep"} on the commands topic.
# Reference: registry.terraform.io/providers/hashicorp/google/latest/docs/resources/cloud_scheduler_job

resource "google_cloud_scheduler_job" "sweep" {
  project     = var.project_id
  region      = var.region
  name        = "${var.name_prefix}-sweep"
  description = "Runwarden's verification sweep, every ${var.sweep_interval_minutes} minutes."
  schedule    = "*/${var.sweep_interval_minutes} * * * *"
  time_zone   = "Etc/UTC"

  pubsub_target {
    topic_name = google_pubsub_topic.topics["commands"].id
    data       = base64encode(jsonencode({ command = "sweep" }))
    attributes = { origin = "cloud-scheduler" }
  }

  depends_on = [google_pubsub_topic_iam_member.scheduler_publisher]
}
