# The functions' vCPU against their memory, at plan time.
#
# function_cpu and function_memory are each valid alone (variables.tf), but Cloud Run refuses some
# pairs, and a gen2 function's service is created only after its build: a refused pair failed the
# apply after the source upload and both builds, with the rest of the deployment half made. Cloud Run,
# "Configure CPU limits for services" (vCPU and memory table): ".08 vCPU Up to 512 MiB; .5 vCPU Up to
# 1 GiB; 1 vCPU Up to 4 GiB; 2 vCPU Up to 8 GiB; 4 vCPU 2 to 16 GiB; 6 vCPU 4 to 24 GiB; 8 vCPU 4 to
# 32 GiB", "Values greater than 1 must be integer values", and under 1 vCPU "A minimum of 0.5 vCPU is
# needed to set a memory limit greater than 512MiB. A minimum of 1 vCPU is needed to set a memory limit
# greater than 1GiB." Only that table is held here. Cloud Run's "Configure memory limits for services"
# asks more for some memories (.583 vCPU for 1 GiB, .333 for 512 MiB): where the two pages differ, which
# the API enforces for a gen2 function is UNCONFIRMED, so only what both refuse is refused. No provider:
# tests/infra/test_function_resources.py plans this module.

terraform {
  required_version = ">= 1.5.0, < 2.0.0"
}

variable "cpu" {
  description = "The functions' vCPU (function_cpu), or null: the platform derives it from the memory."
  type        = string
  default     = null
}

variable "memory" {
  description = "The functions' memory (function_memory): a whole number with k, M, G, Mi or Gi."
  type        = string
}

locals {
  gib   = 1073741824
  unit  = { k = 1000, M = 1000000, G = 1000000000, Mi = 1048576, Gi = 1073741824 }
  parts = regex("^([0-9]+)(k|M|G|Mi|Gi)$", var.memory)
  bytes = tonumber(local.parts[0]) * local.unit[local.parts[1]]
  vcpu  = var.cpu == null ? null : tonumber(var.cpu)
  # The table's rows as [least memory, most memory] in bytes, by vCPU above 1.
  whole = {
    "1" = [0, 4 * local.gib]
    "2" = [0, 8 * local.gib]
    "4" = [2 * local.gib, 16 * local.gib]
    "6" = [4 * local.gib, 24 * local.gib]
    "8" = [4 * local.gib, 32 * local.gib]
  }
  # The most memory a fractional vCPU may have.
  fraction_most = local.vcpu == null ? null : (local.vcpu < 0.5 ? local.gib / 2 : local.gib)
  refusal = (
    local.vcpu == null ? "" :
    local.vcpu < 1 ? (local.bytes > local.fraction_most ? "under 0.5 vCPU the memory may be at most 512 MiB, and under 1 vCPU at most 1 GiB" : "") :
    !contains(keys(local.whole), tostring(local.vcpu)) ? "above 1 vCPU only 2, 4, 6 or 8 may be set" :
    local.bytes < local.whole[tostring(local.vcpu)][0] || local.bytes > local.whole[tostring(local.vcpu)][1] ?
    "${var.cpu} vCPU takes ${local.whole[tostring(local.vcpu)][0] / local.gib} to ${local.whole[tostring(local.vcpu)][1] / local.gib} GiB of memory" : ""
  )
}

output "cpu" {
  description = "function_cpu, once Cloud Run's table allows it with function_memory."
  value       = var.cpu

  precondition {
    condition     = local.refusal == ""
    error_message = "function_cpu = ${var.cpu == null ? "null" : var.cpu} with function_memory = ${var.memory} is refused by Cloud Run (\"Configure CPU limits for services\", vCPU and memory table): ${local.refusal == "" ? "-" : local.refusal}."
  }
}
