"""Which variable holds the data store whose answers about its own state (a Redis replica refusing writes, its
memory or client limit) the new revision meets: where the answers name the server that answered ("addr=H:6379",
redis-client's "(redis://H:6379)"), the variable the deploy moved to that server is the store's setting whatever
its name or its value's shape (FAST_KV=10.60.0.4 -> 10.60.0.9): rolled back. An address the revision before
names too is a store both call: a store setting moved elsewhere (CACHE_ADDR, REDIS_HOST) does not explain it, and
the deploy competes. Where the answers name none, a variable of no store's name or shape is never taken for the
store on its name: escalated, as before; a store setting by its name or shape that moved still rolls back."""
from __future__ import annotations

import pytest

from shared.diagnosis import env_hosts

from tests.unit.test_deploy_moved_where_it_connects import ESCALATE, ROLLBACK
# The same judgement of one line after a deploy (diagnose, then plan), named so pytest does not collect it twice.
from tests.unit.test_deploy_moved_where_it_connects import \
    test_a_deploy_that_moved_where_it_connects_is_rolled_back as judged

DB = (("DB_HOST", "10.10.0.3"), ("DB_USER", "app"))
SESSIONS = (("SESSIONS", "10.60.0.7:6379"),)
# A Go service's own structured line around go-redis's reply (the client's error names no server).
GO = 'cache set failed: addr={}:6379 err="READONLY You can\'t write against a read only replica."'
# redis-client (Ruby) appends the server's URL to its errors (UNCONFIRMED word for word).
RUBY = "RedisClient::ReadOnlyError: READONLY You can't write against a read only replica. (redis://{}:6379)"
OOM = "session save failed: server={}:6379: OOM command not allowed when used memory > 'maxmemory'."
BARE = "redis.exceptions.ReadOnlyError: You can't write against a read only replica."


def env(*pairs):
    return DB + tuple(pairs)


CASES = {
    # The variable moved to the server the answers name: the store's, whatever its name.
    "FAST_KV moved to the replica the answers name": ((GO.format("10.60.0.9"), env(("FAST_KV", "10.60.0.4")),
                                                       env(("FAST_KV", "10.60.0.9"))), ROLLBACK),
    "a redis-client URL names the address KV moved to": ((RUBY.format("10.60.0.9"), env(("KV", "10.60.0.4")),
                                                          env(("KV", "10.60.0.9"))), ROLLBACK),
    "the memory limit of the server SESSION_STORE moved to": ((OOM.format("10.60.0.9"),
                                                               env(("SESSION_STORE", "10.60.0.4")),
                                                               env(("SESSION_STORE", "10.60.0.9"))), ROLLBACK),
    # Controls: the answers name a server both revisions name, or the old one; a store setting moved elsewhere.
    "CACHE_ADDR moved, the answers name the sessions store both name": (
        (GO.format("10.60.0.7"), env(*SESSIONS, ("CACHE_ADDR", "10.60.0.4")), env(*SESSIONS, ("CACHE_ADDR", "10.60.0.9"))),
        ESCALATE),
    "REDIS_HOST moved, the answers name the sessions store both name": (
        (GO.format("10.60.0.7"), env(*SESSIONS, ("REDIS_HOST", "10.60.0.4")), env(*SESSIONS, ("REDIS_HOST", "10.60.0.9"))),
        ESCALATE),
    "FAST_KV moved, the answers name its old address": ((GO.format("10.60.0.4"), env(("FAST_KV", "10.60.0.4")),
                                                         env(("FAST_KV", "10.60.0.9"))), ESCALATE),
    "FAST_KV unchanged, the answers name it": ((GO.format("10.60.0.4"), env(("FAST_KV", "10.60.0.4")),
                                                env(("FAST_KV", "10.60.0.4"), ("FEATURE_X", "on"))), ESCALATE),
    "the revision before's env not read": ((GO.format("10.60.0.9"), (), env(("FAST_KV", "10.60.0.9"))), ESCALATE),
    # No server named: a name alone never makes the store, a store's name or shape still does.
    "FAST_KV moved, the answers name no server": ((BARE, env(("FAST_KV", "10.60.0.4")), env(("FAST_KV", "10.60.0.9"))),
                                                  ESCALATE),
    "REDIS_HOST moved, the answers name no server": ((BARE, env(("REDIS_HOST", "10.60.0.4")),
                                                      env(("REDIS_HOST", "10.60.0.9"))), ROLLBACK),
    "SESSIONS moved with Redis's port, the answers name no server": ((BARE, env(("SESSIONS", "10.0.0.5:6379")),
                                                                      env(("SESSIONS", "10.0.0.6:6379"))), ROLLBACK),
}


@pytest.mark.parametrize("args, expected", CASES.values(), ids=CASES.keys())
def test_the_store_is_the_variable_moved_to_the_server_its_answers_name(args, expected):
    judged(args, expected)


ADDRESSES = {
    GO.format("10.60.0.9"): {"10.60.0.9"},
    RUBY.format("cache.internal.example"): {"cache.internal.example"},
    "reading logging.yaml:12 and v1.4.2:8": set(),
    "no port 10.60.0.9 here": set(),
}


@pytest.mark.parametrize("text, expected", ADDRESSES.items())
def test_the_servers_a_line_names_with_a_port(text, expected):
    assert env_hosts.addresses_with_ports(text) == expected
