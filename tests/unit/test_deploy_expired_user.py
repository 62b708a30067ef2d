"""A deploy that moved the database user to one whose password expired: MySQL refuses the login (1862) or
each statement (1820) of that user only (MySQL Server Error Message Reference, errors 1862 and 1820;
MySQL Reference Manual, "Server Handling of Expired Passwords"), whichever revision asks. When every
refusal is the new revision's and its deploy moved the user setting (DB_USER, the user in a URL or a Go
MySQL DSN), the revision before asks as a user the server still admits: rolled back, as a user moved to
one the server refuses the password of is. PostgreSQL says "password authentication failed" for a role
past its VALID UNTIL, the words of a wrong password (Refusal.CREDENTIALS), read the same way. The same
user on both revisions, or both refused, is the server's expiry, not the deploy's: escalated."""
from __future__ import annotations

import pytest

from tests.unit.test_deploy_moved_where_it_connects import ESCALATE, ROLLBACK
# The same judgement of one line after a deploy (diagnose, then plan), named so pytest does not collect it twice.
from tests.unit.test_deploy_moved_where_it_connects import \
    test_a_deploy_that_moved_where_it_connects_is_rolled_back as judged

MYSQL = (("DB_HOST", "10.10.0.3"), ("DB_PORT", "3306"), ("DB_NAME", "shop"))
USER, NEW_USER = MYSQL + (("DB_USER", "app"),), MYSQL + (("DB_USER", "app_v2"),)
NEW_NAME = (("DB_HOST", "10.10.0.3"), ("DB_PORT", "3306"), ("DB_NAME", "shop_v2"), ("DB_USER", "app"))
URL, NEW_URL = ((("DATABASE_URL", "mysql+pymysql://app:pw@10.10.0.3:3306/shop"),),
                (("DATABASE_URL", "mysql+pymysql://reporting:pw@10.10.0.3:3306/shop"),))
NEW_PASSWORD = USER + (("DB_PASSWORD", "s3cr3t-2"),)
OLD_PASSWORD = USER + (("DB_PASSWORD", "s3cr3t-1"),)

# go-sql-driver/mysql quotes the server's error as "Error 1862 (HY000): <message>" (errors.go, MySQLError.Error).
GO_1862 = ("charge inv_20931: Error 1862 (HY000): Your password has expired. To log in you must change it using a "
           "client that supports expired passwords.")
PYMYSQL_1820 = ("pymysql.err.OperationalError: (1820, 'You must reset your password using ALTER USER statement "
                "before executing this statement.')")
PG_EXPIRED = ('psycopg2.OperationalError: connection to server at "10.10.0.3", port 5432 failed: FATAL:  password '
              'authentication failed for user "app_v2"')
PG, PG_NEW_USER = ((("DB_HOST", "10.10.0.3"), ("DB_NAME", "shop"), ("DB_USER", "app")),
                   (("DB_HOST", "10.10.0.3"), ("DB_NAME", "shop"), ("DB_USER", "app_v2")))

CASES = {
    "MySQL 1862 at the login of the user DB_USER moved to": ((GO_1862, USER, NEW_USER), ROLLBACK),
    "MySQL 1820 at each statement of the user DB_USER moved to": ((PYMYSQL_1820, USER, NEW_USER), ROLLBACK),
    "MySQL 1862 for the user a URL moved to": ((GO_1862, URL, NEW_URL), ROLLBACK),
    # PostgreSQL's VALID UNTIL passed reads as a wrong password: the user moved decides it the same way.
    "PostgreSQL: the role DB_USER moved to is past its VALID UNTIL": ((PG_EXPIRED, PG, PG_NEW_USER), ROLLBACK),
    # Controls: the user both revisions ask for expired; the new user refused for both; only the password moved.
    "MySQL 1862, the user both revisions ask for, DB_NAME moved": ((GO_1862, USER, NEW_NAME), ESCALATE),
    "MySQL 1862 for the new user from both revisions": ((GO_1862, USER, NEW_USER, (), (), True), ESCALATE),
    "MySQL 1862, only the password setting moved": ((GO_1862, OLD_PASSWORD, NEW_PASSWORD), ESCALATE),
    "MySQL 1820, the revision before's env not read": ((PYMYSQL_1820, (), NEW_USER), ESCALATE),
}


@pytest.mark.parametrize("args, expected", CASES.values(), ids=CASES.keys())
def test_a_deploy_that_moved_the_user_to_one_whose_password_expired(args, expected):
    judged(args, expected)
