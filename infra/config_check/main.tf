# The config shipped with the functions against what the module deploys, at plan time.
#
# Runwarden reads its Firestore database, collections, outcomes topic, delivery limit and
# verification period from its YAML config (shared/config.py), while Terraform creates them (and
# the sweep's schedule) from its own inputs: nothing joins the two but this check. A mismatch
# passes every emulator test (the Firestore emulator serves any database name) and breaks only in
# production: with `state.database` left at its default "(default)", every Firestore call fails
# NOT_FOUND, or lands in another workload's database with none of the TTL policies, the sweep's
# composite index or the exemptions of firestore.tf. So the plan stops here instead, naming the
# field. No provider: tests/infra/test_config_check.py runs this module with `terraform plan`.
#
# The defaults below are shared/config.py's (StateSettings, DeliverySettings,
# VerificationSettings), which apply when the config leaves a field out;
# tests/infra/test_config_check.py holds them to the code.

terraform {
  required_version = ">= 1.5.0, < 2.0.0"
}

variable "config_path" {
  description = "Path of the YAML config shipped with the functions (RUNWARDEN_CONFIG)."
  type        = string
}

variable "project_id" {
  description = "The project the module deploys Runwarden in: the config's project."
  type        = string
}

variable "firestore_database" {
  description = "The Firestore database the module creates: the config's state.database."
  type        = string
}

variable "collection_prefix" {
  description = "The collection prefix the module's TTL policies and index use: the config's state.collection_prefix."
  type        = string
}

variable "outcomes_topic" {
  description = "Full name of the outcomes topic the module creates: the config's outcomes_topic."
  type        = string
}

variable "commands_topic" {
  description = "Full name of the commands topic the module creates: the config's commands_topic, when it sets one."
  type        = string
}

variable "watched_projects" {
  description = "The other projects the module gives the functions their roles in (watched_projects)."
  type        = list(string)
  default     = []
}

variable "max_delivery_attempts" {
  description = "The push subscriptions' max_delivery_attempts: the config's delivery.max_attempts."
  type        = number
}

variable "connector_max_instances" {
  description = "Each connector's own max instances, by full name, that the at-ceiling alerts are built from (the module's connector_max_instances): every connector in the config's bounds.connectors needs one."
  type        = map(number)
  default     = {}
}

variable "sweep_interval_seconds" {
  description = "Seconds between the sweeps Cloud Scheduler publishes (sweep_interval_minutes x 60): shorter than the config's verification period."
  type        = number
}

locals {
  raw    = fileexists(var.config_path) ? file(var.config_path) : ""
  config = try(yamldecode(local.raw), null)
  # A config that is missing or not YAML is reported by its own checks, not by every one below.
  readable = can(keys(local.config))

  defaults = {
    database          = "(default)"
    collection_prefix = "runwarden"
    max_attempts      = 10
    settle_seconds    = 300
    deadline_seconds  = 900
    # DiagnosisSettings: the bars the alert policies share with the diagnosis (alerts.tf).
    bad_error_ratio          = 0.2
    connector_cpu_saturation = 0.8
  }
  found = {
    project           = try(tostring(local.config.project), "")
    database          = try(tostring(local.config.state.database), local.defaults.database)
    collection_prefix = try(tostring(local.config.state.collection_prefix), local.defaults.collection_prefix)
    outcomes_topic    = try(tostring(local.config.outcomes_topic), "")
    commands_topic    = try(tostring(local.config.commands_topic), "")
    max_attempts      = try(tonumber(local.config.delivery.max_attempts), local.defaults.max_attempts)
    settle_seconds    = try(tonumber(local.config.verification.settle_seconds), local.defaults.settle_seconds)
    deadline_seconds  = try(tonumber(local.config.verification.deadline_seconds), local.defaults.deadline_seconds)
  }
  # The diagnosis's own bars for what two alert policies measure: a revision failing at
  # bad_error_ratio 5xx, a connector CPU-saturated at connector_cpu_saturation (p99). The policies
  # fire at them, so an alert is never raised at a bar the diagnosis then calls normal, nor missed
  # where it would call it failing.
  diagnosis = {
    bad_error_ratio          = try(tonumber(local.config.diagnosis.bad_error_ratio), local.defaults.bad_error_ratio)
    connector_cpu_saturation = try(tonumber(local.config.diagnosis.connector_cpu_saturation), local.defaults.connector_cpu_saturation)
  }
  # The diagnosis durations that are windows of Cloud Run's request metrics, read a point a minute
  # (shared/config.py, PER_MINUTE_WINDOWS, which the loader refuses off whole minutes too): 90 s holds
  # one point or two depending on where the minute falls. A field left out takes its default, a
  # whole number of minutes.
  per_minute_windows = ["lookback_seconds", "baseline_seconds", "max_incident_window_seconds", "recent_seconds"]
  not_whole_minutes = [
    for k in sort(local.per_minute_windows) :
    "diagnosis.${k} (${local.config.diagnosis[k]})"
    if try(tonumber(local.config.diagnosis[k]) % 60 != 0, false)
  ]
  # A sweep more than one verification period (deadline - settle) after an action's deadline judges
  # the service as it is then and never undoes (shared/remediation/judging.py, next_step: `late`).
  # The first sweep after a deadline comes up to one interval later, plus its own delivery's delay:
  # with an interval as long as the period or longer, a failing rollback may be escalated instead of
  # undone, on every action whose deadline falls late in an interval.
  verification_period = local.found.deadline_seconds - local.found.settle_seconds
  # The shortest deadline under which an action can reach a verdict at all (shared/config.py,
  # least_deadline_seconds, which the loader also enforces): its minutes are judged from the later of
  # its settle time and the write plus the 300 s clock-skew allowance (judging.after_write), a verdict
  # needs 2 whole minutes there, and request_count is visible up to 180 s after each minute.
  least_deadline = max(local.found.settle_seconds, 300) + 2 * 60 + 180

  # The projects the config names Google Cloud resources in: each managed service's
  # (projects/P/locations/L/services/S), each bounded connector's (projects/P/.../connectors/C) and
  # each Cloud SQL instance's ([domain:]project:region:instance). The functions read and write there
  # only with the roles iam.tf creates in project_id and watched_projects; anywhere else every call
  # is PERMISSION_DENIED, which no test against the stand-ins sees.
  named_projects = distinct(concat(
    try([for s in local.config.services : try(split("/", s.name)[1], "")], []),
    try([for c in local.config.bounds.connectors : try(split("/", c.name)[1], "")], []),
    try(flatten([for s in local.config.services : [
      for i in try(coalescelist(s.cloudsql_instances, []), []) : join(":", slice(split(":", i), 0, max(length(split(":", i)) - 2, 0)))
    ]]), []),
  ))
  unreachable = [for p in local.named_projects : p if !contains(concat([var.project_id], var.watched_projects), p)]
  # The projects of the services the config manages: the only ones where the functions may change a
  # service (iam.tf, service_writes). Read as the loader reads a name (projects/P/locations/L/services/S).
  service_projects = try(distinct(compact([for s in local.config.services : try(split("/", tostring(s.name))[1], "")])), [])

  # The connectors Runwarden may scale (bounds.connectors). Each needs its own at-ceiling alert, and
  # that alert's threshold is the connector's own max instances, which the config does not hold
  # (max_instances_ceiling is how far automation may raise it, not where it is now): the module
  # takes it from connector_max_instances, so a bounded connector missing there would never alert
  # at its ceiling.
  bounded_connectors     = try([for c in local.config.bounds.connectors : tostring(c.name)], [])
  connectors_without_max = [for c in local.bounded_connectors : c if !contains(keys(var.connector_max_instances), c)]
  # A connector already above its policy's ceiling can never be scaled by automation: planning reads
  # it as past the ceiling and escalates every saturation (shared/remediation/planning.py), the
  # config's "never above" already broken by the connector itself. A ceiling at the connector's max is
  # fine (automation scaled it there, or may still change its machine type). The default ceiling is
  # shared/config.py's ConnectorPolicy.max_instances_ceiling (10).
  connectors_above_ceiling = try([
    for c in local.config.bounds.connectors :
    "${c.name} (max instances ${var.connector_max_instances[c.name]}, ceiling ${try(tonumber(c.max_instances_ceiling), 10)})"
    if contains(keys(var.connector_max_instances), tostring(c.name))
    && try(var.connector_max_instances[c.name] > try(tonumber(c.max_instances_ceiling), 10), false)
  ], [])
}

output "diagnosis" {
  description = "The config's diagnosis bars the alert policies fire at (bad_error_ratio, connector_cpu_saturation; the code's defaults where the config leaves them out)."
  value       = local.diagnosis
}

output "service_projects" {
  description = "The projects of the Cloud Run services the config manages (services[].name): where the functions get Cloud Run's writes."
  value       = local.service_projects
}

output "checked" {
  description = "The config's fields this module compared with the deployment (all equal once the plan gets here)."
  value       = local.found

  precondition {
    condition     = local.raw == "" || local.config != null
    error_message = "${var.config_path} is not valid YAML, as Terraform's yamldecode reads it (a subset of YAML 1.2): fix it before deploying (runwarden check-config FILE names a syntax error)."
  }
  precondition {
    condition     = !local.readable || local.found.project == var.project_id
    error_message = "${var.config_path}: project is \"${local.found.project}\" but the module deploys to \"${var.project_id}\": Runwarden's state and topics live there (docs/deploy.md, 'The config file')."
  }
  precondition {
    condition     = !local.readable || local.found.database == var.firestore_database
    error_message = "${var.config_path}: state.database is \"${local.found.database}\" but the module creates the Firestore database \"${var.firestore_database}\": set state.database: ${var.firestore_database} (output firestore_database)."
  }
  precondition {
    condition     = !local.readable || local.found.collection_prefix == var.collection_prefix
    error_message = "${var.config_path}: state.collection_prefix is \"${local.found.collection_prefix}\" but the module's TTL policies and index are on \"${var.collection_prefix}_*\": set state.collection_prefix: ${var.collection_prefix}."
  }
  precondition {
    condition     = !local.readable || local.found.outcomes_topic == var.outcomes_topic
    error_message = "${var.config_path}: outcomes_topic is \"${local.found.outcomes_topic}\" but the module's outcomes topic is \"${var.outcomes_topic}\" (output outcomes_topic), the only one its functions may publish on."
  }
  precondition {
    condition     = !local.readable || local.found.commands_topic == "" || local.found.commands_topic == var.commands_topic
    error_message = "${var.config_path}: commands_topic is \"${local.found.commands_topic}\" but the module's commands topic is \"${var.commands_topic}\" (output commands_topic)."
  }
  precondition {
    condition     = !local.readable || length(local.unreachable) == 0
    error_message = "${var.config_path} names services, connectors or Cloud SQL instances in ${join(", ", local.unreachable)}, which is neither project_id nor in watched_projects: the functions would have no role there (docs/deploy.md, 'Watching services in other projects'). Add it to watched_projects."
  }
  precondition {
    condition     = !local.readable || length(local.connectors_without_max) == 0
    error_message = "${var.config_path}: bounds.connectors names ${join(", ", local.connectors_without_max)}, which connector_max_instances does not list: its \"at its max instances\" alert needs the connector's own max instances (gcloud compute networks vpc-access connectors describe CONNECTOR --region=REGION --format='value(maxInstances)'; docs/deploy.md, 'Connector alerts')."
  }
  precondition {
    condition     = !local.readable || length(local.connectors_above_ceiling) == 0
    error_message = "${var.config_path}: bounds.connectors' max_instances_ceiling is below the connector's own max instances (connector_max_instances) for ${join(", ", local.connectors_above_ceiling)}: automation could never scale it, and every saturation would be escalated. Raise max_instances_ceiling to at least the connector's max instances, or correct connector_max_instances."
  }
  precondition {
    condition     = !local.readable || local.found.deadline_seconds >= local.least_deadline
    error_message = "${var.config_path}: verification.deadline_seconds (${local.found.deadline_seconds}) leaves no time for a verdict after settle_seconds (${local.found.settle_seconds}): every action would end unclear and be escalated. Write deadline_seconds: ${local.least_deadline} or more (docs/configuration.md)."
  }
  precondition {
    condition     = !local.readable || length(local.not_whole_minutes) == 0
    error_message = "${var.config_path}: ${join(", ", local.not_whole_minutes)} is not a whole number of minutes: each is the length of a window of Cloud Run's request metrics, read a point a minute, so a part of a minute is judged on one minute more or less depending on where the minute falls. Write a multiple of 60 (runwarden check-config names the two nearest; docs/configuration.md)."
  }
  precondition {
    condition     = !local.readable || var.sweep_interval_seconds < local.verification_period
    error_message = "${var.config_path}: verification.deadline_seconds - settle_seconds is ${local.verification_period} s but the sweep runs every ${var.sweep_interval_seconds} s (sweep_interval_minutes): a sweep may then come more than that period after an action's deadline, and a failing rollback is escalated instead of undone (docs/behaviour.md, 'On time'). Raise deadline_seconds above ${local.found.settle_seconds + var.sweep_interval_seconds}, or lower sweep_interval_minutes."
  }
  precondition {
    condition     = !local.readable || local.found.max_attempts == var.max_delivery_attempts
    error_message = "${var.config_path}: delivery.max_attempts is ${local.found.max_attempts} but the push subscriptions dead-letter after max_delivery_attempts = ${var.max_delivery_attempts}: set them equal, so that the last attempt publishes the `failed` outcome (shared/config.py, DeliverySettings)."
  }
}
