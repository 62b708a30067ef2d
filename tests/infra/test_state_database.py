"""Runwarden's Firestore database is never replaced by a plan: its location is fixed when it is created, and a
new database would hold none of Runwarden's state (the kill switch, pins, claims, cooldowns, action records).

The google provider plans a changed location_id as a replacement; with deletion_policy ABANDON the old database
is dropped from the state and a new one of the same name is created, which Firestore refuses (the name is
taken): the apply stopped half-way. The example root passed `region` as the database's location, so moving the
functions did exactly that. The module is read as data (no provider here): the database ignores a changed
location and a postcondition stops the plan, naming where the database is.
"""
from __future__ import annotations

from tests.infra.terraform import EXAMPLES, load_module, single


def _database() -> dict:
    return load_module().resource("google_firestore_database", "runwarden")


def test_a_changed_location_is_never_planned_as_a_new_database() -> None:
    lifecycle = single(_database()["lifecycle"])
    assert "location_id" in str(lifecycle.get("ignore_changes")), lifecycle
    assert _database()["deletion_policy"] == "ABANDON"     # why a replacement would fail half-way


def test_the_plan_says_where_the_database_is_when_the_location_changes() -> None:
    postcondition = single(single(_database()["lifecycle"])["postcondition"])
    assert postcondition["condition"] == "${self.location_id == var.firestore_location}", postcondition
    assert "${self.location_id}" in postcondition["error_message"], postcondition


def test_the_example_keeps_the_database_where_it_is_when_its_region_changes() -> None:
    example = load_module(EXAMPLES / "basic")
    assert "firestore_location" in example.variables
    assert example.variables["firestore_location"].get("default") is None
    call = example.modules["runwarden"]
    assert call["firestore_location"] == "${coalesce(var.firestore_location, var.region)}", call
