"""Cloud Functions entry points: thin CloudEvent handlers over shared.pipeline."""
