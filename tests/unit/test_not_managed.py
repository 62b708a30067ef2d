"""The reason an alert on a Cloud Run service the config does not manage is skipped (shared/alerts/reasons.py
`not_managed`): a managed service of the same service id in another project or region is named, and the alert said
not to be about it. A service id is unique only within its project and region (google/cloud/run/v2/service.proto,
`projects/{project}/locations/{location}/services/{service_id}`). Pure: no I/O."""
from __future__ import annotations

import pytest

from shared.alerts.reasons import not_managed

MANAGED = ["projects/shop/locations/us-central1/services/backend", "projects/shop/locations/us-central1/services/cart"]


@pytest.mark.parametrize("service, said, unsaid", [
    ("projects/shop/locations/europe-west1/services/backend",
     "same name in another region (projects/shop/locations/us-central1/services/backend), which this alert is not "
     "about, so nothing was read or done on either; policy 'P' alerts on the one in project shop, region "
     "europe-west1", "another project"),
    ("projects/shop-staging/locations/us-central1/services/backend",
     "same name in another project (projects/shop/locations/us-central1/services/backend)", "region ("),
    ("projects/shop-staging/locations/asia-east1/services/cart",
     "same name in another project and region (projects/shop/locations/us-central1/services/cart)", "backend"),
    ("projects/shop/locations/europe-west1/services/orders",
     "projects/shop/locations/europe-west1/services/orders is not a managed service: nothing was read or done",
     "same name"),
])
def test_a_skipped_alert_names_the_managed_service_of_its_name_elsewhere(service, said, unsaid):
    reason = not_managed(service, MANAGED, "P")
    assert reason.startswith(f"{service} is not a managed service") and said in reason, reason
    assert unsaid not in reason, reason
