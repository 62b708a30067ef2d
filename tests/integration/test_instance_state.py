"""container/instance_count is broken down by `state`: capacity reads active instances only."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sandbox.scenarios import SCENARIO_DIR
from shared.config import DiagnosisSettings
from shared.diagnosis.collection import Readers, collect
from shared.diagnosis.diagnose import diagnose
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter

SERVICE = "projects/demo-project/locations/us-central1/services/backend"
BUSY = "      - {from: -12m, to: +5m, every: 60s, value: 10}\n"
IDLE = """  - metric: run.googleapis.com/container/instance_count
    kind: GAUGE
    resource: {type: cloud_run_revision, labels: {service_name: backend, revision_name: backend-00001-abc}}
    labels: {state: idle}
    points:
      - {from: -12m, to: +5m, every: 60s, value: 3}
"""


def _diagnose(seed_scenario, anchor, tmp_path: Path, text: str):
    path = tmp_path / "capacity_states.yaml"
    path.write_text(text)
    seed_scenario(str(path))
    readers = Readers(run=CloudRunAdapter(), monitoring=CloudMonitoringAdapter())
    bundle = collect(SERVICE, anchor, readers, DiagnosisSettings(), anchor + timedelta(minutes=2))
    return bundle, diagnose(bundle, DiagnosisSettings())


def test_idle_instances_do_not_count_toward_the_limit(standin_env, seed_scenario, anchor, tmp_path):
    text = (SCENARIO_DIR / "capacity.yaml").read_text()
    assert BUSY in text
    # 7 busy and 3 idle of max 10: not at the limit (7 + 3 would read as 10 if states were summed).
    bundle, diagnosis = _diagnose(seed_scenario, anchor, tmp_path,
                                  text.replace(BUSY, BUSY.replace("value: 10", "value: 7")).replace(
                                      "  # The connector:", IDLE + "  # The connector:", 1))
    assert 'metric.labels.state = "active"' in bundle.instances.query
    assert max(p.value for s in bundle.instances.series for p in s.points) == 7
    assert diagnosis.signature.value != "capacity"

