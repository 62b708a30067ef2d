# The Google APIs Runwarden uses, enabled in its own project. Watched projects already run the
# services, so Cloud Run, Monitoring and Logging are on there. Every API the functions call is on here
# too, even one whose resources all live in a watched project: the functions call as their own service
# accounts, and for a client-based API "the project associated with the service account is used as the
# quota project" (Google Cloud "Quota project overview"); which APIs below are client-based is
# UNCONFIRMED, and enabled here each call is served either way (tests/infra/test_apis.py derives the
# list from the permissions the code declares).
# Reference: registry.terraform.io/providers/hashicorp/google/latest/docs/resources/google_project_service

locals {
  apis = [
    "cloudbuild.googleapis.com",           # gen2 functions are built by Cloud Build
    "cloudfunctions.googleapis.com",       # the functions
    "run.googleapis.com",                  # gen2 functions run as Cloud Run services; Runwarden's reads and writes
    "artifactregistry.googleapis.com",     # the functions' images
    "pubsub.googleapis.com",               # topics and push subscriptions
    "cloudscheduler.googleapis.com",       # the sweep
    "firestore.googleapis.com",            # guardrail state
    "monitoring.googleapis.com",           # evidence, the notification channel, alert policies
    "logging.googleapis.com",              # evidence, the timeline, log-based metrics and alerts
    "vpcaccess.googleapis.com",            # connector reads and scaling
    "secretmanager.googleapis.com",        # the rollback target's secret versions (metadata only)
    "iam.googleapis.com",                  # service accounts and custom roles
    "cloudresourcemanager.googleapis.com", # project IAM bindings
    "storage.googleapis.com",              # the function source bucket
  ]
}

resource "google_project_service" "apis" {
  for_each = var.enable_apis ? toset(local.apis) : toset([])

  project = var.project_id
  service = each.value
  # Removing Runwarden must not switch off APIs that other workloads in the project use.
  disable_on_destroy = false
}
