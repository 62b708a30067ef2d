# A worked example: Runwarden in its own project, watching the Cloud Run services of that
# project and, through watched_projects, of others (docs/deploy.md, "Watching services in other
# projects"). `terraform init && terraform apply` from this directory, after writing
# ../../../runwarden.yaml (docs/deploy.md, "The config file").

terraform {
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.14.0, < 8.0.0"
    }
  }
}

provider "google" {
  project = var.project_id
  region  = var.region
}

module "runwarden" {
  source = "../.."

  project_id         = var.project_id
  region             = var.region
  firestore_location = coalesce(var.firestore_location, var.region)
  source_dir         = abspath("${path.root}/../../..")

  managed_runtime_service_accounts = var.managed_runtime_service_accounts
  watched_projects                 = var.watched_projects
  watched_services                 = var.watched_services
  operators_group                  = var.operators_group
  human_notification_channels      = [google_monitoring_notification_channel.oncall.name]
  runbook_url                      = var.runbook_url
  build_service_account            = var.build_service_account
  connector_max_instances          = var.connector_max_instances
  service_request_timeouts         = var.service_request_timeouts
}

# The people who watch Runwarden: an e-mail channel here; PagerDuty or Slack work the same.
resource "google_monitoring_notification_channel" "oncall" {
  project      = var.project_id
  display_name = "Runwarden on-call"
  type         = "email"
  labels = {
    email_address = var.oncall_email
  }
}
