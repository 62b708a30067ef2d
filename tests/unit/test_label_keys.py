"""shared/alerts/label_keys.py: the labels a notification is read by, and a key sent in another spelling of one.

The rule covers every label the product reads: each literal key the code reads off a notification's
`resource.labels` or `metric.labels` (directly, or through a name bound to them) is in the registry, so a read added
later without its label there fails here, not in the field."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.alerts import label_keys

ROOT = Path(__file__).resolve().parents[2]

# A notification's label map, as the code reaches it: the Incident's fields, the AlertContext's copy of them.
_MAP = r"(?:incident|alert|self)\.(?:metric|resource)_labels"
_BOUND = re.compile(rf"^\s*(\w+)\s*=\s*(?:{_MAP}|resource_labels)\b", re.M)
# A prometheus_target's labels handed on by name (query_names.workload_names' `resource_labels`).
_PARAMETER = re.compile(r"def \w+\([^)]*\b(resource_labels)\s*:")


def _reads(text: str) -> set[str]:
    names = set(_BOUND.findall(text)) | set(_PARAMETER.findall(text))
    maps = "|".join([_MAP, *map(re.escape, names)])
    return set(re.findall(rf'(?<![\w.])(?:{maps})(?:\.get\(\s*|\[\s*)"([A-Za-z_][A-Za-z0-9_]*)"', text))


def test_every_label_the_code_reads_off_a_notification_is_one_the_rule_covers():
    covered = ({label for labels in label_keys.RESOURCE_LABELS.values() for label in labels}
               | {label for labels in label_keys.METRIC_LABELS_READ.values() for label in labels})
    read = {}
    for path in (ROOT / "shared").rglob("*.py"):
        text = path.read_text()
        if re.search(_MAP, text) or "def workload_names" in text:
            read.update({label: path.relative_to(ROOT).as_posix() for label in _reads(text)})
    # The scan finds what it is meant to: the revision an alert names, the response class a condition counts.
    assert {"revision_name", "response_code_class", "check_id", "host", "namespace"} <= set(read), read
    assert {label: where for label, where in read.items() if label not in covered} == {}


@pytest.mark.parametrize("sent, label", [("revisionName", "revision_name"), ("RevisionName", "revision_name"),
                                          ("revision-name", "revision_name"), ("REVISION_NAME", "revision_name")])
def test_each_spelling_of_a_label_is_found(sent, label):
    assert label_keys.respelled({sent: "x"}, ["revision_name"]) == {sent: label}


def test_a_label_as_sent_or_a_copy_with_its_value_is_not_respelled():
    assert label_keys.respelled({"revision_name": "a", "revisionName": "a"}, ["revision_name"]) == {}
    assert label_keys.respelled({"revisionName": "a"}, ["service_name"]) == {}


@pytest.mark.parametrize("text, resource, metric", [
    ('metric.type="x" AND metric.labels.response_code_class="5xx" AND resource.labels.service_name="s"',
     {"service_name"}, {"response_code_class"}),
    ('metric.label."route"', set(), {"route"}),
    ("fetch cloud_run_revision | group_by [resource.revision_name, metric.response_code]", {"revision_name"},
     {"response_code"}),
    ('sum by (service_name) (rate(run_googleapis_com:request_count{response_code_class="5xx"}[5m]))',
     {"response_code_class"}, {"response_code_class"}),
])
def test_the_labels_a_condition_names_are_read_as_it_spells_them(text, resource, metric):
    assert label_keys.named_by([text]) == (resource, metric)


def test_metric_labels_read_are_those_of_the_metric_type():
    assert "response_code_class" in label_keys.metric_labels_read("run.googleapis.com/request_latencies")
    assert "check_id" in label_keys.metric_labels_read("monitoring.googleapis.com/uptime_check/check_passed")
    assert label_keys.metric_labels_read("custom.googleapis.com/x") == ()


def test_a_keys_spelling_is_worked_out_once_and_the_same_after():
    """A notification's labels are spelt out a dozen times each delivery (`respelled`), the same few keys every
    time: the spelling of a key seen before is the one kept, and it is what working it out gives."""
    label_keys.spelling.cache_clear()
    first = [label_keys.spelling(key) for key in ("revisionName", "Response-Code-Class", "REVISION_NAME")]
    again = [label_keys.spelling(key) for key in ("revisionName", "Response-Code-Class", "REVISION_NAME")]
    assert first == again == ["revisionname", "responsecodeclass", "revisionname"]
    assert label_keys.spelling.cache_info().hits == 3
