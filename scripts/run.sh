#!/usr/bin/env bash
# Run gridpatrol: install what is needed, then serve on SQLite (./data/gridpatrol.db) with
# the demo township loaded on first start. Extra arguments go to `gridpatrol serve`
# (e.g. --port 8080; --host 0.0.0.0 needs GRIDPATROL_SECRET_KEY and GRIDPATROL_DEMO_PASSWORD
# set). Set DATABASE_URL to use PostgreSQL/PostGIS instead.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_uv.sh
echo "==> installing dependencies (uv sync --frozen)" >&2
"${UV[@]}" sync --frozen --quiet
exec "${UV[@]}" run --frozen --no-sync gridpatrol serve "$@"
