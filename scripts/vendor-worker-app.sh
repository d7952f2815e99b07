#!/usr/bin/env bash
# Re-vendor the worker app's JS libraries from the npm registry (pinned versions), with their
# licences, into server/worker_app/static/vendor/. Leaflet is shared with the office pages
# (server/office/static/vendor/leaflet, see its README).
set -euo pipefail
IDB_VERSION=8.0.4
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm install --no-audit --no-fund --silent "idb@${IDB_VERSION}")
dest="$root/server/worker_app/static/vendor/idb"
mkdir -p "$dest"
cp "$tmp/node_modules/idb/build/index.js" "$dest/index.js"   # the self-contained ES module
cp "$tmp/node_modules/idb/LICENSE" "$dest/LICENSE"
echo "idb ${IDB_VERSION} -> $dest"
