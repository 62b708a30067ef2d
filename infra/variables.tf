# Every input of the Runwarden module. docs/deploy.md explains each in context.

variable "project_id" {
  description = "The project Runwarden runs in: its functions, topics, Firestore state and alert policies (its id, e.g. my-project, not its number)."
  type        = string

  validation {
    # A project id: 6-30 lowercase letters, digits or hyphens, starting with a letter, not ending with a
    # hyphen (Resource Manager, "Creating and managing projects"). The config, the alerts' resource labels
    # and every name built here (topics, roles, the Firestore condition) use the id, never the number. A
    # domain-scoped id (example.com:p) is refused too: the source bucket is named after the project, and a
    # bucket name takes no colon (Cloud Storage, "Bucket names").
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project id: 6-30 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen (e.g. my-project; not the project number or its display name). A domain-scoped project (example.com:p) cannot host Runwarden: its source bucket is named after the project, and bucket names take no colon."
  }

  validation {
    # The source bucket's name begins with the project id (functions.tf, "<project_id>-<prefix>-source"), and
    # "Bucket names cannot begin with the \"goog\" prefix" (Cloud Storage, "Bucket names"): in such a project the
    # apply failed at the bucket, after the accounts, roles and database were made. Whether Resource Manager gives
    # out project ids that begin so is UNCONFIRMED (its page refuses ids holding "google"); refused here either way.
    condition     = !startswith(var.project_id, "goog")
    error_message = "project_id begins with \"goog\": Runwarden's source bucket is named <project_id>-<prefix>-source, and Cloud Storage refuses a bucket name that begins with \"goog\". Deploy Runwarden in another project and list this one in watched_projects."
  }
}

variable "region" {
  description = "Region of the functions, the Scheduler job and the function source bucket, e.g. us-central1."
  type        = string

  validation {
    # A region is lowercase words and a number (us-central1, northamerica-northeast2); a zone adds
    # "-a" (shared/gcp/identifiers.py, _ZONE), a multi-region such as nam5 is a Firestore location only.
    condition     = can(regex("^[a-z]+(-[a-z]+)+[0-9]+$", var.region))
    error_message = "region must be a Cloud region such as us-central1: not a zone (us-central1-a) nor a multi-region (nam5, which firestore_location may be)."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name this module creates (topics, functions, service accounts, roles)."
  type        = string
  default     = "runwarden"

  validation {
    # The longest service account id is "<prefix>-incident-timeline": 18 characters after the prefix,
    # and IAM allows 30 (projects.serviceAccounts.create, accountId: 6-30 characters).
    condition     = can(regex("^[a-z][a-z0-9-]{2,11}$", var.name_prefix))
    error_message = "name_prefix must be 3-12 lowercase letters, digits or hyphens, starting with a letter (\"<prefix>-incident-timeline\" is a service account id, and those are at most 30 characters)."
  }

  validation {
    # The topics and subscriptions are "<prefix>-..." (pubsub.tf), and a Pub/Sub topic's or subscription's id
    # "must not start with \"goog\"" (google/pubsub/v1/pubsub.proto, Topic.name and Subscription.name); the source
    # bucket is "<project_id>-<prefix>-source" (functions.tf), and a bucket name "cannot contain \"google\" or close
    # misspellings, such as \"g00gle\"" (Cloud Storage, "Bucket names"). Either passed plan and failed at apply, the
    # bucket after the accounts, roles and database were made. Which other misspellings Cloud Storage refuses is
    # UNCONFIRMED: the one the page names is refused here.
    condition     = !startswith(var.name_prefix, "goog") && !can(regex("g[o0][o0]gle", var.name_prefix))
    error_message = "name_prefix must not start with \"goog\" (Pub/Sub refuses a topic or subscription id that does) nor contain \"google\" or \"g00gle\" (Cloud Storage refuses a bucket name that does, and the source bucket is <project_id>-<prefix>-source)."
  }
}

variable "source_dir" {
  description = "Path to the Runwarden repository root: main.py, requirements.txt, LICENSE, functions/, shared/ and the config are zipped from it as the functions' source, nothing else."
  type        = string
}

variable "config_file" {
  description = "Runwarden's YAML config, relative to source_dir; shipped with the source and named by RUNWARDEN_CONFIG."
  type        = string
  default     = "runwarden.yaml"

  validation {
    # The file's path inside the source: its zip entry is named by fileset(source_dir, config_file)
    # (functions.tf) and the functions read /workspace/<config_file>. "../x.yaml" was zipped as an entry
    # outside the directory the source is unpacked in; an absolute path named no file of the source.
    condition     = can(regex("^[^/]", var.config_file)) && !endswith(var.config_file, "/") && !contains(split("/", var.config_file), "..")
    error_message = "config_file must be a file's path inside source_dir, relative to it (runwarden.yaml, config/prod.yaml): not absolute, not a directory, and without \"..\"."
  }
}

variable "min_instances" {
  description = "Minimum instances of on_alert (0 = scale to zero; 1 removes the cold start from the first alert, at the cost of an idle instance)."
  type        = number
  default     = 0

  validation {
    condition     = var.min_instances >= 0 && var.min_instances <= 3 && floor(var.min_instances) == var.min_instances
    error_message = "min_instances must be a whole number between 0 and 3."
  }
}

variable "max_instances" {
  description = "Maximum instances of each Pub/Sub-driven function: bounds concurrency during an alert storm (the gate's claims make extra instances safe, not useful)."
  type        = number
  default     = 5

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 100 && floor(var.max_instances) == var.max_instances
    error_message = "max_instances must be a whole number between 1 and 100."
  }

  # on_alert's min_instances is its min_instance_count, this its max_instance_count (functions.tf): the
  # functions' API keeps min at or under max (Cloud Functions v2 API, ServiceConfig: min_instance_count,
  # "the limit on the minimum number of function instances that may coexist"; how it refuses min > max is
  # UNCONFIRMED), so the pair is refused here, at plan, before any resource is created. A validation that
  # names another variable needs Terraform 1.9 (Terraform docs, "Input variables: Custom validation rules").
  validation {
    condition     = var.max_instances >= var.min_instances
    error_message = "max_instances must be at least min_instances (on_alert's instances to keep warm): raise max_instances or lower min_instances."
  }
}

variable "build_service_account" {
  description = "Email of a user-managed service account (NAME@PROJECT.iam.gserviceaccount.com) that Cloud Build runs the functions' builds as, where the project's default build account is disabled or has no roles (docs/deploy.md, Prerequisites). null: the platform's default."
  type        = string
  default     = null

  validation {
    condition     = var.build_service_account == null || can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\\.iam\\.gserviceaccount\\.com$", var.build_service_account))
    error_message = "build_service_account must be a user-managed service account's email, NAME@PROJECT.iam.gserviceaccount.com, or null."
  }
}

variable "function_memory" {
  description = "Memory of each function (Cloud Run syntax, e.g. 512Mi)."
  type        = string
  default     = "512Mi"

  validation {
    # ServiceConfig.available_memory: "Supported units are k, M, G, Mi, Gi. If no unit is supplied the
    # value is interpreted as bytes" (google/cloud/functions/v2/functions.proto). "512MB" is refused by the
    # API only when the function is created, after its build.
    condition     = can(regex("^[1-9][0-9]*(k|M|G|Mi|Gi)$", var.function_memory))
    error_message = "function_memory must be a whole number with one of the units k, M, G, Mi or Gi, e.g. 512Mi or 1Gi (not 512MB, nor a bare number of bytes)."
  }
}

variable "function_cpu" {
  description = "vCPUs of on_alert and on_command (Cloud Run syntax: \"0.583\", \"1\", \"2\"). null lets the platform derive it from function_memory (512Mi: 0.333 vCPU). A cold start is mostly Python imports on one thread, so \"1\" shortens it about threefold, at about three times the CPU price per second (docs/performance.md, Cold start)."
  type        = string
  default     = null

  validation {
    condition     = var.function_cpu == null ? true : try(tonumber(var.function_cpu) >= 0.083 && tonumber(var.function_cpu) <= 8, false)
    error_message = "function_cpu must be null or a number of vCPUs between 0.083 and 8."
  }
}

variable "max_delivery_attempts" {
  description = "Deliveries of one message before Pub/Sub moves it to the dead-letter topic (the API allows 5-100; the config's delivery.max_attempts must equal it). At 10 with the 10-600 s backoff, the deliveries span 90 s if the backoff never grows (Pub/Sub does not state its factor) to 2,430 s if it doubles: under the first reading a page claim left by a delivery that died mid-publish (its lease 900 s) and a storm's refused push reach a person only through the watchdog's dead-letter page. 92 or more keeps them on the direct path under either reading, at the cost of a lasting transient fault answered failed only after over 14 hours (docs/deploy.md, \"The dead-letter count\")."
  type        = number
  default     = 10

  validation {
    # DeadLetterPolicy.max_delivery_attempts: an int32 from 5 to 100 (google/pubsub/v1/pubsub.proto).
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100 && floor(var.max_delivery_attempts) == var.max_delivery_attempts
    error_message = "max_delivery_attempts must be a whole number between 5 and 100 (Pub/Sub's DeadLetterPolicy range). Below 92, a page waited on out to its claim's lease (900 s) may reach a person only through the watchdog's dead-letter page if Pub/Sub's backoff does not grow (docs/deploy.md, \"The dead-letter count\")."
  }
}

variable "sweep_interval_minutes" {
  description = "Minutes between verification sweeps published by Cloud Scheduler; the heartbeat alert fires after 3 missed sweeps. Must be shorter than the config's verification period (deadline_seconds - settle_seconds; checked at plan)."
  type        = number
  default     = 5

  validation {
    condition     = contains([1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30], var.sweep_interval_minutes)
    error_message = "sweep_interval_minutes must divide an hour (1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30)."
  }
}

variable "firestore_location" {
  description = "Location of Runwarden's Firestore database (a region such as us-central1, or a multi-region such as nam5)."
  type        = string

  validation {
    # The multi-regions and regions on Firestore's "Locations" page (its Standard and Enterprise
    # editions list the same ones). An App Engine location id (us-central, europe-west), a zone or
    # another product's multi-region (US, EU) passed plan and failed at apply, when CreateDatabase
    # refused it after the topics, accounts and roles were made. A region Firestore adds later is
    # refused here until it is added to this list.
    condition = contains([
      "nam5", "nam7", "eur3",
      "us-west1", "us-west2", "us-west3", "us-west4", "us-central1", "us-east1", "us-east4", "us-east5", "us-south1",
      "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
      "southamerica-west1", "southamerica-east1",
      "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-west6", "europe-west8", "europe-west9",
      "europe-west10", "europe-west12", "europe-southwest1", "europe-north1", "europe-north2", "europe-central2",
      "me-central1", "me-central2", "me-west1",
      "asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2", "asia-east1", "asia-east2",
      "asia-northeast1", "asia-northeast2", "asia-northeast3",
      "australia-southeast1", "australia-southeast2", "africa-south1",
    ], var.firestore_location)
    error_message = "firestore_location must be a Firestore location: a multi-region (nam5, nam7, eur3) or a region Firestore offers, such as us-central1 or europe-west4 (Firestore \"Locations\"); not an App Engine location id (us-central, europe-west), a zone, nor US or EU."
  }
}

variable "firestore_database" {
  description = "Name of the Firestore database created for Runwarden's state; the config's state.database must match."
  type        = string
  default     = "runwarden"

  validation {
    # The config loader's pattern (shared/config.py, _DATABASE_ID: Firestore's databaseId rule, REST
    # projects.databases.create); tests/infra/test_variables.py holds the two together.
    condition     = can(regex("^(\\(default\\)|[a-z][a-z0-9-]{2,61}[a-z0-9])$", var.firestore_database))
    error_message = "firestore_database must be a Firestore database id: 4-63 lowercase letters, digits or hyphens, starting with a letter and ending with a letter or digit (or \"(default)\"), as the config's state.database must be."
  }
}

variable "collection_prefix" {
  description = "Prefix of Runwarden's Firestore collections; the config's state.collection_prefix must match."
  type        = string
  default     = "runwarden"

  validation {
    # The config loader's pattern (shared/config.py, StateSettings.collection_prefix): a prefix it refuses
    # would deploy functions that refuse their config on every delivery.
    condition     = can(regex("^[a-z][a-z0-9_]{0,40}$", var.collection_prefix))
    error_message = "collection_prefix must be 1-41 lowercase letters, digits or underscores, starting with a letter, as the config's state.collection_prefix must be."
  }
}

variable "managed_runtime_service_accounts" {
  description = "Emails of the runtime service accounts of the Cloud Run services Runwarden manages: it may act as these (iam.serviceAccounts.actAs) and no others. Each lives in project_id or a watched project (a Compute Engine default account is matched by project number)."
  type        = list(string)
  default     = []

  validation {
    # The three forms of service account e-mail infra/account_projects reads (IAM, "Service
    # accounts", types of service accounts); a user-managed account's id is 6-30 lowercase letters,
    # digits or hyphens (projects.serviceAccounts.create, accountId). The module writes the member
    # itself: an IAM member ("serviceAccount:..."), a resource name or a user's address passed plan
    # and failed at apply, after the functions were deployed.
    condition = alltrue([for a in var.managed_runtime_service_accounts : can(regex(
    "^([a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\\.iam\\.gserviceaccount\\.com|[0-9]+-compute@developer\\.gserviceaccount\\.com|[a-z][a-z0-9-]{4,28}[a-z0-9]@appspot\\.gserviceaccount\\.com)$", a))])
    error_message = "managed_runtime_service_accounts lists service account e-mails: NAME@PROJECT.iam.gserviceaccount.com, NUMBER-compute@developer.gserviceaccount.com or PROJECT@appspot.gserviceaccount.com; without the serviceAccount: prefix, not projects/.../serviceAccounts/... names."
  }

  validation {
    # Each account keys one grant per function (locals.tf, act_as_pairs): one listed twice stopped the plan
    # at "Duplicate object key", naming neither the variable nor the account.
    condition     = length(distinct(var.managed_runtime_service_accounts)) == length(var.managed_runtime_service_accounts)
    error_message = "managed_runtime_service_accounts lists ${join(", ", [for a in distinct(var.managed_runtime_service_accounts) : a if length([for b in var.managed_runtime_service_accounts : b if b == a]) > 1])} more than once: list each account once."
  }
}

variable "watched_projects" {
  description = "Other projects holding a watched Cloud Run service, its VPC connector (e.g. a Shared VPC host project) or its Cloud SQL instance: each function gets its role there without Firestore (the timeline's read-only), and the project joins project_id's metrics scope (add_watched_projects_to_metrics_scope)."
  type        = list(string)
  default     = []

  validation {
    # Project ids, possibly domain-scoped (shared/config.py, _PROJECT_ID): the alerts' resource labels and
    # the config name a project so; a number or a full name matches neither, and nothing is granted there.
    condition     = alltrue([for p in var.watched_projects : can(regex("^([a-z0-9][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]*$", p))])
    error_message = "watched_projects lists project ids (shop-prod, or example.com:shop-db for a domain-scoped one), not project numbers or projects/... names."
  }

  validation {
    # Each project keys one grant per function (locals.tf, watched_pairs): one listed twice stopped the plan
    # at "Duplicate object key", naming neither the variable nor the project.
    condition     = length(distinct(var.watched_projects)) == length(var.watched_projects)
    error_message = "watched_projects lists ${join(", ", [for p in distinct(var.watched_projects) : p if length([for q in var.watched_projects : q if q == p]) > 1])} more than once: list each project once."
  }
}

variable "add_watched_projects_to_metrics_scope" {
  description = "Add every watched project to project_id's metrics scope, so the alert policies (created in project_id) see their metrics. Turn off where the scope is managed elsewhere."
  type        = bool
  default     = true
}

variable "watched_services" {
  description = "Short names of the Cloud Run services the alert policies cover; empty covers every service in the metrics scope but Runwarden's own functions (never watched: listing one stops the plan)."
  type        = list(string)
  default     = []

  validation {
    # The policies match resource.label.service_name, the service's id (shared/gcp/identifiers.py, _ID):
    # a full name (projects/.../services/S) or a capital never matches, and that service is never alerted on.
    condition     = alltrue([for s in var.watched_services : can(regex("^[a-z]([a-z0-9-]*[a-z0-9])?$", s))])
    error_message = "watched_services lists Cloud Run service ids, the short name (backend), not projects/P/locations/L/services/S: lowercase letters, digits and hyphens, starting with a letter."
  }

  validation {
    # A service listed twice planned: its policies' one_of(...) filters named it twice and the latency conditions'
    # lists carried it twice (latency_conditions/main.tf), and a second entry is most often another service's name
    # mistyped as one already there, a service then never alerted on, silently.
    condition     = length(distinct(var.watched_services)) == length(var.watched_services)
    error_message = "watched_services lists ${join(", ", [for s in distinct(var.watched_services) : s if length([for t in var.watched_services : t if t == s]) > 1])} more than once: list each service once."
  }
}

variable "request_timeout_seconds" {
  description = "The request timeout of the watched services not in service_request_timeouts: their latency alert fires when p99 latency reaches 90% of it (Cloud Run's default is 300)."
  type        = number
  default     = 300

  validation {
    # RevisionTemplate.timeout: up to 60 minutes (Cloud Run Admin API v2), in whole seconds. 0 put the
    # latency bar at 0 ms (every request paged); above 3600 no p99 ever reaches it (never paged).
    condition     = var.request_timeout_seconds >= 1 && var.request_timeout_seconds <= 3600 && floor(var.request_timeout_seconds) == var.request_timeout_seconds
    error_message = "request_timeout_seconds must be a whole number of seconds from 1 to 3600 (Cloud Run's maximum request timeout is 60 minutes)."
  }
}

variable "service_request_timeouts" {
  description = "Request timeout, in seconds, of each watched service whose timeout is not request_timeout_seconds, by short name: its latency alert fires at 90% of its own timeout (p99 never passes a service's timeout). Only watched services count (watched_services, when not empty)."
  type        = map(number)
  default     = {}

  validation {
    # RevisionTemplate.timeout: up to 60 minutes (Cloud Run Admin API v2), in whole seconds as
    # request_timeout_seconds.
    condition     = alltrue([for s, t in var.service_request_timeouts : t >= 1 && t <= 3600 && floor(t) == t])
    error_message = "service_request_timeouts takes whole numbers of seconds from 1 to 3600 (Cloud Run's maximum request timeout is 60 minutes)."
  }

  validation {
    # By service id, as watched_services (a full name would never match resource.label.service_name).
    condition     = alltrue([for s, t in var.service_request_timeouts : can(regex("^[a-z]([a-z0-9-]*[a-z0-9])?$", s))])
    error_message = "service_request_timeouts is keyed by Cloud Run service id, the short name (backend), not projects/P/locations/L/services/S."
  }
}

variable "operators_group" {
  description = "Email of the operators' Google group: may publish commands (docs/commands.md), wait for their outcomes, and invoke the timeline function. Empty: nobody but Scheduler."
  type        = string
  default     = ""

  validation {
    # The module writes the IAM member itself ("group:${var.operators_group}"); the address alone, as the
    # config's e-mails are written (shared/config.py, _EMAIL).
    condition     = var.operators_group == "" || can(regex("^[^@\\s:/]+@[^@\\s:/]+\\.[^@\\s:/]+$", var.operators_group))
    error_message = "operators_group must be the group's e-mail address (sre@example.com), without the group: prefix, or empty."
  }
}

variable "human_notification_channels" {
  description = "Notification channel ids (projects/P/notificationChannels/N) of the people who watch Runwarden: the watchdog alerts go here, never to Runwarden's own channel."
  type        = list(string)

  validation {
    condition     = length(var.human_notification_channels) > 0
    error_message = "At least one human notification channel is needed: nobody would hear the watchdog otherwise."
  }

  validation {
    # AlertPolicy.notification_channels: "projects/[PROJECT_ID_OR_NUMBER]/notificationChannels/[CHANNEL_ID]"
    # (google/monitoring/v3/alert.proto). An e-mail address here is refused by Monitoring at apply, after
    # everything else was created. A channel made in the same apply is not known at plan and passes.
    condition     = alltrue([for c in var.human_notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))])
    error_message = "human_notification_channels lists notification channel names, projects/P/notificationChannels/N (gcloud beta monitoring channels list --format='value(name)'), not e-mail addresses: create an e-mail channel for an address, as infra/examples/basic does."
  }

  validation {
    # Every watchdog policy and every service policy sends to these (watchdog.tf, alerts.tf: service_channels).
    # A channel listed twice planned and was sent to the API twice in AlertPolicy.notification_channels
    # (google/monitoring/v3/alert.proto); whether Monitoring refuses, keeps or folds the repeat is UNCONFIRMED, and
    # folded, every later plan would show the policies changing. A second entry is most often another person's
    # channel mistyped as one already there: refused at plan, naming it, under either reading.
    condition     = length(distinct(var.human_notification_channels)) == length(var.human_notification_channels)
    error_message = "human_notification_channels lists ${join(", ", [for c in distinct(var.human_notification_channels) : c if length([for d in var.human_notification_channels : d if d == c]) > 1])} more than once: list each channel once."
  }
}

variable "enable_apis" {
  description = "Enable the Google APIs Runwarden needs in project_id (turn off where a platform team manages services)."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels put on every labelled resource (with the module's own managed-by and app)."
  type        = map(string)
  default     = {}

  validation {
    # Resource Manager, "Creating and managing labels", Requirements for labels: keys 1-63 characters
    # starting with a lowercase letter, values 0-63, both only lowercase letters (international ones
    # allowed), digits, underscores and dashes; as regular expressions, [\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}
    # and [\p{Ll}\p{Lo}\p{N}_-]{0,63} (google/cloud/secretmanager/v1/resources.proto, Secret.labels, as
    # the google-cloud-secret-manager client's docstring quotes it). Their bound in bytes is the next
    # validation's. A bad label passed plan and failed at apply on the first labelled resource.
    condition = alltrue([for k, v in var.labels :
    can(regex("^[\\p{Ll}\\p{Lo}][\\p{Ll}\\p{Lo}\\p{N}_-]{0,62}$", k)) && can(regex("^[\\p{Ll}\\p{Lo}\\p{N}_-]{0,63}$", v))])
    error_message = "labels must be Google Cloud labels: keys of 1-63 lowercase letters, digits, underscores or dashes starting with a lowercase letter, values of 0-63 of the same (Resource Manager, \"Requirements for labels\")."
  }

  validation {
    # "Each key and value is limited to 63 Unicode characters or 128 bytes, whichever is smaller"
    # (google/monitoring/v3/alert.proto, AlertPolicy.user_labels, as the google-cloud-monitoring client's
    # docstring quotes it; every alert policy here carries these labels). The page above counts
    # characters only; 63 of them pass 128 bytes of UTF-8 with 3- or 4-byte ones (43 CJK ideographs are
    # 129 bytes), which the first validation let through. Terraform has no byte length: base64encode
    # encodes the string's UTF-8 bytes (Terraform docs, "base64encode Function"), 4 characters for
    # every 3 bytes, the last group padded with one "=" per missing byte.
    condition = alltrue([for s in flatten([for k, v in var.labels : [k, v]]) :
    length(base64encode(s)) / 4 * 3 - length(regexall("=", base64encode(s))) <= 128])
    error_message = "labels' keys and values must be at most 128 bytes of UTF-8 each, as well as 63 characters: 43 characters of 3 bytes (CJK ideographs, Devanagari digits) or 33 of 4 exceed it (Monitoring, AlertPolicy.user_labels)."
  }

  validation {
    # At most 64 labels on a resource (same page): the module's own two (locals.tf, labels) and the
    # google provider's goog-terraform-provisioned (its add_terraform_attribution_label, on by default)
    # count too, so 61 keys of one's own at most.
    condition     = length(setunion(keys(var.labels), ["managed-by", "app", "goog-terraform-provisioned"])) <= 64
    error_message = "labels takes at most 61 keys besides managed-by and app: a resource carries at most 64 labels, and the module and the google provider add three."
  }
}

variable "runbook_url" {
  description = "Where the runbook lives (docs/deploy.md of the deployed Runwarden version); every alert's documentation links its section."
  type        = string
  default     = "docs/deploy.md"

  validation {
    # Every alert's documentation appends "#runbook-<section>" to it (alerts.tf, watchdog.tf): a URL that already
    # holds a fragment (a page's "#top", a GitHub line anchor "#L12") linked "...#top#runbook-5xx-ratio", which opens
    # the page at neither, and a space cut the link where a chat or mail client reads it; both planned, and every page
    # linked its runbook wrongly, unsaid.
    condition     = var.runbook_url != "" && !can(regex("[#\\s]", var.runbook_url))
    error_message = "runbook_url must be the runbook page's address without a fragment (no \"#\": each alert adds #runbook-<section>) and without spaces, e.g. https://github.com/ORG/REPO/blob/main/docs/deploy.md."
  }
}

variable "connector_max_instances" {
  description = "Each watched VPC connector's own max instances (its maxInstances), by full name projects/P/locations/L/connectors/C: one alert per connector fires when connector/instances reaches it. Every connector in the config's bounds.connectors must be listed (checked at plan); update it after a connector is scaled."
  type        = map(number)
  default     = {}

  validation {
    # VPC Access v1 Connector.maxInstances, "Maximum value of instances in autoscaling group
    # underlying the connector"; gcloud takes --max-instances 3-10, above --min-instances (2 at least)
    # (gcloud reference, compute networks vpc-access connectors create / update), the range the config's
    # max_instances_ceiling keeps to (shared/config.py, ConnectorPolicy). Above 10 the alert's bar
    # (alerts.tf, connector_ceiling: half an instance under the max) is one connector/instances never
    # reaches, and that connector's ceiling is never alerted on.
    #
    # The name as the config writes a connector's (shared/config.py, _name_problem, for bounds.connectors; the two
    # are compared at plan, config_check): the project by its id, the location a region, the id in lowercase. The
    # alert's filter matches the vpc_access_connector labels project_id, location and connector_name (alerts.tf,
    # connector_ceiling), and a connector's name may carry its project's number instead ("where {project} can be
    # project id or number", VpcAccess.connector, google/cloud/run/v2/vendor_settings.proto: a name copied from a
    # revision): a number, a zone or a capital passed plan and built a policy whose filter matches no series, so
    # that connector's ceiling was never alerted on, silently. The location has a region's shape, as
    # shared/gcp/identifiers.py _REGION_NAME reads one (us-central1, europe-west12): a zone (us-central1-a),
    # `global` and the multi-regions `us`, `eu`, `asia` are refused as the config refuses them.
    condition = alltrue([for name, max in var.connector_max_instances :
      can(regex("^projects/(?:[a-z0-9][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]*/locations/[a-z][a-z0-9-]*/connectors/[a-z](?:[a-z0-9-]*[a-z0-9])?$", name))
    && can(regex("^[a-z]+(-[a-z]+)+[0-9]+$", try(split("/", name)[3], ""))) && max >= 3 && max <= 10 && floor(max) == max])
    error_message = "connector_max_instances maps full connector names to the connector's max instances, a whole number from 3 to 10 (VPC Access's range: gcloud compute networks vpc-access connectors describe CONNECTOR --region=REGION --format='value(maxInstances)'). A name is projects/PROJECT_ID/locations/REGION/connectors/CONNECTOR, as the config writes it: the project's id (not its number), a region (not a zone), in lowercase; the alert matches the connector's monitored-resource labels, which no other form names."
  }
}
