"""What comes in, parsed and validated: Cloud Monitoring notifications (schema 1.2) and operator commands."""
