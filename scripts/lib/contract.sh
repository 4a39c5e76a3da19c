# The API contract: schemathesis (PyPI, in a cached virtual environment) generates requests from
# the mock's own /openapi.json and fails on any 5xx, any answer that does not match its schema,
# content type or headers, and any status the document does not declare. Sourced by scripts/test.
#   contract_ready                 installs what is missing
#   contract_test MOCK_BINARY      runs it against a mock of its own, as each role and as nobody

SCHEMATHESIS_VERSION=4.32.5
CAAS_CACHE=${CAAS_CACHE:-$HOME/.cache/caas-companion}
# Absolute: the runs change into a temporary folder.
SCHEMATHESIS_HOME=$(realpath -m "${CAAS_SCHEMATHESIS_HOME:-$CAAS_CACHE/schemathesis-$SCHEMATHESIS_VERSION}")
# Examples per operation and phase: enough to reach every documented answer, bounded in time.
CONTRACT_EXAMPLES=${CAAS_CONTRACT_EXAMPLES:-12}

contract_ready() {
  apt_ensure curl
  command -v python3 >/dev/null || apt_ensure python3
  python3 -c 'import ensurepip' 2>/dev/null || apt_ensure python3-venv
  if [ ! -x "$SCHEMATHESIS_HOME/bin/st" ]; then
    log "installing schemathesis $SCHEMATHESIS_VERSION (once)"
    rm -rf "$SCHEMATHESIS_HOME"
    python3 -m venv "$SCHEMATHESIS_HOME"
    "$SCHEMATHESIS_HOME/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
}

# A JSON field of the document on stdin, e.g. `json_field access_token`.
json_field() {
  python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# A bearer token of each role on the mock at $1 with sandbox token $2, one `role=token` a line.
contract_tokens() {
  local url=$1 sandbox=$2 dealer email
  dealer=$(curl -fsS -X POST -H "Authorization: Bearer $sandbox" "$url/v1/sandbox/dealerships/madrid-centro/staff-tokens" | json_field access_token)
  email="contract-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')@example.com"
  curl -fsS -X POST -H "Authorization: Bearer $dealer" -H 'content-type: application/json' "$url/v1/dealership/sales" -d \
    "{\"customer\":{\"email\":\"$email\",\"name\":\"Contract Test\",\"country\":\"ES\",\"registration\":{\"national_id\":\"12345678Z\",\"address\":\"Calle Mayor 1, 28013 Madrid\"}},\"configuration\":{\"base_platform\":\"urban-ev\",\"options\":[]},\"delivery_locality\":\"Madrid\"}" >/dev/null
  echo "sandbox=$sandbox"
  echo "dealership=$dealer"
  echo "customer=$(contract_sign_in "$url" "$sandbox" "$email" /v1/auth/token)"
  echo "driver=$(contract_sign_in "$url" "$sandbox" rita@tejo-transportes.example /v1/auth/driver-token)"
}

contract_sign_in() {
  local url=$1 sandbox=$2 email=$3 exchange=$4 code
  curl -fsS -X POST -H 'content-type: application/json' "$url/v1/auth/sign-in-code" -d "{\"email\":\"$email\"}" >/dev/null
  code=$(curl -fsS -H "Authorization: Bearer $sandbox" "$url/v1/sandbox/sign-in-codes/$email" | json_field code)
  curl -fsS -X POST -H 'content-type: application/json' "$url$exchange" -d "{\"email\":\"$email\",\"code\":\"$code\"}" | json_field access_token
}

# One schemathesis run in $1 against the mock at $2, as $3 with bearer token $4 (none if empty),
# with the operations filtered by the rest of the arguments.
contract_run() {
  local dir=$1 url=$2 role=$3 token=$4 log
  shift 4
  local auth=()
  [ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
  log="$dir/contract-${role//[^a-z]/-}.log"
  # Run from the temporary folder: schemathesis keeps a cache in its working directory.
  if (cd "$dir" && "$SCHEMATHESIS_HOME/bin/st" run "$url/openapi.json" "${auth[@]}" "$@" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --max-examples "$CONTRACT_EXAMPLES" --generation-deterministic --request-timeout 10 --no-color >"$log" 2>&1); then
    echo "api contract as $role: passed ($(tail -n 1 "$log" | tr -d '='))"
  else
    sed -n '/= FAILURES =/,$p' "$log"
    echo "api contract as $role: failed"
    return 1
  fi
}

contract_test() {
  local binary=$1 dir url sandbox pid role token failed=0
  dir=$(mktemp -d)
  sandbox="sbx_$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  CAAS_SANDBOX_TOKEN=$sandbox "$binary" serve --port 0 --db "$dir/contract.db" >"$dir/out" 2>"$dir/err" &
  pid=$!
  for _ in $(seq 100); do
    grep -q '^listening on ' "$dir/out" 2>/dev/null && break
    sleep 0.1
  done
  url=$(sed -n 's/^listening on //p' "$dir/out")
  if [ -z "$url" ]; then
    cat "$dir/err" >&2
    kill "$pid" 2>/dev/null || true
    echo "error: the contract's mock did not start" >&2
    return 1
  fi
  if ! contract_tokens "$url" "$sandbox" >"$dir/tokens"; then
    kill "$pid" 2>/dev/null || true
    rm -rf "$dir"
    echo "error: no tokens for the contract's roles" >&2
    return 1
  fi
  # Signing out would end a role's session for the rest of its run (it is run as nobody); a
  # device's event stream and the sandbox feed stay open by design. The sandbox's fault switches
  # make the calls after them fail on purpose, so they run last, on their own.
  # (schemathesis takes one regular expression per filter: the last given wins.)
  local faults='^/v1/sandbox/(payments|factory|drivers|registries/[^/]+|vehicles/[^/]+)/faults$'
  local skipped="/stream\$|^/v1/sandbox/feed\$|$faults"
  contract_run "$dir" "$url" nobody "" --exclude-path-regex "$skipped" || failed=1
  for role in customer driver dealership sandbox; do
    token=$(sed -n "s/^$role=//p" "$dir/tokens")
    if [ -z "$token" ]; then
      echo "api contract as $role: failed (no token)"
      failed=1
      continue
    fi
    contract_run "$dir" "$url" "$role" "$token" --exclude-path /v1/auth/sign-out --exclude-path-regex "$skipped" || failed=1
  done
  contract_run "$dir" "$url" "sandbox (fault switches)" "$sandbox" --include-path-regex "$faults" || failed=1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  return "$failed"
}
