output "config_values" {
  description = "The values runwarden.yaml must carry for this deployment (project, outcomes_topic, commands_topic, state.database)."
  value = {
    project        = var.project_id
    outcomes_topic = module.runwarden.outcomes_topic
    commands_topic = module.runwarden.commands_topic
    state_database = module.runwarden.firestore_database
  }
}

output "function_uris" {
  description = "HTTPS URL of each Runwarden function."
  value       = module.runwarden.function_uris
}

output "service_accounts" {
  description = "Runwarden's own service accounts (its principals in audit logs)."
  value       = module.runwarden.service_accounts
}
