# Least privilege, derived from the code: one custom role per function with exactly the
# permissions its adapters and actions declare, less those granted only where they apply (Cloud Run's
# writes where a managed service lives, publish on the outcomes topic, act-as on the managed services'
# runtime accounts) (functions/permissions.py; tests/infra/test_iam.py holds the two to each other).
# Reference: registry.terraform.io/providers/hashicorp/google/latest/docs/resources/google_project_iam_custom_role,
#            .../google_project_iam (google_project_iam_member), .../google_service_account_iam
#            (google_service_account_iam_member), .../cloud_run_service_iam (google_cloud_run_service_iam_member)

locals {
  role_prefix   = replace(var.name_prefix, "-", "_")
  role_projects = toset(concat([var.project_id], var.watched_projects))
}

resource "google_project_iam_custom_role" "functions" {
  for_each = local.role_permissions

  project     = var.project_id
  role_id     = "${local.role_prefix}_${each.key}"
  title       = "Runwarden ${each.key}"
  description = "Exactly what Runwarden's ${each.key} code declares it calls (functions/permissions.py)."
  permissions = each.value

  # Upgrading from a version whose project role held Firestore's permissions: narrow it only once the
  # database-scoped grant exists, so the functions are never left without their state by the apply's order.
  depends_on = [google_project_iam_member.state]
}

resource "google_project_iam_member" "functions" {
  for_each = local.role_permissions

  project = var.project_id
  role    = google_project_iam_custom_role.functions[each.key].id
  member  = "serviceAccount:${google_service_account.functions[each.key].email}"
}

# Firestore on Runwarden's database only. A project-wide grant let the functions read, change and
# delete every document of every other database in the project, which no call needs. Firestore documents
# per-database access as a project binding with an IAM condition on the database's resource name:
# `resource.name=="projects/PROJECT_ID/databases/DATABASE_ID"` (Firestore "Manage databases", "Configure
# per-database access permissions", whose example binds roles/datastore.user, i.e. datastore.entities.*
# among others, with that equality alone), and IAM lists firestore.googleapis.com among the services
# that recognise resource attributes in a condition (IAM "Resource attributes for IAM Conditions").
# A custom role is scoped alike: a condition is evaluated on the resource a permission is checked on,
# whatever role holds it, and only legacy basic roles (or a grant to all users) take none
# (IAM "Overview of IAM Conditions", Conditions in allow policies). Which resource an entity permission
# is checked on: the database, not a document under it, for reads — a Data Access audit entry of
# google.firestore.v1.Firestore.Listen shows datastore.entities.get and .list checked on
# "projects/P/databases/(default)", resourceAttributes type firestore.googleapis.com/Database, for a
# query of documents (puf/puf.io "notes/posts/Counting document reads in Firestore.md"). For the writes
# (Commit: create, update, delete) no such entry was found, so the database there too is UNCONFIRMED,
# implied only by the page's example. So the condition also admits a document of Runwarden's database;
# any other database of the project is refused; and a check on anything that is not one of the
# project's databases (the project, or a database named by project number: neither seen) is still
# granted, so an undocumented reading can widen the grant back to what it was, never blind the
# functions. Its own permissions: locals.tf, state_role_permissions. tests/infra/test_iam.py evaluates
# the condition.
locals {
  state_database  = "projects/${var.project_id}/databases/${google_firestore_database.runwarden.name}"
  state_condition = "resource.name == \"${local.state_database}\" || resource.name.startsWith(\"${local.state_database}/\") || !resource.name.startsWith(\"projects/${var.project_id}/databases/\")"
}

resource "google_project_iam_custom_role" "state" {
  for_each = local.state_role_permissions

  project     = var.project_id
  role_id     = "${local.role_prefix}_${each.key}_state"
  title       = "Runwarden ${each.key}: its Firestore state"
  description = "The Firestore calls Runwarden's ${each.key} code declares (functions/permissions.py), granted on its own database only."
  permissions = each.value
}

resource "google_project_iam_member" "state" {
  for_each = local.state_role_permissions

  project = var.project_id
  role    = google_project_iam_custom_role.state[each.key].id
  member  = "serviceAccount:${google_service_account.functions[each.key].email}"

  condition {
    title       = "runwarden-state-database-only"
    description = "Only Runwarden's own Firestore database (${google_firestore_database.runwarden.name})."
    expression  = local.state_condition
  }
}

# Watched projects: the same reads and writes (the project role holds no Firestore permission).
resource "google_project_iam_custom_role" "watched" {
  for_each = local.watched_pairs

  project     = each.value.project
  role_id     = "${local.role_prefix}_${each.value.function}_watched"
  title       = "Runwarden ${each.value.function} (watched project)"
  description = "What Runwarden's ${each.value.function} code calls in a project it watches (functions/permissions.py)."
  permissions = local.watched_role_permissions[each.value.function]

  lifecycle {
    precondition {
      condition     = each.value.project != var.project_id
      error_message = "watched_projects lists other projects only: project_id already has each function's full role."
    }
  }
}

resource "google_project_iam_member" "watched" {
  for_each = local.watched_pairs

  project = each.value.project
  role    = google_project_iam_custom_role.watched[each.key].id
  member  = "serviceAccount:${google_service_account.functions[each.value.function].email}"
}

# Cloud Run's writes (UpdateService, and GetOperation while waiting on it) only in the projects that
# hold a service the config manages (config_check/main.tf, service_projects): every action on a
# service refuses one the config does not manage (Config.manages), so a project-wide grant anywhere
# else (a watched project holding only a connector or a Cloud SQL instance; Runwarden's own project
# when it watches others, where its own functions are Cloud Run services) served no call.
# functions/permissions.py derives the set (service_writes); tests/infra/test_iam.py holds the two.
resource "google_project_iam_custom_role" "service_writes" {
  for_each = local.service_projects

  project     = each.value
  role_id     = "${local.role_prefix}_service_writes"
  title       = "Runwarden: change a managed service's traffic"
  description = "Update a Cloud Run service's traffic and wait on the operation, in a project holding a service Runwarden's config manages."
  permissions = local.service_write_permissions
}

resource "google_project_iam_member" "service_writes" {
  for_each = local.service_write_pairs

  project = each.value.project
  role    = google_project_iam_custom_role.service_writes[each.value.project].id
  member  = "serviceAccount:${google_service_account.functions[each.value.function].email}"
}

# iam.serviceAccounts.actAs, and nothing else, on the managed services' runtime accounts only
# (Cloud Run's UpdateService may check it on the service's identity). A custom role can only
# be granted in the project that defines it, so each project that may hold such an account
# gets one.
resource "google_project_iam_custom_role" "act_as" {
  for_each = local.role_projects

  project     = each.value
  role_id     = "${local.role_prefix}_act_as"
  title       = "Runwarden act-as"
  description = "Act as a managed Cloud Run service's runtime account when updating its traffic."
  permissions = local.act_as_permissions
}

# The project of each managed runtime account (account_projects/main.tf): user-managed accounts name
# it, the Compute Engine default account (Cloud Run's default service identity) names its number.
data "google_project" "role_projects" {
  for_each = local.role_projects

  project_id = each.value
}

module "account_projects" {
  source = "./account_projects"

  accounts        = var.managed_runtime_service_accounts
  project_numbers = { for id, project in data.google_project.role_projects : project.number => id }
}

resource "google_service_account_iam_member" "act_as" {
  for_each = local.act_as_pairs

  service_account_id = "projects/${module.account_projects.projects[each.value.account]}/serviceAccounts/${each.value.account}"
  role               = google_project_iam_custom_role.act_as[module.account_projects.projects[each.value.account]].id
  member             = "serviceAccount:${google_service_account.functions[each.value.function].email}"

  lifecycle {
    precondition {
      condition     = contains(tolist(local.role_projects), module.account_projects.projects[each.value.account])
      error_message = "A managed runtime service account must live in project_id or in one of watched_projects: NAME@PROJECT.iam.gserviceaccount.com, PROJECT@appspot.gserviceaccount.com, or the Compute Engine default NUMBER-compute@developer.gserviceaccount.com of one of those projects."
    }
  }
}

# Outcomes: publish on the outcomes topic only. roles/pubsub.publisher holds exactly
# pubsub.topics.publish (infra/iam/permissions.txt lists its source).
resource "google_pubsub_topic_iam_member" "outcomes_publisher" {
  for_each = local.functions

  project = var.project_id
  topic   = google_pubsub_topic.topics["outcomes"].name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.functions[each.key].email}"
}

# Operators wait for their command's outcome (locals.tf, operator_*_permissions): without these
# the CLI's `runwarden pause`, `status`, `approve` ... fail with PERMISSION_DENIED on
# CreateSubscription after publishing (only `--no-wait` would work). Pub/Sub grants the creator
# nothing on the subscription it creates, hence the project-level role; the attach permission
# stays on the outcomes topic only, so operators cannot read the alerts or commands topics. An IAM
# condition on the CLI's subscription names (runwarden-cli-...) cannot narrow it: IAM's "Resource
# attributes for IAM Conditions" lists pubsublite.googleapis.com, not Pub/Sub, among the services that
# recognise a resource's name. So operators may consume from and delete any subscription in project_id
# (Runwarden's dead-letter hold and push subscriptions, and any other workload's): docs/deploy.md says to
# give Runwarden a project of its own where that matters.
resource "google_project_iam_custom_role" "operator_waits" {
  count = var.operators_group == "" ? 0 : 1

  project     = var.project_id
  role_id     = "${local.role_prefix}_operator_waits"
  title       = "Runwarden operator: wait for an outcome"
  description = "Create, pull from and delete the CLI's own filtered subscription on the outcomes topic (cli/_commands.py)."
  permissions = local.operator_project_permissions
}

resource "google_project_iam_member" "operator_waits" {
  count = var.operators_group == "" ? 0 : 1

  project = var.project_id
  role    = google_project_iam_custom_role.operator_waits[0].id
  member  = "group:${var.operators_group}"
}

resource "google_project_iam_custom_role" "operator_attach" {
  count = var.operators_group == "" ? 0 : 1

  project     = var.project_id
  role_id     = "${local.role_prefix}_operator_attach"
  title       = "Runwarden operator: attach to the outcomes topic"
  description = "Attach the CLI's subscription to the outcomes topic; granted on that topic only."
  permissions = local.operator_outcomes_topic_permissions
}

resource "google_pubsub_topic_iam_member" "operators_outcomes" {
  count = var.operators_group == "" ? 0 : 1

  project = var.project_id
  topic   = google_pubsub_topic.topics["outcomes"].name
  role    = google_project_iam_custom_role.operator_attach[0].id
  member  = "group:${var.operators_group}"
}

# Invokers: the push identity on the two Pub/Sub-driven functions, people on the timeline.
# A gen2 function is invoked through its Cloud Run service, which checks run.invoker.
resource "google_cloud_run_service_iam_member" "push_invoker" {
  for_each = local.functions

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.pubsub[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push.email}"
}

resource "google_cloud_run_service_iam_member" "timeline_invoker" {
  count = var.operators_group == "" ? 0 : 1

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.timeline.name
  role     = "roles/run.invoker"
  member   = "group:${var.operators_group}"
}

# Pub/Sub mints the push's OIDC token for the push identity (Pub/Sub "Authentication for push
# subscriptions": needed for projects created before April 2021; harmless after).
resource "google_service_account_iam_member" "push_token_creator" {
  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}
