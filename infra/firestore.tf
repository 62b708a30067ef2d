# Runwarden's state: a named Firestore database, and TTL policies so that expired claims,
# cooldowns, budget slots and old records are deleted by Firestore rather than piling up.
# Reference: registry.terraform.io/providers/hashicorp/google/latest/docs/resources/firestore_database,
#            .../firestore_field (ttl_config); Firestore "Manage data retention with TTL policies"
#            (deletion typically within 24 hours after the expiry time; documents without a
#            timestamp in the field are never deleted).

resource "google_firestore_database" "runwarden" {
  project     = var.project_id
  name        = var.firestore_database
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"

  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  # `terraform destroy` leaves the database (and its audit trail of actions) in place;
  # docs/deploy.md says how to delete it deliberately.
  deletion_policy = "ABANDON"

  depends_on = [google_project_service.apis]

  # A database does not move: its location is given when it is created (CreateDatabase; `gcloud firestore
  # databases update` takes no location, only its delete protection, PITR and type), so the provider plans a
  # changed location_id as a replacement (its schema: UNCONFIRMED here, where the provider cannot be downloaded).
  # A replacement abandons the old database (deletion_policy) and creates one of the same name, which Firestore
  # refuses (the name is taken): the apply stopped half-way, after the functions, with the database gone from
  # the state; and a new database would have held none of Runwarden's state (the kill switch, pins, claims,
  # cooldowns, action records). The example root passed its `region` as the location, so moving the functions
  # moved the database with them. So a changed firestore_location is never applied, and the plan stops, saying
  # where the database is.
  lifecycle {
    ignore_changes = [location_id]

    postcondition {
      condition     = self.location_id == var.firestore_location
      error_message = "Runwarden's Firestore database ${self.name} is in ${self.location_id}, but firestore_location is ${var.firestore_location}: a database cannot move, and a new one would hold none of Runwarden's state (the kill switch, pins, claims, action records). Set firestore_location back to ${self.location_id} (infra/examples/basic: its firestore_location variable, which defaults to region); docs/deploy.md, 'Moving Runwarden'."
    }
  }
}

resource "google_firestore_field" "ttl" {
  for_each = toset(local.ttl_collections)

  project    = var.project_id
  database   = google_firestore_database.runwarden.name
  collection = "${var.collection_prefix}_${each.value}"
  field      = "expires_at"

  ttl_config {}
}

# The sweep's query of intents no attempt recorded (shared/remediation/verification.py,
# FirestoreStateStore.find_before): state == "open" AND noted_at < cutoff ORDER BY noted_at; and a pause's
# of the plans that may be under way (shared/commands/pause.py): state == "open" AND noted_at >= (now less
# a lease) ORDER BY noted_at, the same fields in the same order. An
# equality and a range filter on different fields need a composite index ("If you attempt a compound
# query with a range clause that doesn't map to an existing index, you receive an error", Firestore
# "Index types"). Reference: registry.terraform.io/providers/hashicorp/google/latest/docs/resources/firestore_index.
resource "google_firestore_index" "open_intents" {
  project     = var.project_id
  database    = google_firestore_database.runwarden.name
  collection  = "${var.collection_prefix}_intents"
  query_scope = "COLLECTION"

  fields {
    field_path = "state"
    order      = "ASCENDING"
  }

  fields {
    field_path = "noted_at"
    order      = "ASCENDING"
  }
}

# The sweep's queries of actions (shared/remediation/verification.py, Sweep._page): state == "pending",
# and state == "undoing", each AND deadline_at < (the last timestamp) [AND deadline_at >= (the last
# deadline of the page before), to read past the stuck ones] ORDER BY deadline_at LIMIT 50, so that with
# more than 50 the earliest deadlines are judged first (an equality alone returns document order). An
# equality and a range on different fields need a composite index, as for the intents above; one index
# serves every value of the equality, and both range filters are on the field the query orders by ("the
# ORDER BY clause of a query determines which indexes can be used to serve the query", Firestore "Query
# with range and inequality filters on multiple fields overview"; not checked against a real database,
# the emulator needing no index: UNCONFIRMED). The name stays `pending_actions`: renaming it would
# replace the deployed index.
resource "google_firestore_index" "pending_actions" {
  project     = var.project_id
  database    = google_firestore_database.runwarden.name
  collection  = "${var.collection_prefix}_actions"
  query_scope = "COLLECTION"

  fields {
    field_path = "state"
    order      = "ASCENDING"
  }

  fields {
    field_path = "deadline_at"
    order      = "ASCENDING"
  }
}

# The sweep's reports kept until they are published (records.KeptReport): in an intent, an action
# record (the verification outcomes), a log-based incident (its `resolved`), a pin (its reminder) and
# an operator command's answer (records.CommandAnswer).
# Each is an outcome's JSON, a few KB, never queried (shared/remediation/verification.py). Their single-field indexes are
# disabled so that an index entry never carries them: an empty index configuration "disables all
# indexes on the field" (registry.terraform.io/providers/hashicorp/google/latest/docs/resources/firestore_field,
# index_config), as `gcloud firestore indexes fields update --disable-indexes` creates "an exemption
# for the field ... in which all indexes are disabled" (gcloud reference). The queries of pending
# reports are on `report_state`, which keeps its indexes.
resource "google_firestore_field" "report" {
  for_each = toset(local.report_collections)

  project    = var.project_id
  database   = google_firestore_database.runwarden.name
  collection = "${var.collection_prefix}_${each.value}"
  field      = "report"

  index_config {}
}

# The reports kept before a later one in the same record, not yet published (records.KeptReport.
# earlier_reports, a list of outcomes' JSON, usually empty): never queried either, so never indexed.
resource "google_firestore_field" "earlier_reports" {
  for_each = toset(local.report_collections)

  project    = var.project_id
  database   = google_firestore_database.runwarden.name
  collection = "${var.collection_prefix}_${each.value}"
  field      = "earlier_reports"

  index_config {}
}

# The intents' exemption was a resource of its own before the action records had one.
moved {
  from = google_firestore_field.intent_report
  to   = google_firestore_field.report["intents"]
}
