"""Credentials of each class an SRE meets in Cloud Run's logs, and the drivers' messages beside them: each secret
redacted, each driver's message kept whole (shared/redaction.py: `_FULL_FORM`, `_VERB_FIRST`, `_GO_CHAIN`,
`_CHAIN_COLON`, `_RAILS_BLOCK`, `_SECRET_OPTION`, `_MYSQL_NAMED`, `key_pair`). The diagnosis reads every log line
redacted (shared/gcp/logging.py), so a driver's word lost is evidence lost, and a passphrase kept is a secret written."""
from __future__ import annotations

import pytest

from shared.redaction import REDACTED, redacted

S = "Zq8s3cretW"
R = REDACTED

# A passphrase that opens as a driver's message does, or as a verdict with no subject: no driver writes either form
# (each names what failed, or its subject), so the words are the value's.
PASSPHRASES = {
    "connection lost ...": ("password: connection lost forever", "password: " + R),
    "server closed ...": ("DB_PASSWORD: server closed the door", "DB_PASSWORD: " + R),
    "could not connect ...": ("password: could not connect my heart", "password: " + R),
    "unable to reach ...": ("secret: unable to reach the stars tonight", "secret: " + R),
    "error ...ing": ("password: error making tea", "password: " + R),
    "must be changed": ("password: must be changed", "password: " + R),
    "is too short": ("password: is too short", "password: " + R),
    "has expired": ("pwd: has expired", "pwd: " + R),
    "a verdict, then the next pair": ("password: does not match host: 10.0.0.3", "password: " + R + " host: 10.0.0.3"),
    # a driver's mark further on, in the next pair or the next line of a JSON string, is not this value's
    "a pair after it": ('password: connection lost forever; db: "orders"', 'password: ' + R + '; db: "orders"'),
    "a passphrase inside a JSON string": ('"password: connection lost forever\\nport: 5432"', '"password: ' + R + '\\nport: 5432"'),
    # a digit or a symbol, as password policies ask, is no driver's full form (no address, port, cause or quote)
    "a year and a sign": ("password: connection lost forever 2024!", "password: " + R),
    "a number sign": ("DB_PASSWORD: connection lost again #42", "DB_PASSWORD: " + R),
    "a count": ("password: could not connect 4 times!", "password: " + R),
    "a JSON string's closing quote": ('{"msg": "password: connection lost forever\\", \\"db\\": \\"orders\\""}',
                                      '{"msg": "password: ' + R + '\\", \\"db\\": \\"orders\\""}'),
}
# The same openings in a driver's full form: a name quoted, an address, a further cause after ": ", a connection's
# state last. Kept whole.
DRIVER_FORMS = [
    'password: connection to server at "10.40.0.3", port 5432 failed: Connection refused',
    "password: could not connect to server: Connection timed out",
    "password: server closed the connection unexpectedly",
    "password: connection refused", '"password: connection refused\\nnext"', "password: connection refused; retrying",
    "password: Can't connect to MySQL server on '10.40.0.3' (110)",
    "password: database 10.40.0.3:5432 unreachable: Error: unable to verify the first certificate",
    "password: error connecting to 10.40.0.3:5432",
    "password: Connection reset by peer",
    "password: not set", "password: never set", "password: too short", "password: fe_sendauth: no password supplied",
    "password: The password of the account must be changed.", "password: Your password has expired",
    # libpq's quoted host inside a JSON string, its quotes escaped
    '{"message": "password: connection to server at \\"127.0.0.1\\", port 5432 failed: Connection refused"}',
    "password: connection to server on socket /cloudsql/p:r:i/.s.PGSQL.5432 failed",
    "password: could not connect to server at port 5432",
    # a Go chain's step before a driver's words opening a connection's failure
    "password: connect: failed to connect to the database server, retrying in 5s",
]

# A Go error chain (`fmt.Errorf("connect: %w", err)`) around a password or before a driver's message: the chain's words
# and its ": " kept, the password gone.
GO_CHAINS = {
    "a chain's op after password:": ('db: password: connect: pq: password authentication failed for user "app"',
                                     'db: password: connect: pq: password authentication failed for user "app"'),
    "connect: then the driver's words": ("password: connect: connection refused", "password: connect: connection refused"),
    "a password, then the chain": ('connect: password: hunter2: pq: password authentication failed for user "app"',
                                   f'connect: password: {R}: pq: password authentication failed for user "app"'),
    "a pair, then the chain": ('connect: password=hunter2: pq: password authentication failed for user "app"',
                               f'connect: password={R}: pq: password authentication failed for user "app"'),
    "a pair, then a word": ('connect: password=hunter2 failed: pq: password authentication failed for user "app"',
                            f'connect: password={R} failed: pq: password authentication failed for user "app"'),
    "dial tcp": ("password: dial tcp 10.20.0.3:3307: connect: connection refused",
                 "password: dial tcp 10.20.0.3:3307: connect: connection refused"),
    # a chain's step is one word before ":": an op's name and another word are a passphrase
    "an op and a word": ('password: open sesame: pq: password authentication failed for user "app"',
                         f'password: {R}: pq: password authentication failed for user "app"'),
    "dial and a word": ('password: dial tone: pq: password authentication failed for user "app"',
                        f'password: {R}: pq: password authentication failed for user "app"'),
    "exec and a word": ('password: exec summary: pq: password authentication failed for user "app"',
                        f'password: {R}: pq: password authentication failed for user "app"'),
    "a password that is no op": ('password: letmein: pq: password authentication failed for user "app"',
                                 f'password: {R}: pq: password authentication failed for user "app"'),
}

# Rails' Active Record encryption keys as `bin/rails db:encryption:init` prints them, and as config names them.
RAILS = {
    "the block, primary key first": (
        f"active_record_encryption:\n  primary_key: {S}\n  deterministic_key: {S}x\n  key_derivation_salt: {S}y",
        f"active_record_encryption:\n  primary_key: {R}\n  deterministic_key: {R}\n  key_derivation_salt: {R}"),
    "the block, primary key last": (
        f"active_record_encryption:\n  deterministic_key: {S}x\n  primary_key: {S}\nusers:\n  primary_key: id",
        f"active_record_encryption:\n  deterministic_key: {R}\n  primary_key: {R}\nusers:\n  primary_key: id"),
    "a list of primary keys": (f"active_record_encryption:\n  primary_key:\n    - {S}\n    - {S}2\n",
                               f"active_record_encryption:\n  primary_key:\n    - {R}\n"),
    "a flow list": (f"active_record_encryption:\n  primary_key: [{S}, {S}2]", f"active_record_encryption:\n  primary_key: [{R}]"),
    "as JSON": (f'{{"active_record_encryption": {{"primary_key": "{S}", "deterministic_key": "{S}x"}}}}',
                f'{{"active_record_encryption": {{"primary_key": "{R}", "deterministic_key": "{R}"}}}}'),
    "the block inside a JSON string": (f'"active_record_encryption:\\n  primary_key: {S}\\n"',
                             f'"active_record_encryption:\\n  primary_key: {R}\\n"'),
    "dotted": (f"active_record_encryption.primary_key: {S}", f"active_record_encryption.primary_key: {R}"),
    "a folded scalar": (f"active_record_encryption:\n  primary_key: >-\n    {S}",
                        f"active_record_encryption:\n  primary_key: >-\n    {R}"),
    "a literal scalar": (f"active_record_encryption:\n  primary_key: |\n    {S}",
                         f"active_record_encryption:\n  primary_key: |\n    {R}"),
    "Rails config": (f'config.active_record.encryption.primary_key = "{S}"',
                     f'config.active_record.encryption.primary_key = "{R}"'),
}
RAILS_KEPT = ["primary_key: id", "schema:\n  primary_key: id", "active_record_encryption: {}\nusers:\n  primary_key: id",
              "active_record_encryption:\n  primary_key: ${RAILS_PRIMARY_KEY}"]

# Options carrying a secret, on a command line, in a container's args as Cloud Run's API and gcloud write them (JSON,
# escaped in a text payload, YAML), a Python list, and in a person's reason.
OPTIONS = {
    "--encryption-key VALUE": (f"server --encryption-key {S} --port 8080", f"server --encryption-key {R} --port 8080"),
    "--db-pass VALUE": (f"app --db-pass {S}", f"app --db-pass {R}"),
    "--api-key VALUE": (f"worker --api-key {S}", f"worker --api-key {R}"),
    "--passphrase VALUE": (f"gpg --passphrase {S} -d x", f"gpg --passphrase {R} -d x"),
    "--token=VALUE": (f"cli --token={S}", f"cli --token={R}"),
    "JSON args": (f'"args": ["--db-pass", "{S}", "--port", "8080"]', f'"args": ["--db-pass", "{R}", "--port", "8080"]'),
    "JSON args, encryption key": (f'"args":["--encryption-key","{S}"]', f'"args":["--encryption-key","{R}"]'),
    "escaped JSON args": (f'{{"textPayload": "args=[\\"--password\\", \\"{S}\\"]"}}',
                          f'{{"textPayload": "args=[\\"--password\\", \\"{R}\\"]"}}'),
    "Python list": (f"argv: ['--token', '{S}']", f"argv: ['--token', '{R}']"),
    "YAML args": (f"args:\n- --db-pass\n- {S}\n- --port\n- '8080'", f"args:\n- --db-pass\n- {R}\n- --port\n- '8080'"),
    # argparse's and Go flag's names spelt with "_"
    "--db_pwd VALUE": (f"app --db_pwd {S}", f"app --db_pwd {R}"),
    "--api_key VALUE": (f"app --api_key {S}", f"app --api_key {R}"),
    "--encryption_key VALUE": (f"app --encryption_key {S}", f"app --encryption_key {R}"),
    "--client_secret VALUE": (f"app --client_secret {S}", f"app --client_secret {R}"),
    "--db_pass VALUE": (f"app --db_pass {S}", f"app --db_pass {R}"),
    "YAML args, double-quoted": (f'args:\n  - "--db-pass"\n  - "{S}"', f'args:\n  - "--db-pass"\n  - "{R}"'),
    "YAML args, single-quoted": (f"args:\n  - '--api_key'\n  - '{S}'", f"args:\n  - '--api_key'\n  - '{R}'"),
    "mysql -p VALUE then a database": (f"+ mysql -h 10.0.0.3 -u app -p {S} shop", f"+ mysql -h 10.0.0.3 -u app -p {R} shop"),
    "mysql -p VALUE no name holds": ("mysql -u app -p Zq8!s3cret", f"mysql -u app -p {R}"),
    "mysql -p in a reason": (f"rolled back; ran mysql -u app -p {S} shop to check",
                             f"rolled back; ran mysql -u app -p {R} shop to check"),
    "mysql -pVALUE in a reason": (f"checked with mysql -u app -p{S} shop", f"checked with mysql -u app -p{R} shop"),
    "sqlcmd -P": (f"sqlcmd -S 10.0.0.3 -U sa -P {S}", f"sqlcmd -S 10.0.0.3 -U sa -P {R}"),
}
OPTIONS_KEPT = ["mysql -h 10.30.0.5 -u app -p orders", "mysql -u app -p orders -e 'SELECT 1'", "mysql -u app -p < d.sql",
                "mysql -u app -p -h 10.0.0.3", "docker run -p 8080:8080 img", "psql -h 10.0.0.3 -p 5432 -U app",
                "mkdir -p /tmp/x", "--private-key /secrets/key.pem", "--token ${TOKEN}", "--no-password orders",
                "gcloud secrets versions access latest --secret=db-pass", "--key projects/p/keys/k",
                'app --idempotency-key 3f2a9c1e', "app --primary-key id", "ssh -p 22 host",
                'args:\n  - "--db-host"\n  - "10.0.0.3"']

# Other forms: an access key's secret beside its ID; Slack's app-level token.
OTHERS = {
    "AWS key, CSV": ("AKIAIOSFODNN7EXAMPLE,wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", f"AKIAIOSFODNN7EXAMPLE,{R}"),
    "AWS key, spaced": ("AKIAIOSFODNN7EXAMPLE  wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", f"AKIAIOSFODNN7EXAMPLE  {R}"),
    "AWS temporary key": ("ASIAIOSFODNN7EXAMPLE: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", f"ASIAIOSFODNN7EXAMPLE: {R}"),
    "HMAC key": ("GOOG1EABCDEFGHIJKLMNOPQRSTUVWXYZ234567 bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ",
                 f"GOOG1EABCDEFGHIJKLMNOPQRSTUVWXYZ234567 {R}"),
    # Cloud Storage "HMAC keys": a service account's access ID, 61 characters, and its secret
    "HMAC key, a service account's ID": (
        "GOOGTS7C7FUP3AIRVJTE2BCDKINBTES3HC2GY5CBFJDCQ2SYHV6A6XXVTJFSA,bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ",
        f"GOOGTS7C7FUP3AIRVJTE2BCDKINBTES3HC2GY5CBFJDCQ2SYHV6A6XXVTJFSA,{R}"),
    "a Secret Manager payload after an escaped line end": (f'"ok\\npayload {{ data: \\"{S}\\" }}"',
                                                            f'"ok\\npayload {{ data: {R} }}"'),
    "Slack app token": ("SLACK_APP=xapp-1-A0123456789-1234567890123-abcdef0123456789", f"SLACK_APP={R}"),
}
OTHERS_KEPT = ["AKIAIOSFODNN7EXAMPLE e3b0c44298fc1c149afbf4c8996fb92427ae41e4", "region asia-east1 ok",
               "key AKIAIOSFODNN7EXAMPLE deactivated"]
# Already redacted before (the scan of item 5), kept as a regression table.
SCANNED = {
    "postgres DSN": ("postgres://app:hunter2@10.0.0.3/db", f"postgres://app:{R}@10.0.0.3/db"),
    "asyncpg DSN": ("postgresql+asyncpg://app:hunter2@10.0.0.3/db", f"postgresql+asyncpg://app:{R}@10.0.0.3/db"),
    "pymysql DSN": ("mysql+pymysql://app:hunter2@10.0.0.3/db", f"mysql+pymysql://app:{R}@10.0.0.3/db"),
    "pgjdbc query": ("jdbc:postgresql://10.0.0.3/db?user=app&password=hunter2",
                     f"jdbc:postgresql://10.0.0.3/db?user=app&password={R}"),
    "SQL Server": ("Server=tcp:x.database.windows.net,1433;User ID=app;Password=hunter2;Encrypt=True",
                   f"Server=tcp:x.database.windows.net,1433;User ID=app;Password={R};Encrypt=True"),
    "mongodb+srv": ("mongodb+srv://app:hunter2@c0.example.net/db", f"mongodb+srv://app:{R}@c0.example.net/db"),
    "PGPASSWORD": ("PGPASSWORD=hunter2 psql -h 10.0.0.3", f"PGPASSWORD={R} psql -h 10.0.0.3"),
    "Bearer": ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz123", f"Authorization: Bearer {R}"),
    "Basic": ("Authorization: Basic YXBwOmh1bnRlcjI=", f"Authorization: Basic {R}"),
    "ya29": ("token ya29.a0AfH6SMBx-abc_def", f"token {R}"),
    "PEM in JSON": ('{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBg\\n-----END PRIVATE KEY-----\\n"}',
                    f'{{"private_key": "{R}"}}'),
    "AIza": ("key=AIzaSyA1234567890abcdefghijklmnopqrstuv", f"key={R}"),
    "GitHub": ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", R),
    "Slack bot": ("xoxb-123456789012-abcdefghijkl", R),
}

ALL = {**PASSPHRASES, **GO_CHAINS, **RAILS, **OPTIONS, **OTHERS, **SCANNED}
assert len(ALL) == sum(map(len, (PASSPHRASES, GO_CHAINS, RAILS, OPTIONS, OTHERS, SCANNED)))   # no row hidden by another


@pytest.mark.parametrize("text, expected", ALL.values(), ids=ALL.keys())
def test_each_credential_is_redacted_and_the_rest_kept(text, expected):
    assert redacted(text) == expected
    assert redacted(expected) == expected   # redacting twice changes nothing


@pytest.mark.parametrize("text", DRIVER_FORMS + RAILS_KEPT + OPTIONS_KEPT + OTHERS_KEPT)
def test_what_holds_no_secret_is_kept(text):
    assert redacted(text) == text
