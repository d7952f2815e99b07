#!/usr/bin/env bash
# Test gridpatrol: the whole pytest suite on SQLite, then on PostgreSQL 15 + PostGIS 3 in a
# throwaway database. Prints the counts per backend and a last line "N passed, M failed".
# With CI=true a missing PostGIS fails the run; locally the PostgreSQL pass is then skipped
# (and reported as not run). Extra arguments go to both pytest runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
source scripts/_uv.sh
CI="${CI:-false}"
PGHOST_ADDR="${GRIDPATROL_TEST_PG_HOST:-127.0.0.1}"
PGPORT_NUM="${GRIDPATROL_TEST_PG_PORT:-5432}"
PGUSER_NAME="${GRIDPATROL_TEST_PG_USER:-postgres}"
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h "$PGHOST_ADDR" -p "$PGPORT_NUM" -U "$PGUSER_NAME")
OUT="$ROOT/test-output"
mkdir -p "$OUT"

echo "==> installing dependencies (uv sync --frozen --all-groups)"
"${UV[@]}" sync --frozen --all-groups --quiet

pg_problem=""
ensure_postgres() {
  if ! command -v psql >/dev/null 2>&1; then
    pg_problem="psql (PostgreSQL client) not found"; return 1
  fi
  if ! pg_isready -q -h "$PGHOST_ADDR" -p "$PGPORT_NUM"; then
    echo "==> starting PostgreSQL 15"
    pg_ctlcluster --skip-systemctl-redirect 15 main start || true
    for _ in $(seq 1 30); do pg_isready -q -h "$PGHOST_ADDR" -p "$PGPORT_NUM" && break; sleep 1; done
  fi
  if ! pg_isready -q -h "$PGHOST_ADDR" -p "$PGPORT_NUM"; then
    pg_problem="PostgreSQL is not answering on $PGHOST_ADDR:$PGPORT_NUM"; return 1
  fi
  has_postgis() {
    [ "$("${PSQL[@]}" -d postgres -tAc \
      "SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")" = "1" ]
  }
  if ! has_postgis; then
    echo "==> installing PostGIS (apt-get install -y postgresql-15-postgis-3)"
    apt_update_once
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-postgis-3 || true
  fi
  if ! has_postgis; then
    pg_problem="PostGIS is not available (apt-get install -y postgresql-15-postgis-3 failed)"
    return 1
  fi
}

TEST_DB=""
drop_test_db() {
  if [ -n "$TEST_DB" ]; then
    "${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS \"$TEST_DB\" WITH (FORCE)" || true
  fi
}
trap drop_test_db EXIT

# run_suite NAME ENV... : runs pytest, records exit code and junit counts
declare -A PASSED FAILED SKIPPED CODE
run_suite() {
  local name="$1"; shift
  local xml="$OUT/junit-$name.xml"
  rm -f "$xml"
  echo "==> pytest on $name"
  set +e
  env "$@" "${UV[@]}" run --frozen --no-sync pytest -p no:cacheprovider -q \
      --junitxml="$xml" "${PYTEST_ARGS[@]}"
  local code=$?
  set -e
  CODE[$name]=$code
  read -r p f s < <("${UV[@]}" run --frozen --no-sync python - "$xml" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 0, 0); raise SystemExit
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
print(t - f - sk, f, sk)
PY
)
  # a crash, an interrupted run or "no tests collected" (exit 5) counts as a failure
  if [ "$code" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  PASSED[$name]=$p; FAILED[$name]=$f; SKIPPED[$name]=$s
}

# The office pages are tested in Debian's Chromium (Playwright with executable_path, never a
# browser download). Install it like PostGIS; with CI=true the browser test fails without it.
apt_update_once() {
  if [ ! -f "$OUT/.apt-updated" ]; then
    apt-get update -qq && touch "$OUT/.apt-updated" || true
  fi
}
if [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Chromium for the browser tests (apt-get install -y chromium)"
  apt_update_once
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || true
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "WARNING: /usr/bin/chromium is missing; the browser test cannot run" >&2
fi
export GRIDPATROL_REQUIRE_BROWSER="${GRIDPATROL_REQUIRE_BROWSER:-$CI}"

PYTEST_ARGS=("$@")
run_suite sqlite GRIDPATROL_TEST_DB=sqlite

pg_ran=false
if ensure_postgres; then
  TEST_DB="gridpatrol_test_$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
  "${PSQL[@]}" -d postgres -c "CREATE DATABASE \"$TEST_DB\""
  "${PSQL[@]}" -d "$TEST_DB" -c "CREATE EXTENSION postgis"
  run_suite postgresql GRIDPATROL_TEST_DB=postgresql \
    "GRIDPATROL_TEST_PG_URL=postgresql+psycopg://$PGUSER_NAME@$PGHOST_ADDR:$PGPORT_NUM/$TEST_DB" \
    "GRIDPATROL_TEST_PG_ADMIN_URL=postgresql+psycopg://$PGUSER_NAME@$PGHOST_ADDR:$PGPORT_NUM/postgres"
  pg_ran=true
elif [ "$CI" = "true" ]; then
  echo "ERROR: $pg_problem; with CI=true the PostgreSQL run is required" >&2
  PASSED[postgresql]=0; FAILED[postgresql]=1; SKIPPED[postgresql]=0; CODE[postgresql]=1
  pg_ran=true
else
  echo "WARNING: $pg_problem; PostgreSQL run NOT done (it is required with CI=true)" >&2
fi

echo
total_p=0; total_f=0; status=0
for name in sqlite postgresql; do
  if [ "$name" = postgresql ] && [ "$pg_ran" != true ]; then
    echo "postgresql: not run"; continue
  fi
  echo "$name: ${PASSED[$name]} passed, ${FAILED[$name]} failed, ${SKIPPED[$name]} skipped (pytest exit ${CODE[$name]})"
  total_p=$((total_p + PASSED[$name])); total_f=$((total_f + FAILED[$name]))
  if [ "${CODE[$name]}" -ne 0 ] || [ "${FAILED[$name]}" -ne 0 ]; then status=1; fi
done
echo "$total_p passed, $total_f failed"
exit $status
