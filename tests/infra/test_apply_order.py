"""The first apply creates what listens before what publishes.

"Only messages published to the topic after the subscription is created are available to subscriber
clients" (Pub/Sub "Subscription overview"), and "messages published to a topic with no subscriptions are
lost" (DeadLetterPolicy.dead_letter_topic, google/pubsub/v1/pubsub.proto). Terraform orders resources only
by their references: an alert policy names Runwarden's notification channel, which names the alerts topic,
and nothing ties it to the push subscription, which waits for the functions' builds (minutes). So on a first
apply a watched service's policy could open an incident, and Monitoring publish its notification, before
anything subscribed to the alerts topic: that notification reached nobody, and Monitoring notifies an
incident when it opens, so Runwarden never heard of it. The same for a sweep the Scheduler job published
before the commands subscription existed (one sweep period lost). And Monitoring's agent may publish only
once its grant on the topic exists.
"""
from __future__ import annotations

from tests.infra.terraform import load_module

RUNWARDEN_CHANNEL = "google_monitoring_notification_channel.runwarden.name"
PUSH = "${google_pubsub_subscription.push}"
MONITORING_MAY_PUBLISH = "${google_pubsub_topic_iam_member.monitoring_publisher}"


def _reaches_runwarden(body: dict) -> bool:
    config = load_module()
    channels = body.get("notification_channels", "")
    return RUNWARDEN_CHANNEL in str(channels) or (
        channels == "${local.service_channels}" and RUNWARDEN_CHANNEL in str(config.locals["service_channels"]))


def _depends_on(body: dict) -> set[str]:
    return set(body.get("depends_on", []))


def test_every_policy_that_notifies_runwarden_waits_for_its_subscription_and_grant() -> None:
    policies = load_module().of_type("google_monitoring_alert_policy")
    notifying = {name: body for name, body in policies.items() if _reaches_runwarden(body)}
    assert set(notifying) >= {"error_ratio", "request_timeout", "latency", "connector", "connector_ceiling",
                              "database"}, sorted(notifying)
    early = {name: sorted({PUSH, MONITORING_MAY_PUBLISH} - _depends_on(body)) for name, body in notifying.items()
             if not {PUSH, MONITORING_MAY_PUBLISH} <= _depends_on(body)}
    assert not early, f"policies that may notify Runwarden before it listens or may be published to: {early}"


def test_the_watchdog_notifies_people_only_so_needs_no_such_order() -> None:
    policies = load_module().of_type("google_monitoring_alert_policy")
    for name in ("dead_letter", "function_errors", "config_error", "heartbeat", "notify"):
        assert not _reaches_runwarden(policies[name]), name


def test_the_sweep_is_published_once_on_command_is_subscribed() -> None:
    job = load_module().resource("google_cloud_scheduler_job", "sweep")
    assert {PUSH, "${google_pubsub_topic_iam_member.scheduler_publisher}"} <= _depends_on(job), job.get("depends_on")
