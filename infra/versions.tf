# Provider pins. The google provider's 6.x and 7.x lines both carry every resource and argument
# used here (registry.terraform.io/providers/hashicorp/google); 8.x may change them, so it is
# excluded until tested.
terraform {
  # 1.9: a variable's validation may name another variable (variables.tf, max_instances).
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.14.0, < 8.0.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4.0, < 3.0.0"
    }
  }
}
