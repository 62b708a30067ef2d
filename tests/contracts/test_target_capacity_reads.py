"""What a rollback target's capacity is judged on, against the stand-ins through the real adapters.

ServiceScaling's scaling_mode (an enum: SCALING_MODE_UNSPECIFIED, AUTOMATIC, MANUAL) and
manual_instance_count (an `optional int32`: absent, or a count, 0 included) come back from GetService as
Google's types carry them (google/cloud/run/v2/vendor_settings.proto; google-cloud-run's ServiceScaling),
and a traffic write (update_mask "traffic") leaves them as they were. The rollback target's active
instances are read from the minutes before the suspect's deploy (collection: TARGET_LOAD_MINUTES), so the
requests each of its instances carried are known (rules/target_capacity.py), and a target that cannot carry
today's load is escalated, not sent it (scenario rollback_target_max_instances_below_launch_load).
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from sandbox.scenarios import resolve_scenario, seed
from shared.config import DiagnosisSettings
from shared.diagnosis.collection import Readers, collect
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import TrafficTarget, TrafficType
from shared.diagnosis.signatures import Signature
from shared.gcp.logging import CloudLoggingAdapter
from shared.gcp.monitoring import CloudMonitoringAdapter
from shared.gcp.run import CloudRunAdapter
from shared.gcp.vpcaccess import VpcAccessAdapter
from shared.remediation.planning import plan

from tests.contracts.test_contracts import QUICK

NAME = "projects/demo-project/locations/us-central1/services/"


@pytest.mark.parametrize("mode, count, read", [
    (None, None, ("", None)),
    ("MANUAL", 6, ("MANUAL", 6)),
    ("MANUAL", 0, ("MANUAL", 0)),          # present at 0: not the same as unset
    ("MANUAL", None, ("MANUAL", None)),
    ("AUTOMATIC", None, ("AUTOMATIC", None)),
])
def test_the_service_scaling_mode_and_manual_count_read_as_google_types_them(standin_env, mode, count, read):
    name = f"{NAME}pricing"
    standin_env.run.add_service(name, {"runwarden": "enabled"}, scaling_mode=mode, manual_instance_count=count)
    service = CloudRunAdapter(policy=QUICK).get_service(name)
    assert (service.scaling_mode, service.manual_instance_count) == read


def test_a_traffic_write_leaves_the_scaling_mode_as_it_was(standin_env, anchor):
    name = f"{NAME}pricing"
    standin_env.run.add_service(name, {"runwarden": "enabled"}, scaling_mode="MANUAL", manual_instance_count=6)
    standin_env.run.add_revision(name, "pricing-00001-abc", anchor - timedelta(hours=1))
    run = CloudRunAdapter(policy=QUICK, operation_timeout=5, poll_initial_delay=0.01, poll_max_delay=0.05)
    before = run.get_service(name)
    run.set_traffic(name, [TrafficTarget(type=TrafficType.REVISION, revision="pricing-00001-abc", percent=100)],
                    before.etag)
    after = run.get_service(name)
    assert (after.scaling_mode, after.manual_instance_count) == ("MANUAL", 6)


def test_a_target_that_cannot_carry_todays_load_is_escalated_from_the_reads(standin_env, anchor):
    seed(standin_env, resolve_scenario("rollback_target_max_instances_below_launch_load"), anchor)
    readers = Readers(run=CloudRunAdapter(policy=QUICK), monitoring=CloudMonitoringAdapter(policy=QUICK),
                      logging=CloudLoggingAdapter(policy=QUICK), vpcaccess=VpcAccessAdapter(policy=QUICK))
    settings = DiagnosisSettings()
    bundle = collect("projects/tix-prod/locations/europe-west1/services/tickets", anchor, readers, settings,
                     anchor + timedelta(minutes=2))
    # The target's instances read from TARGET_LOAD_MINUTES before the deploy at -14m, not only from the
    # window's start (-15m with the default lookback): its last minutes before the deploy are there.
    minutes = [p for s in bundle.instances.series if s.resource_labels.get("revision_name") == "tickets-00041-kav"
               for p in s.points]
    assert len(minutes) >= 9
    result = diagnose(bundle, settings)
    assert result.signature is Signature.BAD_REVISION and result.known_good_revision is None
    assert "about 20 instances" in result.no_target_reason
    assert plan(result, bundle, settings).action is None
