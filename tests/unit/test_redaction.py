"""shared/redaction.py (`redacted`, `SHAPES`, also named in shared/outcomes.py): every credential shape redacted, what names it kept, prose left alone. Pure."""
from __future__ import annotations

import pytest

from shared.outcomes import REDACTED, SHAPES, redacted

# (text, what must be gone, what must remain); each shape in more than one wording.
ROWS = [
    ("curl -H 'Authorization: Basic dXNlcjpwYXNz' x", "dXNlcjpwYXNz", f"Authorization: Basic {REDACTED}' x"),
    ("AUTHORIZATION:BEARER abcd1234efgh", "abcd1234efgh", f"AUTHORIZATION:BEARER {REDACTED}"),
    ("authorization: bearer tok.en-value", "tok.en-value", f"authorization: bearer {REDACTED}"),
    ("AuThOrIzAtIoN: bAsIc Zm9vOmJhcg==", "Zm9vOmJhcg", f"AuThOrIzAtIoN: bAsIc {REDACTED}"),
    ("token ya29.A0ARrdaM-abc_DEF", "ya29.A0ARrdaM", f"token {REDACTED}"),
    ("Bearer 0123456789abcdef0123", "0123456789abcdef0123", f"Bearer {REDACTED}"),
    ("key=AIzaSyD-0123456789abcdefghijklmnopqrstu&x=1", "AIzaSyD", f"key={REDACTED}&x=1"),
    ("postgresql://app:PW-9x@10.0.0.3/orders", "PW-9x", f"postgresql://app:{REDACTED}@10.0.0.3/orders"),
    ('dsn "mysql+pymysql://root:t0p@db:3306/x" refused', "t0p", f'mysql+pymysql://root:{REDACTED}@db:3306/x"'),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- after", "MIIEow", f"{REDACTED} after"),
    ('could not translate host name "wX9k@10.40.0.3" to address', "wX9k", f'host name "{REDACTED}@10.40.0.3"'),
    ("dial tcp: lookup Zk3@db.internal on 169.254.169.254:53: no such host", "Zk3", f"lookup {REDACTED}@db.internal"),
    ('{"doc": "could not translate host name \\"pQ7@db.internal\\" to address"}', "pQ7",
     f'host name \\"{REDACTED}@db.internal'),
]
# A bearer token outside any header, after the word "bearer" in any case (RFC 6750 section 2.1: the
# scheme's name is case-insensitive, RFC 9110 section 11.1): whatever the word's case, whitespace or what
# the token is made of, at least 20 characters of a token (RFC 6750's b64token) with no space.
BEARER_ROWS = [
    ("bEaReR AbCdEf0123456789ghij sent", "AbCdEf0123456789ghij", f"bEaReR {REDACTED} sent"),
    ("BEARER 1/fFAGRNJru1FTz70BzhT3Zg_x-y.z", "1/fFAGRNJru1FTz70BzhT3Zg", f"BEARER {REDACTED}"),
    ("token_type=bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "eyJhbGciOiJSUzI1NiJ9",
     f"token_type=bearer {REDACTED}"),
    ("bearer\tabcdefghijklmnopqrstuvwxyz0== then", "abcdefghijklmnopqrstuvwxyz0", f"bearer {REDACTED} then"),
    ('{"header": "x-bearer Zm9vYmFyYmF6cXV4cXV1eDEyMzQ="}', "Zm9vYmFyYmF6cXV4cXV1eDEyMzQ", f"x-bearer {REDACTED}\""),
]
ROWS += BEARER_ROWS
# Credentials as the libraries, drivers and tools that write them into a log line or an error do, one row each with
# its source (each shape shared/redaction.py `SHAPES` names it after): the secret gone, what a person needs (the
# host, the user, the database, the name of what held it) kept.
HUNTED = {
    # http.client's debuglevel echoes a request's headers (Lib/http/client.py `send`), as google-auth's transport sent it
    "a ya29 token in a client's debug echo": (
        "send: b'GET /v2/projects/p/locations/us-central1/services/orders HTTP/1.1\\r\\nHost: run.googleapis.com\\r\\n"
        "Authorization: Bearer ya29.c.c0ASRK0GZ9x-Tok_en1.qWeR7-tY\\r\\n'", "qWeR7-tY",
        "Host: run.googleapis.com\\r\\nAuthorization: Bearer " + REDACTED),
    # a service account's access token, as google-auth returns it: more dotted parts after "ya29.c"
    "a service account's dotted ya29 token": ("refreshed credentials: token=ya29.c.b0AXv0zTPq1.Zy-2xW_3 expiry=3599",
                                              "b0AXv0zTPq1", "expiry=3599"),
    # a service account key's JSON in an environment dump (`env`; the key file's `private_key`, IAM "Create and delete
    # service account keys"), its newlines escaped inside the JSON string
    "a service account key in an env dump": (
        'GOOGLE_CREDENTIALS={"type": "service_account", "project_id": "shop-prod", "private_key": '
        '"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n", '
        '"client_email": "orders@shop-prod.iam.gserviceaccount.com"}', "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
        '"client_email": "orders@shop-prod.iam.gserviceaccount.com"'),
    # pgjdbc "Connecting to the Database": jdbc:postgresql://localhost/test?user=fred&password=secret&ssl=true
    "a JDBC URL's password parameter": (
        "org.postgresql.util.PSQLException: Connection to 10.40.0.3:5432 refused for "
        "jdbc:postgresql://10.40.0.3:5432/orders?user=app&password=Pq7s3cret&ssl=true", "Pq7s3cret",
        "jdbc:postgresql://10.40.0.3:5432/orders?user=app&password=" + REDACTED + "&ssl=true"),
    # Microsoft "Connection string keywords" (ODBC Driver for SQL Server): Uid and Pwd, a value in braces when it
    # holds ";"
    "an ODBC connection string's Pwd": (
        "pyodbc.OperationalError: ('08001', 'login timeout') connecting with Driver={ODBC Driver 18 for SQL Server};"
        "Server=tcp:10.40.0.9,1433;Database=orders;Uid=app;Pwd={Oq8;s3cret};Encrypt=yes", "Oq8;s3cret",
        "Database=orders;Uid=app;Pwd={" + REDACTED + "};Encrypt=yes"),
    # ADO.NET SqlConnection.ConnectionString: `Password=...;`
    "an ADO.NET connection string's Password": (
        "Format of the initialization string does not conform: Server=10.40.0.9;Database=orders;User Id=app;"
        "Password=Ad9s3cret;Trust", "Ad9s3cret", "User Id=app;Password=" + REDACTED + ";Trust"),
    # redis-py `from_url`: redis://[[username]:[password]]@localhost:6379/0, the user left empty
    "a Redis URL with no user": ("redis.exceptions.ConnectionError: Error 111 connecting to "
                                 "redis://:Rd4s3cret@10.60.0.4:6379/0. Connection refused.", "Rd4s3cret",
                                 "redis://:" + REDACTED + "@10.60.0.4:6379/0"),
    # PostgreSQL "Environment Variables" (libpq): PGPASSWORD, which `ps` may show to other users
    "PGPASSWORD in a process listing": ("app   42  0.0  0.1 PGPASSWORD=Pg5s3cret psql -h 10.40.0.3 -U app orders",
                                        "Pg5s3cret", "PGPASSWORD=" + REDACTED + " psql -h 10.40.0.3 -U app orders"),
    # Google's API keys documentation: the key in the `key` parameter or the X-Goog-Api-Key header
    "an API key header and parameter": (
        "curl -H 'X-Goog-Api-Key: AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW' "
        "'https://maps.googleapis.com/maps/api/geocode/json?key=AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW'",
        "AIzaSyA1b2C3", "X-Goog-Api-Key: " + REDACTED),
    # requests' PreparedRequest.headers as a debug line prints them (requests/auth.py `_basic_auth_str`)
    "a Basic header in a mapping's repr": ("request headers: {'User-Agent': 'python-requests/2.32.3', "
                                           "'Authorization': 'Basic YXBwOkJhNnMzY3JldA=='}", "YXBwOkJhNnMzY3JldA",
                                           "'Authorization': 'Basic " + REDACTED + "'"),
    # SQLAlchemy 1.4's str(engine.url) writes the password (2.0 hides it, URL.__str__), here with an "@" not
    # percent-encoded (SQLAlchemy "Engine Configuration", "Escaping Special Characters such as @ signs in Passwords")
    "an engine URL whose password holds an @": ("engine url postgresql+psycopg2://app:Sq1p@ss@10.40.0.3:5432/orders",
                                                 "Sq1p@ss", "postgresql+psycopg2://app:" + REDACTED +
                                                 "@10.40.0.3:5432/orders"),
    # Django's settings.DATABASES as a print of it shows (django.db.backends.postgresql's keys)
    "a Django DATABASES repr": (
        "{'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': 'orders', 'USER': 'app', "
        "'PASSWORD': 'Dj2s3cret', 'HOST': '10.40.0.3', 'PORT': '5432'}}", "Dj2s3cret",
        "'USER': 'app', 'PASSWORD': '" + REDACTED + "', 'HOST': '10.40.0.3'"),
    # MySQL "CREATE USER Statement", as an application's migration logs its statement with the server's error
    "MySQL IDENTIFIED BY in a logged statement": (
        "pymysql.err.OperationalError: (1396, \"Operation CREATE USER failed for 'app'@'%'\") [SQL: CREATE USER "
        "'app'@'%' IDENTIFIED WITH caching_sha2_password BY 'My3s3cret']", "My3s3cret",
        "CREATE USER 'app'@'%' IDENTIFIED WITH caching_sha2_password BY '" + REDACTED + "'"),
    # PostgreSQL log_statement = 'ddl' (CREATE ROLE: the password "might also be logged ... in the server log")
    "PostgreSQL PASSWORD in a logged statement": ("LOG:  statement: ALTER ROLE app WITH ENCRYPTED PASSWORD 'Pr4s3cret'",
                                                  "Pr4s3cret", "ALTER ROLE app WITH ENCRYPTED PASSWORD '" + REDACTED),
    # the Cloud SQL Auth Proxy's `--token` flag ("Use bearer token as a source of IAM credentials"), in its command line
    "the Cloud SQL Auth Proxy's --token": ("cloud-sql-proxy --token=Tk5s3cretOpaqueAccessToken --port 5432 "
                                           "shop-prod:us-central1:orders", "Tk5s3cret",
                                           "--token=" + REDACTED + " --port 5432 shop-prod:us-central1:orders"),
    # libpq's keyword/value connection string (PostgreSQL "Connection Strings"), a value single-quoted
    "a libpq keyword/value string": ("psycopg2.ProgrammingError: invalid dsn: host=10.40.0.3 dbname=orders user=app "
                                     "password='Kw6 s3cret' sslmode=bogus", "Kw6 s3cret",
                                     "host=10.40.0.3 dbname=orders user=app password='" + REDACTED + "' sslmode"),
    # an ID token (a JWT, RFC 7519) verified by an application, outside any header
    "an ID token in prose": ("verified id token eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJzdWIiOiIxMjM0NTY3In0."
                             "c2lnbmF0dXJlX2hlcmU for orders", "c2lnbmF0dXJlX2hlcmU", REDACTED + " for orders"),
    # Cloud Storage "Signed URLs": the X-Goog-Signature parameter grants the access
    "a signed URL's signature": ("GET https://storage.googleapis.com/b/o?X-Goog-Algorithm=GOOG4-RSA-SHA256"
                                 "&X-Goog-Signature=5e1f0abc99d2&X-Goog-SignedHeaders=host", "5e1f0abc99d2",
                                 "X-Goog-Signature=" + REDACTED + "&X-Goog-SignedHeaders=host"),
    # the name's quotes escaped, as a JSON line inside a JSON string keeps them (a rejected message's data; Go's %q)
    "an escaped JSON key's password": ('app logged {\\"password\\": \\"hunter2\\"}', "hunter2",
                                       '{\\"password\\": \\"' + REDACTED),
    # google-cloud-storage blob.py generate_signed_url, version "v2" by default: GoogleAccessId, Expires, Signature
    "a V2 signed URL's Signature": ("GET /b/o?GoogleAccessId=sa@p.iam.gserviceaccount.com&Expires=1&Signature=abcDEF%2B"
                                    " HTTP/1.1", "abcDEF", "&Signature=" + REDACTED + " HTTP/1.1"),
    # a value under a secret's name that only begins like one kept: a word, a path, a shell variable
    "a password beginning with no": ("password=no-way-Q9 user=app", "no-way-Q9", "password=" + REDACTED + " user=app"),
    "a base64 password beginning with a slash": ("PGPASSWORD=/x8KdQ2+vL0aZ9wq3T7yBmNc psql", "x8KdQ2",
                                                 "PGPASSWORD=" + REDACTED + " psql"),
    "a password beginning with a dollar": ("PGPASSWORD=$uperS3cret psql", "uperS3cret",
                                           "PGPASSWORD=" + REDACTED + " psql"),
    "spaces before the equals sign": ("password  =  Kw6s3cret dbname=orders", "Kw6s3cret", "dbname=orders"),
    # libpq's keyword/value string allows spaces after "=" (PostgreSQL "Keyword/Value Connection Strings": "Spaces
    # around the equal sign are optional"): `password= dbname=orders` is a password "dbname=orders", redacted
    "a libpq password after a space": ("host=db user=app password= hunter2 sslmode=require", "hunter2",
                                       "password= " + REDACTED + " sslmode=require"),
    "PGPASSWORD after a space": ("PGPASSWORD= s3cr3tPw psql -h 10.0.0.3", "s3cr3tPw", "PGPASSWORD= " + REDACTED),
}
ROWS += list(HUNTED.values())
# More of this world's log lines, each with its source: an application's, a driver's, a command echoed by a deploy
# script or a tool's output, as they reach Cloud Logging. Each is a class of credential the shapes missed before.
LEAKED = {
    # Django REST framework "Authentication", TokenAuthentication: `Authorization: Token 9944b0...`; any scheme other
    # than Basic and Bearer (RFC 9110 section 11.4: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ])
    "a DRF token header": ("WARNING Forbidden: /api/orders/ headers={'Authorization': 'Token "
                           "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b', 'Host': 'orders-x.a.run.app'}",
                           "9944b09199c62bcf", "'Authorization': 'Token " + REDACTED + "', 'Host': 'orders-x.a.run.app'"),
    # GitHub REST API "Authenticating": `Authorization: token <token>`, the scheme in small letters
    "a GitHub token header": ("curl -sf -H 'Authorization: token gho_16C7e42F292c6912E7710c838347Ae178B4a' "
                              "https://api.github.com/repos/shop/orders", "16C7e42F292c6912",
                              "'Authorization: token " + REDACTED + "' https://api.github.com/repos/shop/orders"),
    # Elasticsearch "Create API key": `Authorization: ApiKey <base64 of id:api_key>`
    "an ApiKey header": ("elastic_transport: HEAD https://es.internal:9200/ [status:401] Authorization: ApiKey "
                         "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==", "VnVhQ2ZHY0JDZGJr",
                         "[status:401] Authorization: ApiKey " + REDACTED),
    # RFC 7616 section 3.9.1: a Digest response (a hash of the password) in auth-params
    "a Digest header": ('Authorization: Digest username="app", realm="orders@shop.example", nonce="7ypf/xlj9XXwfDPEoM4U", '
                        'uri="/dir/index.html", response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"',
                        "753927fa0e85d155", "Authorization: Digest " + REDACTED),
    # Cloud Storage's XML API with an HMAC key (Cloud Storage "HMAC keys"; AWS Signature Version 4's header)
    "an HMAC-signed request's header": (
        "botocore: Authorization: AWS4-HMAC-SHA256 Credential=GOOG1EXAMPLE/20261207/auto/s3/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
        "fe5f80f77d5fa3be", "Authorization: AWS4-HMAC-SHA256 " + REDACTED),
    # a URL's password holding an unescaped space: SQLAlchemy's engine/url.py `_parse_url` reads a password as
    # `[^@]*`, so the engine connects with it and the application prints the URL as it was set
    "a URL password holding a space": ("engine url postgresql+psycopg2://app:pa ss@10.40.0.3:5432/orders refused",
                                       "pa ss", "postgresql+psycopg2://app:" + REDACTED + "@10.40.0.3:5432/orders refused"),
    "a quoted URL password holding spaces": ('settings DATABASE_URL="postgresql://app:correct horse battery@10.40.0.3/orders"',
                                             "horse", '"postgresql://app:' + REDACTED + '@10.40.0.3/orders"'),
    # YAML's plain scalar (YAML 1.2 section 7.3.3): a config file echoed at start-up, and a log line's `name: value` pairs
    "YAML's unquoted password": ("loaded config.yaml:\n  database:\n    host: 10.40.0.3\n    user: app\n    password: s3cret\n",
                                 "s3cret", "host: 10.40.0.3\n    user: app\n    password: " + REDACTED),
    "a log line's secret and api_key": ("settings: secret: abcDEF123 api_key: k3yV4lue host: 10.0.0.3 port: 5432",
                                        "abcDEF123", "secret: " + REDACTED + " api_key: " + REDACTED + " host: 10.0.0.3"),
    # `gcloud storage hmac create` prints the new key's secret once (Cloud Storage "Manage HMAC keys"); the access ID is
    # the key's name, kept
    "an HMAC key's secret in gcloud's output": (
        "metadata:\n  accessId: GOOG1EJRAHTSECZ7TXP4T5IRO5LKGBEQWZKX5GK7KZ6IMVFHGEMUKXY2SUNK5\n"
        "secret: bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ", "bGoa+V7g", "accessId: GOOG1EJRAHTSECZ7TXP4T5IRO5LKGBEQWZKX5GK7KZ6IMVFHGEMUKXY2SUNK5"),
    # MySQL "mysql Client Options": `-p[password]`, no space between the option and the password, quoted or not
    "mysql's -p": ("+ mysql -h 10.30.0.5 -P 3306 -u app -pMyS3cret orders -e 'SELECT 1'", "MyS3cret",
                   "mysql -h 10.30.0.5 -P 3306 -u app -p" + REDACTED + " orders"),
    "mysqldump's quoted -p": ("mysqldump -h 10.30.0.5 -uroot -p'My S3cret' shop > /tmp/shop.sql", "S3cret",
                              "-uroot -p" + REDACTED + " shop > /tmp/shop.sql"),
    # redis-cli: `-a <password>` ("Using a password with '-a' ... may not be safe", which redis-cli itself prints)
    "redis-cli's -a": ("redis-cli -h 10.60.0.4 -p 6379 -a Rd5s3cret ping", "Rd5s3cret",
                       "-h 10.60.0.4 -p 6379 -a " + REDACTED + " ping"),
    # a long option and its value as two arguments (Go's flag package and Python's argparse accept both forms)
    "a password option's value after a space": ("exec /app/migrate --db-host 10.40.0.3 --db-password hunter2 --db-user app",
                                                "hunter2", "--db-password " + REDACTED + " --db-user app"),
    # RFC 6265 section 4.2 (Cookie) and 4.1 (Set-Cookie); Django's session cookie `sessionid` (SESSION_COOKIE_NAME)
    "a Cookie header": ("request headers: Host: orders-x.a.run.app Cookie: sessionid=38afes7a8djak2jd; csrftoken=Xy7"
                        "\r\nAccept: */*", "38afes7a8djak2jd", "Host: orders-x.a.run.app Cookie: " + REDACTED + "\r\nAccept"),
    "a Set-Cookie header": ("response: 302 Set-Cookie: sessionid=bq9z2v8kxl3m; expires=Tue, 21 Dec 2026 07:28:00 GMT; "
                            "HttpOnly; Path=/", "bq9z2v8kxl3m", "Set-Cookie: " + REDACTED + "; expires=Tue"),
    "a cookie in a JSON line": ('{"httpRequest":{"status":500},"cookie":"session=Zk3pQ9x; theme=dark"}', "Zk3pQ9x",
                                '"cookie":"' + REDACTED + '"}'),
    # go-sql-driver/mysql README, "DSN (Data Source Name)": [username[:password]@][protocol[(address)]]/dbname; Cloud
    # SQL "Connect from Cloud Run", Go's Unix socket DSN `user:password@unix(/cloudsql/INSTANCE)/db`
    "a Go MySQL DSN over TCP": ('sql.Open("mysql", "app:GoS3cret@tcp(10.30.0.5:3306)/shop?parseTime=true"): dial tcp '
                                '10.30.0.5:3306: i/o timeout', "GoS3cret",
                                '"app:' + REDACTED + '@tcp(10.30.0.5:3306)/shop?parseTime=true"'),
    "a Go MySQL DSN over Cloud SQL's socket": ("dsn=app:p@ss/w0rd@unix(/cloudsql/shop-prod:us-central1:orders)/shop",
                                               "w0rd", "dsn=app:" + REDACTED + "@unix(/cloudsql/shop-prod:us-central1:orders)/shop"),
    # Oracle "JDBC Developer's Guide", thin driver URLs: jdbc:oracle:thin:scott/tiger@//myhost:1521/orcl
    "an Oracle thin URL": ("java.sql.SQLRecoverableException: IO Error for jdbc:oracle:thin:app/OraS3cret@//10.0.0.5:1521/ORCL",
                           "OraS3cret", "jdbc:oracle:thin:app/" + REDACTED + "@//10.0.0.5:1521/ORCL"),
    # Google OAuth 2.0 refresh tokens begin "1//" (UNCONFIRMED: Google calls tokens opaque; the OAuth Playground's and
    # gcloud's ~/.config/gcloud credentials show this prefix); client secrets made since 2021 begin "GOCSPX-"
    # (UNCONFIRMED in Google's docs)
    "a Google refresh token in prose": ("refreshing with refresh token 1//0gXyzAbCdEfGh-IjKlMnOpQrStUvWxYz0123 failed: "
                                        "invalid_grant", "1//0gXyzAbCd", REDACTED + " failed: invalid_grant"),
    "a Google OAuth client secret": ("oauth client 1234-abc.apps.googleusercontent.com secret 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",
                                     "GOCSPX-rz", "oauth client 1234-abc.apps.googleusercontent.com secret " + REDACTED),
    # gitleaks config/gitleaks.toml: github-pat (ghp_ and 36), slack-bot-token (xoxb-), stripe-access-token (sk_live_)
    "a GitHub token outside any header": ("github.GithubException: 401 Bad credentials for app token "
                                          "ghs_16C7e42F292c6912E7710c838347Ae178B4a (repo shop/orders)",
                                          "16C7e42F292c6912", "for app token " + REDACTED + " (repo shop/orders)"),
    "a Slack bot token": ("slack_sdk.errors.SlackApiError: token xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx "
                          "is not_authed", "AbCdEfGhIjKl", REDACTED + " is not_authed"),
    "a Stripe live key": ("stripe.error.AuthenticationError: Invalid API Key provided: sk_live_4eC39HqLyjWDarjtT1zdp7dc",
                          "4eC39HqLyjWD", "Invalid API Key provided: " + REDACTED),
    # gitleaks slack-webhook-url (hooks.slack.com/services|workflows|triggers); Slack "Sending messages using incoming
    # webhooks" ("Keep it secret"); Discord "Webhook Resource": POST /webhooks/{webhook.id}/{webhook.token}
    "a Slack webhook URL": ("requests.exceptions.HTTPError: 404 Client Error: Not Found for url: "
                            "https://hooks.slack.com/services/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",
                            "q8RkZ2xY7wVu", "for url: https://hooks.slack.com/" + REDACTED),
    "a Discord webhook URL": ("POST https://discord.com/api/webhooks/123456789012345678/abcDEFghiJKLmnoPQRstuVWXyz0123456789 "
                              "-> 429", "abcDEFghiJKL", "https://discord.com/api/webhooks/" + REDACTED + " -> 429"),
    # a Python bytes value's repr under a secret's name (redis-py hands back bytes; a mapping of settings printed)
    "a bytes password in a repr": ("redis kwargs {'host': '10.60.0.4', 'password': b'Rd6s3cret', 'db': 0}", "Rd6s3cret",
                                   "'password': b'" + REDACTED + "', 'db': 0}"),
    # Secret Manager API reference, AccessSecretVersionResponse: payload.data, "The secret data" (bytes: the proto's text
    # format when a proto-plus message is printed, base64 in its JSON)
    "a secret version's payload printed": ('accessed name: "projects/123/secrets/db-pass/versions/3"\npayload {\n  '
                                           'data: "Sm7s3cret"\n  data_crc32c: 2871539712\n}', "Sm7s3cret",
                                           'name: "projects/123/secrets/db-pass/versions/3"\npayload {\n  data: '
                                           + REDACTED + "\n  data_crc32c: 2871539712"),
    "a secret version's payload as JSON": ('{"name": "projects/123/secrets/db-pass/versions/3", "payload": {"data": '
                                           '"U203czNjcmV0", "dataCrc32c": "2871539712"}}', "U203czNjcmV0",
                                           '"payload": {"data": ' + REDACTED + ', "dataCrc32c"'),
    "a secret version's payload inside a JSON string": ('{"message": "got payload {\\n  data: \\"Sm8s3cret\\"\\n}"}',
                                                        "Sm8s3cret", 'payload {\\n  data: ' + REDACTED + '\\n}"}'),
    # Memorystore for Redis "AUTH": `gcloud redis instances get-auth-string` prints `authString: ...`; a key's passphrase
    "a Memorystore AUTH string": ("authString: 0e86c2b4-6a3c-4e2e-8e7b-3f1d2c9a7b61", "0e86c2b4", "authString: " + REDACTED),
    "a key's passphrase": ("ssl: keyfile: /secrets/tls.key passphrase: c0rrect-h0rse", "c0rrect",
                           "keyfile: /secrets/tls.key passphrase: " + REDACTED),
    # a Google OAuth authorization code in a callback's request URL, as Cloud Run's request log records it
    "an OAuth code in a request URL": ("GET /oauth2/callback?state=xyz&code=4/0AX4XfWhL9sK2mQ7rT5vN8pJ3bF6dH1cG0eY&scope=email"
                                       " 500", "AX4XfWhL9sK2", "?state=xyz&code=" + REDACTED + "&scope=email 500"),
    # docker login's `-p` (Docker CLI reference, "docker login": --password, -p), sshpass's `-p password`
    "docker login's -p": ("+ docker login -u _json_key -p Dk8s3cretJsonKey https://us-docker.pkg.dev", "Dk8s3cret",
                          "-u _json_key -p " + REDACTED + " https://us-docker.pkg.dev"),
    "sshpass's -p": ("sshpass -p Ss9s3cret ssh app@10.0.0.3 uptime", "Ss9s3cret", "-p " + REDACTED + " ssh app@10.0.0.3"),
}
ROWS += list(LEAKED.values())
# Rails' `bin/rails db:encryption:init` block (a bare `primary_key:` under `active_record_encryption:`); an AWS access
# key's secret beside its ID (IAM "Manage access keys for IAM users"), the ID kept.
ROWS += [("active_record_encryption:\n  primary_key: EGY8WhulUOXixybod7ZWwMIL68R9o5kC\n", "EGY8WhulUOXixybod7ZWwMIL68R9o5kC",
          "primary_key: " + REDACTED),
         ("AKIAIOSFODNN7EXAMPLE,wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI", "AKIAIOSFODNN7EXAMPLE," + REDACTED)]
# Prose and look-alikes that hold no credential: left exactly as they are.
KEPT = ["the token is a bearer instrument", "basic checks passed; Bearer owner", "https://example.com/a:b/c",
        "postgresql://app@10.0.0.3/orders", "connection to server at \"10.0.0.3\", port 5432 failed",
        "AIza too short", "no authorization header",
        # "bearer" in prose, or before a word shorter than a token, or inside a longer word: kept.
        "the bearer of bad news", "BEARER credentials expired at noon", "bEaReR 0123456789abcdefghi",
        "the flag bearer went first", "Bearer authentication failed", "cardbearer AbCdEf0123456789ghijklmn", "Bearer-token refused"]
# Words beside a secret's name that are no secret, kept: what a diagnosis reads ("using password: YES", MySQL's
# 1045), nothing set, a path (a secret mounted as a file, a shell's working directory), a Secret Manager version's
# name, a variable named in the secret's place, a name that only holds a secret's word, prose after a colon.
KEPT += ["Access denied for user 'app'@'10.8.0.5' (using password: YES)", "PWD=/workspace HOME=/home/app",
         "DB_PASSWORD_FILE=/secrets/db/password", "{'PASSWORD': None, 'TOKEN': ''}", "password=null&user=app",
         "DB_SECRET=projects/shop-prod/secrets/db-password/versions/7", "psql password=${DB_PASSWORD} host=db",
         "token_type=bearer expires_in=3599", "bypass=true oauth=off", "invalid token: expired",
         "FATAL:  password authentication failed for user \"app\"",
         "CREATE USER 'app'@'%' IDENTIFIED WITH caching_sha2_password", "eyJhbGciOi alone",
         "password=yes)",
         # Runwarden's own words: a diagnosis's signature, in its outcome's JSON
         '{"signature": "database_unreachable", "confidence": 0.8}']
# What a person needs, near a credential's words and kept whole: a host and port before a URL's query holding an "@" (RFC
# 3986 section 3.2: "?" and "#" end the authority, so no userinfo lies past them), a port read as no password beside a
# later "@", a secret's name and version as Cloud Run takes them, Terraform's own mark of a hidden value, prose and
# error codes after a secret's name and a colon, a service's name under /services/, an HMAC key's access ID, options
# that take no password (`--no-password`, mysql's bare `-p` that prompts, psql's `-p PORT`), a DSN holding no password.
KEPT += ["GET https://orders.example.com:8443?next=a@b failed", "https://orders-x.a.run.app?next=a:b@c.example 302",
         "https://orders.example.com:443 is down, mail ops@example.com",
         "gcloud run deploy orders --set-secrets=DB_PASS=db-pass:latest,API_KEY=maps-key:2 --region us-central1",
         "terraform: + password = (sensitive value)", "level=error msg=\"token: <nil>\"",
         "authorization: permission denied for user app", "Authorization: PERMISSION_DENIED (403)",
         "token: 401 Unauthorized", "secret: db-pass not found", "auth: token expired", "cookie: none set",
         "Set-Cookie rejected: SameSite=None without Secure",
         "Permission 'secretmanager.versions.access' denied for resource 'projects/shop/secrets/db-pass/versions/latest'",
         "GET https://run.googleapis.com/v2/projects/shop-prod/locations/us-central1/services/orders-api-production-001",
         "POST https://shop.example/api/webhooks/stripe 500", "https://hooks.slack.com/services/ not configured",
         "HMAC key GOOG1EJRAHTSECZ7TXP4T5IRO5LKGBEQWZKX5GK7KZ6IMVFHGEMUKXY2SUNK5 is INACTIVE",
         "pg_dump --no-password -h 10.40.0.3 -p 5432 -U app orders", "mysql -h 10.30.0.5 -P 3306 -u app -p orders",
         "app@tcp(10.30.0.5:3306)/shop: dial tcp 10.30.0.5:3306: connect: connection refused",
         "Error 1045 (28000): Access denied for user 'app'@'10.8.0.5' (using password: YES)",
         "revision orders-00042-xyz: secret_key_ref.name: Secret projects/123/secrets/db-pass/versions/latest was not found",
         "gcloud secrets versions access latest --secret=db-pass --project shop-prod",
         "short (a next_page_token: ListLogEntriesResponse)", "a fault that may pass: RequestNotSent, transient",
         "checks pass: 3/3 auth: iam/v1"]

# Words of letters under a password's, a passphrase's, a secret's or an API key's name and a colon are its value, unless a
# word such lines write as prose (MySQL's "using password: YES", "api_key: missing"); a token's or a key's hex or long
# single-case run is no prose; a passphrase runs to its line's end or the next pair; curl's `-u user:password`.
LETTERS = [
    ("db:\n  user: app\n  password: changeme\n", "changeme", "user: app\n  password: " + REDACTED),
    ("auth settings password: letmein host: 10.0.0.3", "letmein", "password: " + REDACTED + " host: 10.0.0.3"),
    ("config loaded: user: app password: Summer port: 5432", "Summer", "password: " + REDACTED + " port: 5432"),
    ("secret: letmein", "letmein", "secret: " + REDACTED),
    ("maps: api_key: abcdefabcdef region: us", "abcdefabcdef", "api_key: " + REDACTED + " region: us"),
    ("webhook token: deadbeef sent", "deadbeef", "token: " + REDACTED + " sent"),
    ("access_key: qwertyuiopasdfghjklzxcvbnm", "qwertyuiop", "access_key: " + REDACTED),
    ("ssl: passphrase: correct horse battery staple", "horse", "passphrase: " + REDACTED),
    ("tls passphrase=correct horse battery host=10.0.0.3", "horse", "passphrase=" + REDACTED + " host=10.0.0.3"),
    ('{"msg": "key loaded, passphrase: correct horse battery", "severity": "INFO"}', "horse",
     "passphrase: " + REDACTED + '", "severity": "INFO"}'),
    ("+ curl -sf -u admin:hunter2 https://10.0.0.3/metrics", "hunter2", "-u admin:" + REDACTED + " https://10.0.0.3"),
    ("curl --user 'ops:hunter2' -X POST https://ops.internal/hook", "hunter2", "--user 'ops:" + REDACTED + "' -X POST"),
    ("$ docker exec -it db mysql -uroot -pDk4s3cret shop", "Dk4s3cret", "mysql -uroot -p" + REDACTED + " shop"),
    ("Authorization: NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==", "TlRMTVNTUAAB",
     "Authorization: NTLM " + REDACTED),
]
ROWS += LETTERS
# What an SRE needs beside those names, kept: a word after `Authorization` that is no registered scheme (IANA "HTTP
# Authentication Scheme Registry") and the pair after it, a Go flag or a long option after a MySQL client's name, a
# client named in prose, not in a command's place; prose after a strict name and a colon; a key's CamelCase class name.
KEPT += ["authorization=missing user=app host=10.0.0.3", "Authorization: denied code=PERMISSION_DENIED",
         "starting mysql proxy -port=3306 -project=shop", "cloud-sql-proxy for mysql -pool=4 -private-ip",
         "mysql -h 10.30.0.5 -private-ip -u app shop", "api_key: missing", "password: not set (using default)",
         "secret: rotated at 06:00", "passphrase: required for /secrets/tls.key", "password: 0", "api_key: Invalid",
         "Error 1045: Access denied for user 'app'@'10.8.0.5' (using password: NO)", "curl -u admin https://10.0.0.3/",
         "page_token: NextPageTokenValue"]


# A driver's or a tool's message after a password's, a secret's or a key's name and a colon is a sentence, not a value:
# its words are what a person and the diagnosis read (PostgreSQL's auth.c "password authentication failed for user",
# libpq's fe-auth.c "no password supplied"; MySQL's 1045, 1820 and 1862), kept whole; one word there is still a value.
SENTENCES = [
    'psql: error: password: authentication failed for user "app"',
    'password: authentication failed for user "app"; host=10.40.0.3',
    "Error: password: password authentication failed for user \"app\"",
    "password: fe_sendauth: no password supplied",
    "password: Access denied for user 'app'@'10.8.0.5'",
    "password: password has expired",
    "validation: password: too short",
    "secret: permission denied on resource projects/shop/secrets/db-pass",
    "password: SCRAM authentication failed",
    "check password: failed",
    # a value a library or a person already masked: pydantic's SecretStr repr, Spring Boot's actuator's "******"
    "DbSettings(host='10.40.0.3', user='app', password=SecretStr('**********'), port=5432)",
    "spring.datasource.password=****** spring.datasource.url=jdbc:postgresql://10.40.0.3/orders",
    "params: {\"user\": \"app\", \"password\": \"[FILTERED]\"}",
]
KEPT += SENTENCES
# Commands as a deploy script's `set -x` or a process listing shows them, each a form the shapes missed: curl's short
# options grouped with `-u` last or its value joined (curl's src/tool_getparam.c `getparameter`: a letter taking a value
# takes the rest of its word, or the next argument), `-U`/`--proxy-user` (curl's manual, "-U, --proxy-user
# <user:password>"), a value quoted around the user and holding a space or a quote as a shell writes it (`'\''`), a
# MySQL client named by a relative path.
COMMANDS = {
    "curl's -u last of grouped options": ("+ curl -sSfu admin:Cu1s3cret https://10.0.0.3/metrics", "Cu1s3cret",
                                         "curl -sSfu admin:" + REDACTED + " https://10.0.0.3/metrics"),
    "curl's -u grouped and joined": ("curl -sSfuadmin:Cu2s3cret https://x.internal/", "Cu2s3cret",
                                     "-sSfuadmin:" + REDACTED + " https://x.internal/"),
    "curl's -U proxy user": ("curl -sS -U proxyuser:Cu3s3cret -x http://proxy.internal:3128 https://api.example",
                             "Cu3s3cret", "-U proxyuser:" + REDACTED + " -x http://proxy.internal:3128"),
    "curl's quoted user and password holding a space": ('curl -sSf -u "admin:Cu4 s3cret" https://x.internal/', "s3cret",
                                                        '-u "admin:' + REDACTED + '" https://x.internal/'),
    "curl's password holding a shell-quoted quote": ("curl -u 'admin:it'\\''s9x' https://x.internal/", "s9x",
                                                     "-u 'admin:" + REDACTED + "' https://x.internal/"),
    "mysql's -p holding a shell-quoted quote": ("mysql -uroot -p'My'\\''s9x' shop", "s9x", "-p" + REDACTED + " shop"),
    "a MySQL client by a relative path": ("$ ./bin/mysqldump -h 10.30.0.5 -uroot -pMd5s3cret shop", "Md5s3cret",
                                          "./bin/mysqldump -h 10.30.0.5 -uroot -p" + REDACTED + " shop"),
    "mysqladmin in the working directory": ("./mysqladmin -pMa6s3cret status", "Ma6s3cret", "-p" + REDACTED + " status"),
}
ROWS += list(COMMANDS.values())
# More of this world's lines holding a credential in a form the shapes missed, each with its source.
MORE = {
    # Terraform's plan of a value it was not told is sensitive: `~ password = "old" -> "new"`; both redacted
    "Terraform's change of an unmarked password": ('  ~ password = "Tf7s3cret" -> "Tf8s3cret"', "Tf8s3cret",
                                                  '~ password = "' + REDACTED + '" -> "' + REDACTED + '"'),
    # Go's fmt `%+v` of a config struct: field names and values joined by ":", no space (fmt package, "Printing")
    "Go's %+v of a config struct": ("config: {Host:10.40.0.3 User:app Password:Go7s3cret DB:orders}", "Go7s3cret",
                                    "{Host:10.40.0.3 User:app Password:" + REDACTED + " DB:orders}"),
    # Ruby's Hash#inspect before 3.4: `{:password=>"..."}`; PHP's print_r: `[password] => ...`
    "Ruby's hash inspect": ('{:host=>"10.40.0.3", :password=>"Rb7s3cret", :user=>"app"}', "Rb7s3cret",
                            ':password=>"' + REDACTED + '", :user=>"app"}'),
    "PHP's print_r": ("Array\n(\n    [host] => 10.40.0.3\n    [password] => Php7s3cret\n)", "Php7s3cret",
                      "[host] => 10.40.0.3\n    [password] => " + REDACTED),
    # Rails' secret_key_base, Laravel's APP_KEY, in an environment's dump (`env`, a .env file echoed)
    "Rails' SECRET_KEY_BASE in an env dump": ("SECRET_KEY_BASE=0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d RAILS_ENV=production",
                                              "0a1b2c3d4e5f", "SECRET_KEY_BASE=" + REDACTED + " RAILS_ENV=production"),
    "Laravel's APP_KEY": ("APP_KEY=base64:Lk7s3cretQ2hBb1RrT0lLdz09\nAPP_ENV=production", "Lk7s3cret",
                          "APP_KEY=" + REDACTED + "\nAPP_ENV=production"),
    # Cloud Run Admin API v2 `EnvVar` (name, value) as an audit log's request or `gcloud run services describe
    # --format=json` writes a container's env; Kubernetes' YAML; Terraform's `env` block
    "Cloud Run's env var as JSON": ('"env": [{"name": "DB_HOST", "value": "10.40.0.3"}, {"name": "DB_PASSWORD", '
                                    '"value": "Cr7s3cret"}]', "Cr7s3cret",
                                    '{"name": "DB_HOST", "value": "10.40.0.3"}, {"name": "DB_PASSWORD", "value": "'
                                    + REDACTED + '"}'),
    "an env var in YAML": ("env:\n- name: DB_PASSWORD\n  value: Cr8s3cret\n- name: DB_HOST\n  value: 10.40.0.3",
                           "Cr8s3cret", "- name: DB_PASSWORD\n  value: " + REDACTED + "\n- name: DB_HOST\n  value: 10.40.0.3"),
    "Terraform's env block": ('env {\n  name  = "API_TOKEN"\n  value = "Tf9s3cretTok"\n}', "Tf9s3cretTok",
                              'name  = "API_TOKEN"\n  value = "' + REDACTED + '"'),
}
ROWS += list(MORE.values())
# A key printed to stdout reaches Cloud Logging a line an entry (Cloud Run "Logging and viewing logs"): a PEM body's line
# alone in its entry (RFC 7468 section 2: 64 base64 characters) is the key's, redacted; a hex digest alone (one case)
# and a short base64 value alone are no such line, kept. And a sentence after `api_key:` naming its revocation.
PEM_LINES = {
    "a PEM body line alone": ("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj", "MIIEvQIBADAN", REDACTED),
    "a PEM body line alone, indented": ("  Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtC",
                                        "Us8cKjMzEfYy", REDACTED),
}
ROWS += list(PEM_LINES.values())
KEPT += ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "//57fQ==",
         "api_key: revoked by ops@shop.example on 2026-12-06", "password: account locked after 5 attempts"]
# A Secret Manager secret's name under the bare name `secret`, as Cloud Run's API (`SecretKeySelector.secret`) and a
# Terraform plan write a revision's secret reference: what a person checks, kept; a value joined to another name's
# (`client_secret`) or not written as a secret's name is redacted.
KEPT += ['"env": [{"name": "DB_PASS", "valueSource": {"secretKeyRef": {"secret": "db-pass", "version": "latest"}}}]',
         '      + secret_key_ref {\n          + secret  = "orders-db-password"\n          + version = "latest"\n        }']
ROWS += [('{"client_secret": "abc-def-ghi", "secret": "Xy7s3cret"}', "Xy7s3cret",
          '{"client_secret": "' + REDACTED + '", "secret": "' + REDACTED + '"}')]

# A password of letters alone before a sentence is the value it names, not the sentence's first word: only the words
# drivers write before their auxiliary ("password authentication failed", "Access denied", "Your password has
# expired") read as a sentence; any other word there is redacted, the sentence after it kept.
LETTERS_BEFORE_A_SENTENCE = {
    "a lower-case word": ("password: tiger was rejected", "tiger", "password: " + REDACTED + " was rejected"),
    "a case change inside the word": ("password: LetMeIn was rejected", "LetMeIn", "password: " + REDACTED + " was"),
    "the word and a colon": ("password: changeme: no such user", "changeme", "password: " + REDACTED + " no such user"),
    "a capitalised word after secret": ("secret: Hunter is wrong", "Hunter", "secret: " + REDACTED + " is wrong"),
    "a capitalised word before has expired": ("Password: Welcome has expired", "Welcome",
                                              "Password: " + REDACTED + " has expired"),
    "before does not match": ("password: dragon does not match", "dragon", "password: " + REDACTED + " does not"),
    "before not found, after secret": ("secret: Opensesame not found", "Opensesame", "secret: " + REDACTED + " not"),
    "before is too short": ("password: hunters is too short", "hunters", "password: " + REDACTED + " is too short"),
    "words joined by a hyphen": ("pwd: correct-horse was rejected", "correct-horse", "pwd: " + REDACTED + " was"),
    "an API key's words joined by _": ("api_key: qwerty_asdf is invalid", "qwerty", "api_key: " + REDACTED + " is"),
    "two capitalised words": ("password: Sunshine Monkey are wrong", "Sunshine", "password: " + REDACTED),
    "the word and a colon before must": ("passwd: letmein: must be changed", "letmein", "passwd: " + REDACTED + " must"),
    "before was not accepted": ("password: tiger was not accepted", "tiger", "password: " + REDACTED + " was not"),
}
ROWS += list(LETTERS_BEFORE_A_SENTENCE.values())
# Drivers' messages after a password's name whose first words are a driver's own, kept whole: SQL Server's 18488, libpq's
# "FATAL:  " before the server's message, Oracle's ORA-28001, PostgreSQL auth.c's other methods, MySQL's 1820 and 1862.
KEPT += ["password: The password of the account must be changed.",
         'password: FATAL:  password authentication failed for user "app"',
         "password: ORA-28001: the password has expired",
         'password: peer authentication failed for user "app"',
         "password: Login failed for user 'app'.",
         "password: You must reset your password using ALTER USER statement before executing this statement.",
         "password: Your password has expired. To log in you must change it using a client that supports expired "
         "passwords."]
# An env var's value holding a quote or an escaped quote (`EnvVar.value` in JSON; YAML's `''`): the value runs to its
# own closing quote as `_CLOSES` reads it, none of it kept.
ENV_QUOTES = {
    "a quote of the other kind": ('{"name": "DB_PASSWORD", "value": "it\'s-Q9x"}', "s-Q9x",
                                  '{"name": "DB_PASSWORD", "value": "' + REDACTED + '"}'),
    "an escaped quote": ('{"name": "DB_PASSWORD", "value": "ab\\"cdSECRET"}', "cdSECRET",
                         '{"name": "DB_PASSWORD", "value": "' + REDACTED + '"}'),
    "YAML's doubled single quote": ("- name: API_TOKEN\n  value: 'it''s-Tk9x'\n- name: B", "s-Tk9x",
                                    "value: '" + REDACTED + "'\n- name: B"),
    "in a JSON string, escaped": ('{"msg": "{\\"name\\": \\"DB_PASS\\", \\"value\\": \\"x\'yQ9z\\"}"}', "yQ9z",
                                  '\\"value\\": \\"' + REDACTED + '\\"}"}'),
}
ROWS += list(ENV_QUOTES.values())
# An unquoted value holding a quote followed by more of it (`it's-Q9x`, `ab"cd`): the quote closes nothing (`_CLOSES`),
# the value runs on to its end; and a letters-only password under a name joined to `pass` (`DB_PASS:`), read as
# strictly as `password:`.
QUOTE_INSIDE = {
    "a YAML password holding a quote": ("password: it's-Q9x host: db", "s-Q9x", "password: " + REDACTED + " host: db"),
    "PGPASSWORD holding a quote": ("PGPASSWORD=it's-Q9x psql -h db", "s-Q9x", "PGPASSWORD=" + REDACTED + " psql"),
    "a libpq password holding a double quote": ('password=ab"cdQ9 user=app', "cdQ9", "password=" + REDACTED + " user"),
    "a YAML env value holding a quote": ("- name: DB_PASSWORD\n  value: it's-Q9x\n- name: B", "s-Q9x",
                                         "value: " + REDACTED + "\n- name: B"),
    "a joined pass name before a sentence": ("DB_PASS: tiger was rejected", "tiger", "DB_PASS: " + REDACTED + " was"),
}
ROWS += list(QUOTE_INSIDE.values())
KEPT += ["REDIS_PASS: yes", "DB_PASS: not set", "checks pass: 3/3"]
# A PEM body's line printed with its line end, "\n" or a CRLF program's "\r\n": redacted, the line end kept.
PEM_LINE_ENDS = {
    "a PEM body line and its newline": ("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n", "MIIEvQIB",
                                        REDACTED + "\n"),
    "a PEM body line and a CRLF": ("  Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtC \r\n", "Us8cKjMz",
                                   REDACTED + " \r\n"),
}
ROWS += list(PEM_LINE_ENDS.values())

# A password that is itself a word the drivers' sentences hold, or a word before a finite verb (`Never was`, `Hunter
# is`: the verb's subject, so the value), a name joined to `pass` by "-" as by "_", a value after a strict name's colon
# with no space in any case, and a spaced value's every word: the value redacted, the sentence after it kept.
SPOKEN_AS_WORDS = {
    "an auxiliary before a finite verb": ("password: Never was rejected", "Never", "password: " + REDACTED + " was rejected"),
    "an auxiliary alone": ("password: Never", "Never", "password: " + REDACTED),
    "a driver's word before a verb no driver writes after it": ("password: password was rejected", "password: password",
                                                                "password: " + REDACTED + " was rejected"),
    "a driver's word before is": ("pwd: Access is wrong", "Access", "pwd: " + REDACTED + " is wrong"),
    "a token's word before is": ("token: Hunter is wrong", "Hunter", "token: " + REDACTED + " is wrong"),
    "a token's word before was": ("api_token: Falcon was revoked", "Falcon", "api_token: " + REDACTED + " was revoked"),
    "a name joined to pass by a hyphen": ("db-pass: tiger", "tiger", "db-pass: " + REDACTED),
    "no space, lower case": ("password:tiger", "tiger", "password:" + REDACTED),
    "no space, before a sentence": ("db_passwd:Tiger was rejected", "Tiger", "db_passwd:" + REDACTED + " was rejected"),
    "a spaced value": ("password: correct horse battery staple", "staple", "password: " + REDACTED),
    "a spaced value before a sentence": ("password: tiger lion was rejected", "lion",
                                         "password: " + REDACTED + " was rejected"),
    "a spaced value before the next pair": ("secret: open sesame user: app", "sesame",
                                            "secret: " + REDACTED + " user: app"),
}
ROWS += list(SPOKEN_AS_WORDS.values())
# The drivers' sentences after a password's name still kept whole (each form `_SENTENCE` reads), and a secret's version
# after its name and a colon with no space (gcloud run deploy `--set-secrets`).
KEPT += ["password: failed", "password: password has expired", "password: Access denied for user 'app'@'10.8.0.5'",
         "password: Login failed for user 'app'.", "token: Expired", "auth: token expired", "DB_PASS=db-pass:3",
         "--set-secrets=DB_PASSWORD=db-password:latest", "password:yes", "password: never set"]
# Keys named for what they are (a data encryption key, Rails' master key, an HMAC or a signing key, a secret key, a
# service account key's `private_key_id`, an OAuth client's secret), in each form a log line or a dump writes them; the
# other credentials each Google and database client writes, in the forms Runwarden receives them.
NAMED_KEYS = {
    "ENCRYPTION_KEY in an env dump": ("ENCRYPTION_KEY=Ek7s3cretValue RAILS_ENV=production", "Ek7s3cret",
                                      "ENCRYPTION_KEY=" + REDACTED + " RAILS_ENV=production"),
    "RAILS_MASTER_KEY": ("RAILS_MASTER_KEY=0a1b2c3d4e5f60718293a4b5c6d7e8f9", "0a1b2c3d", "RAILS_MASTER_KEY=" + REDACTED),
    "HMAC_KEY in YAML": ("webhook:\n  hmac_key: tiger\n  url: x", "tiger", "hmac_key: " + REDACTED + "\n  url: x"),
    "SIGNING_KEY": ("SIGNING_KEY=Sg7s3cret", "Sg7s3cret", "SIGNING_KEY=" + REDACTED),
    "a *_SECRET_KEY": ("DJANGO_SECRET_KEY='dj7-s3cret' python manage.py", "dj7-s3cret",
                       "DJANGO_SECRET_KEY='" + REDACTED + "' python"),
    "PRIVATE_KEY_ID": ("PRIVATE_KEY_ID=1a2b3c4d5e6f", "1a2b3c4d5e6f", "PRIVATE_KEY_ID=" + REDACTED),
    "CLIENT_SECRET": ("CLIENT_SECRET=Cs7s3cret", "Cs7s3cret", "CLIENT_SECRET=" + REDACTED),
    "a key file's private_key_id": ('{"type": "service_account", "private_key_id": "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b", '
                                    '"client_email": "a@p.iam.gserviceaccount.com"}', "1a2b3c4d5e6f7a8b",
                                    '"private_key_id": "' + REDACTED + '", "client_email": "a@p.iam.gserviceaccount.com"}'),
    "an encryption key as Cloud Run's EnvVar": ('{"name": "ENCRYPTION_KEY", "value": "Ek8s3cret"}', "Ek8s3cret",
                                                '{"name": "ENCRYPTION_KEY", "value": "' + REDACTED + '"}'),
    "a master key as a Kubernetes env var": ("- name: RAILS_MASTER_KEY\n  value: Mk8s3cret", "Mk8s3cret",
                                             "value: " + REDACTED),
    "a postgres:// URL": ("postgres://u:Pg9s3cret@h/db", "Pg9s3cret", "postgres://u:" + REDACTED + "@h/db"),
    "a mysql:// URL": ("mysql://u:My9s3cret@h/db", "My9s3cret", "mysql://u:" + REDACTED + "@h/db"),
    "a mongodb+srv:// URL": ("mongodb+srv://u:Mg9s3cret@c0.x.mongodb.net/db", "Mg9s3cret",
                             "mongodb+srv://u:" + REDACTED + "@c0.x.mongodb.net/db"),
    "an OAuth access token alone": ("ya29.a0AfB_byC3xq-9Zt0Lk", "a0AfB_byC3", REDACTED),
    "a refresh token alone": ("1//0gAbCdEfGhIjKlMnOpQrStUvWxYz", "gAbCdEfGh", REDACTED),
}
ROWS += list(NAMED_KEYS.values())


@pytest.mark.parametrize("text, gone, kept", ROWS)
def test_each_shape_is_redacted_and_what_names_it_kept(text, gone, kept):
    out = redacted(text)
    assert gone not in out
    assert kept in out


@pytest.mark.parametrize("text", KEPT)
def test_text_without_a_credential_is_left_as_it_is(text):
    assert redacted(text) == text


def test_every_shape_has_a_row():
    # A shape added to SHAPES without a row here fails: each is tested by what it matches.
    import re
    named = {name for name, pattern in SHAPES for text, _, _ in ROWS if re.search(pattern, text, re.DOTALL)}
    assert named == {name for name, _ in SHAPES}


# A Google API's error message quoting what it was sent (a field's value, a URL, a header), in each form a
# failure takes on its way to a reason: classified from google.api_core's exception (gRPC or HTTP code),
# raised by an adapter quoting it, or an error no adapter classified.
SENT = [("Authorization: Bearer", "c2VjcmV0LXdlYmhvb2stdG9rZW4"), ("token", "ya29.a0AfB_byC3xq-9Zt0Lk"),
        ("postgresql://app:", "pw-3c9e2f0a41"), ("key=", "AIzaSyA1b2C3d4E5f6G7h8I9j0KlMnOpQrStUvW"),
        ("bearer", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0")]


def _google_errors(text):
    from google.api_core import exceptions

    return [exceptions.InvalidArgument(text), exceptions.PermissionDenied(text), exceptions.ServiceUnavailable(text),
            exceptions.from_http_status(400, text), exceptions.RetryError(text, exceptions.NotFound(text))]


@pytest.mark.parametrize("said, secret", SENT)
def test_a_google_errors_message_is_redacted_in_every_failure_made_of_it(said, secret):
    from shared.errors import OutcomeUnknownError, PermanentError, TransientError, WriteInFlight, classify, described

    text = f"Invalid value in field 'env': {said}{secret}@db.internal:5432/app" if said.endswith(":") else \
        f"Invalid value in field 'env': {said} {secret} (request echo)"
    made = [classify(exc) for exc in _google_errors(text)]
    made += [PermanentError(f"UpdateService s: refused ({text})", code="INVALID_ARGUMENT"),
             TransientError(f"read: {text}"), OutcomeUnknownError(text, "more"), WriteInFlight(text)]
    for error in made:
        assert secret not in str(error) and REDACTED in str(error), (type(error).__name__, str(error))
    assert secret not in made[-1].busy
    assert secret not in described(ValueError(text)) and REDACTED in described(ValueError(text))
    assert "Invalid value in field 'env'" in str(made[0])   # what the error says is kept


@pytest.mark.parametrize("text, gone, kept", ROWS)
def test_redacting_twice_changes_nothing_and_the_scan_finds_no_shape(text, gone, kept):
    """Redacted once, a text holds no shape any more (tests/e2e/test_no_secrets.py scans all Runwarden writes for
    them), and redacting it again changes nothing."""
    from shared.redaction import CREDENTIAL

    once = redacted(text)
    assert redacted(once) == once
    assert CREDENTIAL.search(once) is None, once


# A URL password holding the very quote around it, in a JSON line or a quoted line: a quote followed by a word or an
# "@" closes nothing (a JSON string's closing quote is followed by ",", "}" or "]"), so the password runs on to the
# host's "@"; the next field's key, after `",`, is never reached, nor an "@" in its value.
QUOTED = [
    ('{"severity":"ERROR","dsn":"postgres://u:s3cr\\"et@10.40.0.3/orders","owner":"ops@shop.example"}', 's3cr\\"et',
     '"dsn":"postgres://u:' + REDACTED + '@10.40.0.3/orders","owner":"ops@shop.example"}'),
    ('connect "postgres://u:s3cr"et@10.40.0.3/orders" failed: timeout', 's3cr"et',
     'connect "postgres://u:' + REDACTED + '@10.40.0.3/orders" failed'),
    ("{'dsn': 'mysql://app:it'sQ9@10.30.0.5/shop', 'user': 'api@shop.iam'}", "it'sQ9",
     "'dsn': 'mysql://app:" + REDACTED + "@10.30.0.5/shop', 'user': 'api@shop.iam'}"),
    ('{"msg":"could not translate host name \\"s3cr\\"et@10.40.0.3\\" to address","user":"api@shop.iam"}', 's3cr',
     'host name \\"' + REDACTED + '@10.40.0.3\\" to address","user":"api@shop.iam"}'),
    ('{"a":"redis://cache:6379","owner":"ops@shop.example"}', "", '{"a":"redis://cache:6379","owner":"ops@shop.example"}'),
    ('{"a":"postgres://u:pw","note":"x@y.example"}', "", '{"a":"postgres://u:pw","note":"x@y.example"}'),
]


@pytest.mark.parametrize("text, gone, kept", QUOTED)
def test_a_password_holding_its_quote_is_redacted_without_the_next_field(text, gone, kept):
    out = redacted(text)
    assert kept in out, out
    if gone:
        assert gone not in out, out
    else:
        assert out == text
    assert redacted(out) == out


@pytest.mark.parametrize("text", [row[0] for row in ROWS + QUOTED] + KEPT)
def test_reading_only_the_shapes_whose_words_a_line_holds_redacts_as_every_shape_would(text):
    """`redacted` reads a line with the expression of the shapes whose words it holds (its needles): what it gives is
    what the expression of every shape gives, so a needle missing a shape's form fails here."""
    from shared.redaction import CREDENTIAL, _redaction

    assert redacted(text) == CREDENTIAL.sub(_redaction, text)


def test_a_line_holding_a_lone_surrogate_is_redacted_too():
    """JSON's "\\ud800" decodes to a lone surrogate, which the search for the shapes' words cannot encode: such a line is
    searched word by word instead, and redacted as any other."""
    text = '{"msg": "\ud800 bad byte", "dsn": "postgresql://app:Sg7s3cret@10.40.0.3/orders"}'
    out = redacted(text)
    assert "Sg7s3cret" not in out and "\ud800 bad byte" in out and "@10.40.0.3/orders" in out
    assert redacted("\ud800 nothing to hide") == "\ud800 nothing to hide"
