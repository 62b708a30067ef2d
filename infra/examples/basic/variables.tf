variable "project_id" {
  description = "The project to deploy Runwarden into (and whose Cloud Run services it watches)."
  type        = string
}

variable "region" {
  description = "Region of the functions (and of the Firestore database unless firestore_location is set), e.g. us-central1."
  type        = string
  default     = "us-central1"
}

variable "firestore_location" {
  description = "Location of Runwarden's Firestore database; null: region. A database cannot move: after the first apply, keep it where it is when region changes (docs/deploy.md, 'Moving Runwarden')."
  type        = string
  default     = null
}

variable "oncall_email" {
  description = "E-mail address that receives Runwarden's own alerts (the watchdog) and its escalations."
  type        = string

  validation {
    # The e-mail channel's email_address label; a wrong one is refused by Monitoring only at apply, or
    # accepted and never delivered: the watchdog would page nobody.
    condition     = can(regex("^[^@\\s:/,]+@[^@\\s:/,]+\\.[^@\\s:/,]+$", var.oncall_email))
    error_message = "oncall_email must be one e-mail address (sre-oncall@example.com); for several people use a group's address."
  }
}

variable "operators_group" {
  description = "Google group whose members may publish commands and read incident timelines; empty for none."
  type        = string
  default     = ""
}

variable "managed_runtime_service_accounts" {
  description = "Runtime service accounts of the Cloud Run services listed in the config's `services`."
  type        = list(string)
  default     = []
}

variable "watched_services" {
  description = "Short names of the Cloud Run services the alert policies cover; empty covers all but Runwarden's own functions."
  type        = list(string)
  default     = []
}

variable "watched_projects" {
  description = "Other projects holding a watched service, its VPC connector or its Cloud SQL instance; empty when everything is in project_id."
  type        = list(string)
  default     = []
}

variable "runbook_url" {
  description = "Where the on-call reads docs/deploy.md (its web address in your repository); each alert links its section there."
  type        = string
  default     = "docs/deploy.md"
}

variable "build_service_account" {
  description = "Account Cloud Build runs the functions' builds as (NAME@PROJECT.iam.gserviceaccount.com), where the project's default build account is disabled or holds no role; null for the default."
  type        = string
  default     = null
}

variable "connector_max_instances" {
  description = "Each watched VPC connector's own max instances, by full name (projects/P/locations/L/connectors/C); every connector in the config's bounds.connectors must be listed."
  type        = map(number)
  default     = {}
}

variable "service_request_timeouts" {
  description = "Request timeout, in seconds, of each watched service whose timeout is not Cloud Run's default 300 s, by short name: its latency alert fires at 90% of it."
  type        = map(number)
  default     = {}
}
