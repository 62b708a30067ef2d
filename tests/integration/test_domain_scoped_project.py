"""A domain-scoped project (`example.com:my-project`) through collection and diagnosis, against
the stand-ins: resource names, Cloud SQL connection names and database_id all carry the colon."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sandbox.scenarios import SCENARIO_DIR
from shared.config import DiagnosisSettings
from shared.diagnosis.collection import Readers, collect
from shared.diagnosis.diagnose import diagnose
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter

PROJECT = "example.com:demo-project"


def test_database_down_in_a_domain_scoped_project(standin_env, seed_scenario, anchor, tmp_path: Path):
    text = (SCENARIO_DIR / "database_down.yaml").read_text().replace("demo-project", PROJECT)
    scenario = tmp_path / "database_down_domain.yaml"
    scenario.write_text(text)
    seed_scenario(str(scenario))
    service = f"projects/{PROJECT}/locations/us-central1/services/backend"
    readers = Readers(run=CloudRunAdapter(), monitoring=CloudMonitoringAdapter(), logging=CloudLoggingAdapter(),
                      vpcaccess=VpcAccessAdapter())

    bundle = collect(service, anchor, readers, DiagnosisSettings(), anchor + timedelta(minutes=2))

    assert bundle.sql_instances == (f"{PROJECT}:us-central1:main-db",)
    assert bundle.sql_up is not None and bundle.sql_up.series, bundle.gaps
    assert {s.label("resource.labels.database_id") for s in bundle.sql_up.series} == {f"{PROJECT}:main-db"}
    assert not [g for g in bundle.gaps if "cloudsql" in g]
    assert diagnose(bundle, DiagnosisSettings()).signature.value == "database_unreachable"
