"""A targeted resume names the other pauses that still hold its writes by which service uses which connector, as
Cloud Run's GetService says (the template's VpcAccess.connector and the revision serving): a pause of a connector
the resumed service does not use holds none of its writes and is not named; one it uses is named as holding them
(not "if it uses it"); one it may use (not read, another revision serving) is named as one that may hold."""
from __future__ import annotations

import pytest

from shared.commands.pause import MAY_USE, USES, _still_held, service_use
from shared.diagnosis.evidence import Service, TrafficTarget, TrafficType

from tests.unit.builders import CONNECTOR, PROJECT, SERVICE

OTHER_CONNECTOR = CONNECTOR.replace("/backend-conn", "/billing-conn")
NUMBER = "123456789012"
BY_NUMBER = CONNECTOR.replace(f"projects/{PROJECT}/", f"projects/{NUMBER}/")
# Its deterministic URL, https://SERVICE-PROJECT_NUMBER.REGION.run.app (Cloud Run docs, "Invoke with an HTTPS
# request"), as GetService answers it in Service.urls: the project's number, read by Service.project_number.
OWN_URL = (f"https://backend-{NUMBER}.us-central1.run.app",)
OTHER_SERVICE = SERVICE.replace("/backend", "/billing")


def _service(name: str = SERVICE, connector: str | None = CONNECTOR, serving: dict[str, int] | None = None,
             latest: str = "backend-00002", urls: tuple[str, ...] = ()) -> Service:
    shares = serving if serving is not None else {latest: 100}
    statuses = tuple(TrafficTarget(type=TrafficType.REVISION, revision=rev, percent=pct) for rev, pct in shares.items())
    return Service(name=name, generation=2, traffic=statuses, traffic_statuses=statuses, latest_ready_revision=latest,
                   latest_created_revision=latest, template_connector=connector, urls=urls)


# (the service as GetService answers, the connector asked of, what is said: USES, "may", or "" for none)
USE_ROWS = {
    "its template names the connector, its latest serves all": (_service(), CONNECTOR, USES),
    "its template names another connector": (_service(connector=OTHER_CONNECTOR), CONNECTOR, ""),
    "its template names no connector": (_service(connector=None), CONNECTOR, ""),
    "another revision serves beside the latest": (_service(connector=OTHER_CONNECTOR, serving={
        "backend-00001": 50, "backend-00002": 50}), CONNECTOR, "may"),
    "the connector named by a project number": (_service(connector=BY_NUMBER), CONNECTOR, "may"),
    "the template by a bare id": (_service(connector="backend-conn"), CONNECTOR, USES),
    "the template by id, the connector asked of by the service's own project number (its URL)": (
        _service(urls=OWN_URL), BY_NUMBER, USES),
    "the template by a bare id, the connector asked of by its own project number (its URL)": (
        _service(connector="backend-conn", urls=OWN_URL), BY_NUMBER, USES),
    "the template by number, the connector asked of by id (its URL)": (
        _service(connector=BY_NUMBER, urls=OWN_URL), CONNECTOR, USES),
    "the template by id, the connector asked of by a number, no URL": (_service(), BY_NUMBER, "may"),
    "the template by id, the connector asked of by another project's number (its URL)": (
        _service(urls=OWN_URL), CONNECTOR.replace(f"projects/{PROJECT}/", "projects/987/"), ""),
}


@pytest.mark.parametrize("service, connector, said", USE_ROWS.values(), ids=USE_ROWS.keys())
def test_how_a_service_stands_to_a_connector(service, connector, said):
    use = service_use(service, connector)
    assert (use.split(" ")[0] if use else "") == (said.split(" ")[0] if said else ""), use


def _uses(pairs: dict[tuple[str, str], str]):
    return lambda service, connector: pairs.get((service, connector), "")


# (engaged pauses, resumed target, which service uses which connector, the words expected, the words never said)
RESUMES = {
    "a service resumed, the connector it uses paused": (
        [CONNECTOR], SERVICE, {(SERVICE, CONNECTOR): USES + " (read)"},
        ["are still held by another pause", f"{CONNECTOR} is paused, and this service uses that connector",
         f"runwarden resume --target {CONNECTOR} --reason"], ["if this service uses it"]),
    "a service resumed, a connector it does not use paused": (
        [OTHER_CONNECTOR], SERVICE, {}, [], [OTHER_CONNECTOR]),
    "a service resumed, a connector it may use paused": (
        [CONNECTOR], SERVICE, {(SERVICE, CONNECTOR): MAY_USE},
        ["may still be held by another pause", "this service may use that connector"], []),
    "a connector resumed, a service behind it paused": (
        [SERVICE], CONNECTOR, {(SERVICE, CONNECTOR): USES + " (read)"},
        ["are still held", f"{SERVICE} is paused, and that service uses this connector"], ["if it is behind it"]),
    "a connector resumed, a service not behind it paused": (
        [OTHER_SERVICE], CONNECTOR, {}, [], [OTHER_SERVICE]),
    "one of two services behind it": (
        [SERVICE, OTHER_SERVICE], CONNECTOR, {(SERVICE, CONNECTOR): USES + " (read)"}, [SERVICE], [OTHER_SERVICE]),
}


@pytest.mark.parametrize("engaged, resumed, uses, said, unsaid", RESUMES.values(), ids=RESUMES.keys())
def test_a_resume_names_the_pauses_that_hold_its_writes_by_who_uses_what(engaged, resumed, uses, said, unsaid):
    flags = [{"kind": "pause", "target": name, "engaged": True} for name in engaged]
    answer = _still_held(resumed, flags, more=False, use_of=_uses(uses))
    assert [words for words in said if words not in answer] == [], answer
    assert [words for words in unsaid if words in answer] == [], answer
    assert bool(answer) is bool(said), answer


# (engaged pauses, resumed target, the services as GetService answers them, the words expected: none, none named)
READ_RESUMES = {
    "a service resumed, the connector it uses paused by its own project's number": (
        [BY_NUMBER], SERVICE, {SERVICE: _service(urls=OWN_URL)}, (f"are still held by another pause", BY_NUMBER)),
    "a connector by number resumed, the service behind it paused": (
        [SERVICE], BY_NUMBER, {SERVICE: _service(urls=OWN_URL)}, ("are still held by another pause", SERVICE)),
    "a service by bare id resumed, its connector paused by number": (
        [BY_NUMBER], SERVICE, {SERVICE: _service(connector="backend-conn", urls=OWN_URL)}, ("are still held", BY_NUMBER)),
    "a service resumed, its connector paused by a number its URL does not give": (
        [BY_NUMBER], SERVICE, {SERVICE: _service()}, ("may still be held by another pause", BY_NUMBER)),
    "a service resumed, a connector of another project's number paused": (
        [CONNECTOR.replace(f"projects/{PROJECT}/", "projects/987/")], SERVICE, {SERVICE: _service(urls=OWN_URL)},
        ()),
}


@pytest.mark.parametrize("engaged, resumed, services, said", READ_RESUMES.values(), ids=READ_RESUMES.keys())
def test_a_resume_reads_one_connector_under_either_form_of_its_project(engaged, resumed, services, said):
    flags = [{"kind": "pause", "target": name, "engaged": True} for name in engaged]
    answer = _still_held(resumed, flags, more=False, use_of=lambda s, c: service_use(services[s], c))
    assert [words for words in said if words not in answer] == [], answer
    assert bool(answer) is bool(said), answer
