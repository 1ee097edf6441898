#!/usr/bin/env bash
# Runs schemathesis against the admin API's OpenAPI document on a live server:
#   tests/schemathesis/run.sh
# Builds the server (or takes PORTCULLIS_BIN), starts it on a free loopback port with a fresh
# SQLite database in a temporary directory, creates an administrator and a service client with
# the portcullis:admin scope through the CLI, gets an admin token (client_credentials), checks
# the document is valid OpenAPI 3.1 (openapi-spec-validator), then runs schemathesis with the
# token. Exits non-zero on any finding (a server error, a response its schema does not describe,
# an undocumented status or content type).
#
# Python packages go to a virtualenv under the Cargo target directory (SCHEMATHESIS_VENV to
# choose another); SCHEMATHESIS_MAX_EXAMPLES (default 25) bounds the examples per operation.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
venv="${SCHEMATHESIS_VENV:-$target/schemathesis-venv}"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
SCHEMATHESIS_VERSION=4.32.5
VALIDATOR_VERSION=0.9.0

if [ ! -x "$venv/bin/schemathesis" ] ||
    ! "$venv/bin/pip" show schemathesis 2>/dev/null | grep -qx "Version: $SCHEMATHESIS_VERSION"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$VALIDATOR_VERSION"
fi

bin="${PORTCULLIS_BIN:-}"
if [ -z "$bin" ]; then
    (cd "$root" && cargo build --quiet --bin portcullis)
    bin="$target/debug/portcullis"
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# No setting from the caller's environment: only what this script gives.
while IFS='=' read -r name _; do
    case "$name" in PORTCULLIS_*) unset "$name" ;; esac
done < <(env)

port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
export PORTCULLIS_ISSUER="$base"
export PORTCULLIS_DATABASE_URL="sqlite://$work/portcullis.db"
export PORTCULLIS_KEYS_DIR="$work/keys"
cd "$work"

"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do
    if curl -fs "$base/readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        cat "$work/server.log" >&2
        echo "schemathesis: the server did not start" >&2
        exit 1
    fi
    sleep 0.1
done
curl -fs "$base/readyz" >/dev/null

printf '%s' 'Admin-Password-1906' |
    "$bin" user create --email admin@example.com --role admin --password-stdin --email-verified >/dev/null
"$bin" client create --name schemathesis --grant client_credentials \
    --scope portcullis:admin >"$work/client.json"
read -r client_id client_secret < <(python3 -c \
    'import json,sys;c=json.load(open(sys.argv[1]));print(c["client_id"],c["client_secret"])' \
    "$work/client.json")
token="$(curl -fs -u "$client_id:$client_secret" -d grant_type=client_credentials \
    -d scope=portcullis:admin "$base/token" |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')"

# The token is an administrator's: schemathesis must get past the authorization.
status="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
    "$base/admin/api/roles")"
[ "$status" = 200 ] || { echo "schemathesis: the admin token was refused ($status)" >&2; exit 1; }

curl -fs "$base/admin/api/openapi.json" -o "$work/openapi.json"
"$venv/bin/python" - "$work/openapi.json" <<'PY'
import json, sys
from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator
doc = json.load(open(sys.argv[1]))
assert doc["openapi"].startswith("3.1."), doc["openapi"]
validate(doc, cls=OpenAPIV31SpecValidator)
print(f"openapi-spec-validator: valid OpenAPI {doc['openapi']} ({len(doc['paths'])} paths)")
PY

st() {
    timeout "${SCHEMATHESIS_TIMEOUT:-900}" "$venv/bin/schemathesis" run \
        "$base/admin/api/openapi.json" \
        --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
        --max-examples "$max_examples" \
        --phases examples,coverage,fuzzing,stateful \
        --mode all \
        --request-timeout 10 \
        --no-color \
        --seed 1906 \
        "$@"
}

# The account API answers a user's token: a member's, from /api/auth/login. The account API
# goes first: the admin pass may disable or delete any user it lists, and fuzzing the login
# throttles this address.
printf '%s' 'Member-Password-1906' |
    "$bin" user create --email member@example.com --role guest --password-stdin --email-verified >/dev/null
user_token="$(curl -fs -H 'Content-Type: application/json' \
    -d '{"email":"member@example.com","password":"Member-Password-1906"}' \
    "$base/api/auth/login" | python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')"
echo "== the account API, as a signed-in user"
# Ending sessions last: that ends the session every other call needs.
ending='^/api/auth/(logout|sessions/\{id\})$'
st --header "Authorization: Bearer $user_token" --include-path-regex '^/api/' \
    --exclude-path-regex "$ending"
st --header "Authorization: Bearer $user_token" --include-path-regex "$ending"
echo "== the admin API (and the account API's public operations), as a service client"
st --header "Authorization: Bearer $token"
