#!/usr/bin/env bash
# Install the office pages' front-end libraries from the npm registry at pinned versions and
# copy their browser builds and licences under server/office/static/vendor/ (committed: the
# pages need no internet and no npm at run time). Re-run after changing a version below.
set -euo pipefail
LEAFLET=1.9.4
ECHARTS=6.1.0
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENDOR="$ROOT/server/office/static/vendor"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts "leaflet@$LEAFLET" "echarts@$ECHARTS" >/dev/null
mkdir -p "$VENDOR/leaflet" "$VENDOR/echarts"
cp -r node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css \
      node_modules/leaflet/dist/images "$VENDOR/leaflet/"
cp node_modules/leaflet/LICENSE "$VENDOR/leaflet/LICENSE"
cp node_modules/echarts/dist/echarts.min.js "$VENDOR/echarts/"
cp node_modules/echarts/LICENSE "$VENDOR/echarts/LICENSE"
cp node_modules/echarts/NOTICE "$VENDOR/echarts/NOTICE" 2>/dev/null || true
echo "leaflet $LEAFLET, echarts $ECHARTS -> $VENDOR"
