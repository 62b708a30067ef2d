"""A statement's error in a refusal's words is not the server refusing the connection.

PostgreSQL sends the same SQLSTATE for a statement's ERROR as for a login's FATAL: 3D000 for InitPostgres's missing
database at connect (postinit.c, FATAL) and for CREATE DATABASE ... TEMPLATE's missing template (dbcommands.c
createdb: 'template database "x" does not exist', ERROR) or DROP DATABASE's missing database (ERROR). Postgrex prints
the server's severity first ("ERROR 3D000 (invalid_catalog_name) ...", elixir-ecto/postgrex lib/postgrex/error.ex),
so only its FATAL is a refusal; asyncpg and Npgsql print none, so their 'template database' (a statement's words
alone) is never read as one. Before, each was read as the server's FATAL (Refusal.SERVER_FATAL): a deploy whose new
signup path ran CREATE DATABASE ... TEMPLATE with a template that does not exist, its settings the same as before,
was escalated with the database competing instead of rolled back.
"""
from __future__ import annotations

import pytest

from shared.diagnosis.log_signals import LogSignal, Refusal, classify, refusal_of

from tests.unit.test_connects_as_other import after, env
from tests.unit.test_database_own_failures import _check
from shared.diagnosis.signatures import Signature

POSTGREX_TEMPLATE = ('** (Postgrex.Error) ERROR 3D000 (invalid_catalog_name) template database "tenant_template_v2" '
                     'does not exist')


@pytest.mark.parametrize("text", [
    POSTGREX_TEMPLATE,
    # Postgrex's older message, "#{severity} (#{code}): #{message}", of the same statement.
    '** (Postgrex.Error) ERROR (invalid_catalog_name): template database "tenant_template_v2" does not exist',
    # DROP DATABASE of a database that is not there: the same words as the login's, at ERROR.
    '** (Postgrex.Error) ERROR 3D000 (invalid_catalog_name) database "tenant_42" does not exist',
    'asyncpg.exceptions.InvalidCatalogNameError: template database "tenant_template_v2" does not exist',
    'Npgsql.PostgresException (0x80004005): 3D000: template database "tenant_template_v2" does not exist',
    'pq: template database "tenant_template_v2" does not exist',
    'error: template database "tenant_template_v2" does not exist',
    # SET ROLE to a role that is not there: 22023 (variable.c check_role), in asyncpg's class for it.
    'asyncpg.exceptions.InvalidParameterValueError: role "tenant_42" does not exist',
])
def test_a_statement_error_is_not_a_refusal(text):
    assert refusal_of(text) == ""
    assert LogSignal.DB_REFUSED not in classify(text)


@pytest.mark.parametrize("text", [
    '** (Postgrex.Error) FATAL 3D000 (invalid_catalog_name) database "orders_v2" does not exist',
    '** (Postgrex.Error) FATAL (invalid_catalog_name): database "orders_v2" does not exist',
    'asyncpg.exceptions.InvalidCatalogNameError: database "orders_v2" does not exist',
    'Npgsql.PostgresException (0x80004005): 3D000: database "orders_v2" does not exist',
])
def test_the_login_refusal_beside_them_is_still_read(text):
    """Controls: the same drivers' words for the connection's own database missing stay a refusal."""
    assert refusal_of(text) == Refusal.SERVER_FATAL


def test_a_deploy_whose_statements_fail_is_rolled_back():
    """The new revision's signup path runs CREATE DATABASE ... TEMPLATE tenant_template_v2 (absent): its requests
    fail since the deploy, the database settings the same on both revisions. Connections work; the deploy is the
    cause."""
    _check(dict(build=after(env(), env(), POSTGREX_TEMPLATE), expect=Signature.BAD_REVISION,
                action="rollback_traffic"))
