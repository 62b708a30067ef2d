"""Which variable holds the data store whose answers about its own state (a Redis replica refusing writes, its
memory or client limit) the new revision meets: where the answers name the server that answered ("addr=H:6379",
redis-client's "(redis://H:6379)"), the variable the deploy moved to that server is the store's setting whatever
its name or its value's shape (FAST_KV=10.60.0.4 -> 10.60.0.9): rolled back. An address the revision before
names too is a store both call: a store setting moved elsewhere (CACHE_ADDR, REDIS_HOST) does not explain it, and
the deploy competes. Where the answers name none, a variable of no store's name or shape is never taken for the
store on its name: escalated, as before; a store setting by its name or shape that moved still rolls back. Only
the servers a setting of either revision names decide: a line's other servers (the client's local address, a
cluster redirect's other node, a Sentinel) neither confirm nor refute."""
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
# The same line naming servers no setting names as well: the client's own local address, another cluster node a
# redirect names (Redis's "MOVED <slot> <ip>:<port>" and "ASK <slot> <ip>:<port>": redis.io "MOVED error", the
# Redis cluster specification's "MOVED Redirection"), the Sentinel the client asked for the primary.
LOCAL = 'cache set failed: local=10.8.0.3:50412 addr={}:6379 err="READONLY You can\'t write against a read only replica."'
ONLY_LOCAL = 'cache set failed: local=10.8.0.3:50412 err="READONLY You can\'t write against a read only replica."'
MOVED = ('cache set failed: addr={}:6379 redirect="MOVED 12182 {}:6379" '
         'err="READONLY You can\'t write against a read only replica."')
ASK = 'cache set failed: addr={}:6379 redirect="ASK 3999 10.60.0.13:6379" err="READONLY You can\'t write against a read only replica."'
SENTINEL = ("session save failed: primary={}:6379 (sentinel 10.60.0.21:26379): "
            "OOM command not allowed when used memory > 'maxmemory'.")


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
    # Servers no setting names (a local address, a redirect's other node, a Sentinel) neither confirm nor refute:
    # the address a setting names decides, and where none does, the store setting's name or shape.
    "REDIS_HOST moved, the line also names the client's local address": (
        (LOCAL.format("10.60.0.9"), env(("REDIS_HOST", "10.60.0.4")), env(("REDIS_HOST", "10.60.0.9"))), ROLLBACK),
    "FAST_KV moved, the line also names the client's local address": (
        (LOCAL.format("10.60.0.9"), env(("FAST_KV", "10.60.0.4")), env(("FAST_KV", "10.60.0.9"))), ROLLBACK),
    "REDIS_HOST moved, a MOVED redirect names another cluster node": (
        (MOVED.format("10.60.0.9", "10.60.0.12"), env(("REDIS_HOST", "10.60.0.4")), env(("REDIS_HOST", "10.60.0.9"))),
        ROLLBACK),
    "FAST_KV moved, an ASK redirect names another cluster node": (
        (ASK.format("10.60.0.9"), env(("FAST_KV", "10.60.0.4")), env(("FAST_KV", "10.60.0.9"))), ROLLBACK),
    "SESSION_STORE moved, the line also names the Sentinel asked": (
        (SENTINEL.format("10.60.0.9"), env(("SESSION_STORE", "10.60.0.4")), env(("SESSION_STORE", "10.60.0.9"))),
        ROLLBACK),
    "REDIS_HOST moved, the line names only the client's local address": (
        (ONLY_LOCAL, env(("REDIS_HOST", "10.60.0.4")), env(("REDIS_HOST", "10.60.0.9"))), ROLLBACK),
    "FAST_KV moved, the line names only the client's local address": (
        (ONLY_LOCAL, env(("FAST_KV", "10.60.0.4")), env(("FAST_KV", "10.60.0.9"))), ESCALATE),
    "CACHE_ADDR moved, the line names the sessions store both name and a local address": (
        (LOCAL.format("10.60.0.7"), env(*SESSIONS, ("CACHE_ADDR", "10.60.0.4")),
         env(*SESSIONS, ("CACHE_ADDR", "10.60.0.9"))), ESCALATE),
    "REDIS_HOST moved, a redirect names the sessions store both name": (
        (MOVED.format("10.60.0.9", "10.60.0.7"), env(*SESSIONS, ("REDIS_HOST", "10.60.0.4")),
         env(*SESSIONS, ("REDIS_HOST", "10.60.0.9"))), ESCALATE),
    "FAST_KV moved, the line names its old address and a local address": (
        (LOCAL.format("10.60.0.4"), env(("FAST_KV", "10.60.0.4")), env(("FAST_KV", "10.60.0.9"))), ESCALATE),
}


@pytest.mark.parametrize("args, expected", CASES.values(), ids=CASES.keys())
def test_the_store_is_the_variable_moved_to_the_server_its_answers_name(args, expected):
    judged(args, expected)


ADDRESSES = {
    GO.format("10.60.0.9"): {"10.60.0.9"},
    RUBY.format("cache.internal.example"): {"cache.internal.example"},
    "reading logging.yaml:12 and v1.4.2:8": set(),
    "no port 10.60.0.9 here": set(),
    LOCAL.format("10.60.0.9"): {"10.8.0.3", "10.60.0.9"},
    MOVED.format("10.60.0.9", "10.60.0.12"): {"10.60.0.9", "10.60.0.12"},
}


SETTINGS = (("REDIS_HOST", "10.60.0.4"), ("SESSIONS", "redis://10.60.0.7:6379"))
NAMED = {
    "a local address and a proxy no setting names": ({"10.8.0.3", "10.60.0.30"}, set()),
    "the old address and a URL's host": ({"10.60.0.4", "10.60.0.7", "10.8.0.3"}, {"10.60.0.4", "10.60.0.7"}),
    "the new address": ({"10.60.0.9"}, {"10.60.0.9"}),
}


@pytest.mark.parametrize("addresses, expected", NAMED.values(), ids=NAMED.keys())
def test_the_servers_a_setting_names_decide(addresses, expected):
    assert env_hosts.settings_name(SETTINGS, (("REDIS_HOST", "10.60.0.9"), SETTINGS[1]), addresses) == expected


@pytest.mark.parametrize("text, expected", ADDRESSES.items())
def test_the_servers_a_line_names_with_a_port(text, expected):
    assert env_hosts.addresses_with_ports(text) == expected
