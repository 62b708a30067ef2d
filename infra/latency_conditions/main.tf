# The latency conditions of the watched services, one per request timeout, and the selection of
# the watched services every other Cloud Run policy uses (output service_filter).
#
# A Cloud Run service's request timeout is its own (the revision template's `timeout`, up to 60
# minutes; Cloud Run Admin API v2, RevisionTemplate.timeout), and the diagnosis reads it per
# revision: a hang is p99 in [hang_latency_seconds, 0.9 x the revision's request timeout), a request
# cut by its timeout is p99 at 0.9 x the timeout or more (docs/signatures.md, request_timeout and
# connector_saturation). A single bar of 0.9 x one timeout for every service never fires for a
# service whose own timeout is under it (p99 cannot pass the timeout), and fires early for one whose
# timeout is longer. So each distinct timeout gets its own condition, over the services that have
# it; the services with no timeout of their own (request_timeout_seconds) get the rest.
# No provider: tests/infra/test_latency_conditions.py runs it with `terraform apply`.

terraform {
  required_version = ">= 1.5.0, < 2.0.0"
}

variable "watched_services" {
  description = "Short names of the watched Cloud Run services; empty: every service in the metrics scope."
  type        = list(string)
  default     = []
}

# Runwarden's own functions run as Cloud Run services of these names, in the same metrics scope. They
# are never watched: on_alert waits up to 300 s on a connector update by design (locals.tf, the
# function timeout), answers 5xx on a transient fault so that Pub/Sub redelivers, and 504 when cut off
# at its timeout. Watched, those would page people as a watched service's incident and send Runwarden
# alerts about itself; the watchdog (watchdog.tf) already reports its own failures, once.
variable "own_services" {
  description = "Cloud Run service names of Runwarden's own functions: excluded from every watched-service condition."
  type        = list(string)
  default     = []
}

variable "request_timeout_seconds" {
  description = "The request timeout of every watched service not in service_request_timeouts."
  type        = number
}

variable "service_request_timeouts" {
  description = "Request timeout, in seconds, of each service whose timeout is not request_timeout_seconds, by short name."
  type        = map(number)
  default     = {}
}

locals {
  metric = "metric.type = \"run.googleapis.com/request_latencies\" AND resource.type = \"cloud_run_revision\""
  # A timeout of its own for a service outside a non-empty watched_services is not watched (the
  # other policies do not watch it either).
  own      = [for s in keys(var.service_request_timeouts) : s if(length(var.watched_services) == 0 || contains(var.watched_services, s)) && !contains(var.own_services, s)]
  quoted   = { for s in distinct(concat(var.watched_services, local.own, var.own_services)) : s => "\"${s}\"" }
  rest     = [for s in var.watched_services : s if !contains(local.own, s)]
  timeouts = distinct([for s in local.own : var.service_request_timeouts[s]])
  # With every service watched (watched_services empty), "the rest" is every service but Runwarden's
  # own and those with a timeout of their own: a NOT in the filter (Monitoring filter syntax; NOT
  # before a selector is how public alert policies exclude a label's value, e.g. an SLO's
  # `bad_service_filter` "... AND NOT metric.label.response_code_class=\"2xx\"", but NOT on a one_of
  # selector is UNCONFIRMED against Google's page: were it refused, creating the policy would fail
  # at apply with the API's error, never select the wrong services). With a list, the rest is named
  # one by one.
  not_one_of = { for k, names in { rest = concat(var.own_services, local.own), all = var.own_services } : k => (length(names) == 0 ? "" :
  " AND NOT resource.label.service_name = one_of(${join(", ", [for s in names : local.quoted[s]])})") }
  rest_filter = (length(var.watched_services) > 0 ?
    " AND resource.label.service_name = one_of(${join(", ", [for s in local.rest : local.quoted[s]])})" :
  local.not_one_of["rest"])
  # Every watched Cloud Run service, for the policies with one condition for all of them.
  service_filter = (length(var.watched_services) > 0 ?
    " AND resource.label.service_name = one_of(${join(", ", [for s in var.watched_services : local.quoted[s]])})" :
  local.not_one_of["all"])

  # No default condition when every listed service has a timeout of its own (it would name none).
  default_condition = { for k, c in {
    default = { timeout_seconds = var.request_timeout_seconds, filter = "${local.metric}${local.rest_filter}" }
  } : k => c if length(var.watched_services) == 0 || length(local.rest) > 0 }
  own_conditions = { for t in local.timeouts : "${t}s" => {
    timeout_seconds = t
    filter = "${local.metric} AND resource.label.service_name = one_of(${join(", ", [
      for s in local.own : local.quoted[s] if var.service_request_timeouts[s] == t
    ])})"
  } }
}

output "conditions" {
  description = "One latency condition per request timeout: its timeout in seconds, its bar (0.9 x the timeout, in ms, request_latencies' unit) and its filter."
  precondition {
    condition     = length(setintersection(var.watched_services, var.own_services)) == 0
    error_message = "watched_services names Runwarden's own functions (${join(", ", setintersection(var.watched_services, var.own_services))}): they are never watched as a service; the watchdog alerts (watchdog.tf) report their failures."
  }
  value = { for k, c in merge(local.default_condition, local.own_conditions) : k => merge(c, {
    threshold_ms = c.timeout_seconds * 1000 * 0.9
  }) }
}

output "service_filter" {
  description = "The watched Cloud Run services as a Monitoring filter clause (\" AND ...\", or \"\"): the listed ones, or every one but Runwarden's own."
  value       = local.service_filter
}
