# What the module creates that a person or the config needs.

output "alerts_topic" {
  description = "Full name of the topic Cloud Monitoring's notifications arrive on."
  value       = google_pubsub_topic.topics["alerts"].id
}

output "commands_topic" {
  description = "Full name of the commands topic: the config's commands_topic; operators publish their commands here (docs/commands.md)."
  value       = google_pubsub_topic.topics["commands"].id
}

output "outcomes_topic" {
  description = "Full name of the outcomes topic: the config's outcomes_topic."
  value       = google_pubsub_topic.topics["outcomes"].id
}

output "dead_letter_topic" {
  description = "Full name of the dead-letter topic; read its messages from dead_letter_subscription."
  value       = google_pubsub_topic.topics["dead-letter"].id
}

output "dead_letter_subscription" {
  description = "Subscription that keeps dead-lettered messages for 7 days less 5 minutes (gcloud pubsub subscriptions pull)."
  value       = google_pubsub_subscription.dead_letter_hold.id
}

output "notification_channel" {
  description = "Runwarden's Pub/Sub notification channel: add it to any alert policy Runwarden should handle."
  value       = google_monitoring_notification_channel.runwarden.name
}

output "function_uris" {
  description = "HTTPS URL of each function (on_alert, on_command, incident_timeline); all require an identity token."
  value = merge(
    { for k, f in google_cloudfunctions2_function.pubsub : k => f.service_config[0].uri },
    { incident_timeline = google_cloudfunctions2_function.timeline.service_config[0].uri },
  )
}

output "service_accounts" {
  description = "Email of each function's runtime service account: Runwarden's own principals in audit logs."
  value       = { for k, sa in google_service_account.functions : k => sa.email }
}

output "firestore_database" {
  description = "Name of Runwarden's Firestore database: the config's state.database."
  value       = google_firestore_database.runwarden.name
}

output "function_timeout_seconds" {
  description = "Timeout of on_alert and on_command, in seconds (covers the longest operation wait; see locals.tf)."
  value       = local.function_timeout_seconds
}

output "ack_deadline_seconds" {
  description = "Ack deadline of the push subscriptions, in seconds (above the function timeout)."
  value       = local.ack_deadline_seconds
}
