# The project each managed runtime service account lives in: the act-as custom role must be defined
# in that project to be granted on the account (a custom role "can only be granted" in the project
# or organization that defines it; IAM, "Custom roles", custom role availability).
#
# Three forms of service account e-mail (IAM, "Service accounts", types of service accounts):
#   NAME@PROJECT_ID.iam.gserviceaccount.com        a user-managed account
#   PROJECT_NUMBER-compute@developer.gserviceaccount.com  the Compute Engine default service account,
#                                                  which Cloud Run uses when a service names no
#                                                  identity (Cloud Run, "Introduction to service
#                                                  identity": the default service account)
#   PROJECT_ID@appspot.gserviceaccount.com         the App Engine default service account
# The second carries the project's number, not its id: it is looked up in `project_numbers`.
# An account of no known form, or whose project is not given, maps to "" (iam.tf refuses it).
# No provider: tests/infra/test_account_projects.py runs this module with `terraform apply`.

terraform {
  required_version = ">= 1.5.0, < 2.0.0"
}

variable "accounts" {
  description = "Service account e-mails."
  type        = list(string)
}

variable "project_numbers" {
  description = "Project number (as a string) to project id, for the projects the accounts may live in."
  type        = map(string)
}

locals {
  parsed = {
    for account in var.accounts : account => {
      name   = split("@", account)[0]
      domain = try(split("@", account)[1], "")
    }
  }
  projects = {
    for account, p in local.parsed : account => (
      endswith(p.domain, ".iam.gserviceaccount.com") ? trimsuffix(p.domain, ".iam.gserviceaccount.com") :
      p.domain == "appspot.gserviceaccount.com" ? p.name :
      p.domain == "developer.gserviceaccount.com" && endswith(p.name, "-compute") ?
      lookup(var.project_numbers, trimsuffix(p.name, "-compute"), "") :
      ""
    )
  }
}

output "projects" {
  description = "Each account's project id, or \"\" when it cannot be told from the e-mail and project_numbers."
  value       = local.projects
}
