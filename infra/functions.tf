# The functions, their service accounts and their source.
# Reference: registry.terraform.io/providers/hashicorp/google/latest/docs/resources/cloudfunctions2_function,
#            .../service_account, .../storage_bucket, .../storage_bucket_object;
#            registry.terraform.io/providers/hashicorp/archive/latest/docs/data-sources/file

# One identity per function, plus the identity Pub/Sub signs its pushes with.
resource "google_service_account" "functions" {
  for_each = toset(["on_alert", "on_command", "incident_timeline"])

  project      = var.project_id
  account_id   = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  display_name = "Runwarden ${each.key}"
  description  = "Runtime identity of Runwarden's ${each.key} function; holds only the custom role derived from its code."

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-push"
  display_name = "Runwarden Pub/Sub push"
  description  = "Signs Pub/Sub's pushes to on_alert and on_command; may only invoke them."

  depends_on = [google_project_service.apis]
}

# The source: the deployed layout and the config, named one by one (an allow-list, as .gcloudignore
# is for `gcloud functions deploy`), so that nothing else a checkout holds (a downloaded key, a .env,
# an IDE's files, a build's output) reaches the bucket or the image. Bytecode is left out: the
# runtime compiles for its own Python. tests/infra/test_upload.py plans this block on a checkout
# full of such files and compares it with .gcloudignore.
locals {
  source_roots = ["main.py", "requirements.txt", "LICENSE"]
  source_trees = ["functions", "shared"]
  source_files = toset([
    for f in setunion(
      fileset(var.source_dir, "{${join(",", local.source_roots)}}"),
      fileset(var.source_dir, var.config_file),
      [for tree in local.source_trees : fileset(var.source_dir, "${tree}/**")]...
    ) : f if !can(regex("(^|/)__pycache__/|\\.pyc$", f))
  ])
}

data "archive_file" "source" {
  type        = "zip"
  output_path = "${path.root}/.terraform/runwarden-source.zip"

  # Text files only (file() reads UTF-8): a binary file under functions/ or shared/ stops the plan,
  # naming it, rather than being shipped. The price: the state keeps this data source's contents,
  # about 1.5 MB of source text, as it keeps every data source's attributes.
  dynamic "source" {
    for_each = local.source_files
    content {
      content  = file("${var.source_dir}/${source.value}")
      filename = source.value
    }
  }
}

resource "google_storage_bucket" "source" {
  project  = var.project_id
  name     = "${var.project_id}-${var.name_prefix}-source"
  location = var.region
  labels   = local.labels

  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true # holds only build inputs, recreated by every apply

  versioning {
    enabled = true
  }
  lifecycle_rule {
    condition {
      num_newer_versions = 5
    }
    action {
      type = "Delete"
    }
  }
  # checkov:skip=CKV_GCP_62:Access logs of a bucket that holds only the functions' build input add cost, not evidence; Cloud Audit Logs already record who changed it.

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_object" "source" {
  # The content hash in the name makes every code change a new object, and so a new build.
  name   = "source-${data.archive_file.source.output_md5}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path

  lifecycle {
    precondition {
      condition     = fileexists("${var.source_dir}/${var.config_file}")
      error_message = "The config named by config_file must exist in source_dir: it is shipped with the source (docs/deploy.md, 'The config file')."
    }
  }
}

# The config must name what this module deploys (config_check/main.tf says why): checked at plan.
module "config_check" {
  source = "./config_check"

  config_path             = "${var.source_dir}/${var.config_file}"
  project_id              = var.project_id
  firestore_database      = var.firestore_database
  collection_prefix       = var.collection_prefix
  outcomes_topic          = "projects/${var.project_id}/topics/${var.name_prefix}-outcomes"
  commands_topic          = "projects/${var.project_id}/topics/${var.name_prefix}-commands"
  max_delivery_attempts   = var.max_delivery_attempts
  sweep_interval_seconds  = var.sweep_interval_minutes * 60
  watched_projects        = var.watched_projects
  connector_max_instances = var.connector_max_instances
}

# function_cpu against function_memory (function_resources/main.tf says why): checked at plan.
module "function_resources" {
  source = "./function_resources"

  cpu    = var.function_cpu
  memory = var.function_memory
}

locals {
  # BuildConfig.service_account: "projects/{projectId}/serviceAccounts/{serviceAccountEmail}" (Cloud
  # Functions v2 API, BuildConfig); the project is the one the email names.
  build_service_account = (var.build_service_account == null ? null :
  "projects/${regex("@([a-z0-9-]+)\\.iam\\.gserviceaccount\\.com$", var.build_service_account)[0]}/serviceAccounts/${var.build_service_account}")

  environment = {
    # gen2 functions run from /workspace, where the source is unpacked.
    RUNWARDEN_CONFIG = "/workspace/${var.config_file}"
    # Runwarden's own functions, as the Cloud Run services they run as: an alert about one is told to a person,
    # never acted on. K_SERVICE names only the instance's own, with no region (shared/gcp/identity.py).
    RUNWARDEN_REGION       = var.region
    RUNWARDEN_OWN_SERVICES = join(",", local.own_services)
  }
}

# on_alert and on_command. HTTP-triggered: Pub/Sub reaches them through the push
# subscriptions in pubsub.tf; functions-framework turns a Pub/Sub push body into the same
# CloudEvent an event trigger would deliver.
resource "google_cloudfunctions2_function" "pubsub" {
  for_each = local.functions

  project     = var.project_id
  location    = var.region
  name        = each.value.name
  description = "Runwarden ${each.key}: Pub/Sub push from the ${each.value.topic} topic."
  labels      = local.labels

  build_config {
    runtime         = "python312"
    entry_point     = each.value.entry_point
    service_account = local.build_service_account # null: the platform's default build account
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.functions[each.key].email
    timeout_seconds                  = local.function_timeout_seconds
    available_memory                 = var.function_memory
    available_cpu                    = module.function_resources.cpu # null: derived from the memory
    min_instance_count               = each.value.min
    max_instance_count               = var.max_instances
    max_instance_request_concurrency = 1
    # The timeout, told to the code too: the sweep starts no step it could not finish before it
    # (shared/remediation/sweep_budget.py).
    environment_variables = merge(local.environment, {
      RUNWARDEN_FUNCTION_TIMEOUT_SECONDS = tostring(local.function_timeout_seconds)
    })
    all_traffic_on_latest_revision = true
    # Internal only: Cloud Run counts Pub/Sub push from the same project as internal
    # (Cloud Run "Restricting ingress", Internal), and every push carries an identity token
    # checked against run.invoker (iam.tf).
    ingress_settings = "ALLOW_INTERNAL_ONLY"
  }
}

# The timeline: read-only, invoked by people (IAM only).
resource "google_cloudfunctions2_function" "timeline" {
  # checkov:skip=CKV_GCP_124:Operators call the timeline from their own machines, outside any VPC; every request needs an identity token with run.invoker, granted only to operators_group.
  project     = var.project_id
  location    = var.region
  name        = "${var.name_prefix}-timeline"
  description = "Runwarden incident_timeline: one incident's step lines, read from Cloud Logging."
  labels      = local.labels

  build_config {
    runtime         = "python312"
    entry_point     = "incident_timeline"
    service_account = local.build_service_account
    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    service_account_email          = google_service_account.functions["incident_timeline"].email
    timeout_seconds                = local.timeline_timeout_seconds
    available_memory               = var.function_memory
    min_instance_count             = 0
    max_instance_count             = 2
    environment_variables          = local.environment
    all_traffic_on_latest_revision = true
    ingress_settings               = "ALLOW_ALL"
  }
}
