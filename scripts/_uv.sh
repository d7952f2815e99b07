# Sourced by run.sh and test.sh: find or install uv, never download a Python interpreter.
export UV_PYTHON_DOWNLOADS="${UV_PYTHON_DOWNLOADS:-never}"
if command -v uv >/dev/null 2>&1; then
  UV=(uv)
else
  if ! python3 -m uv --version >/dev/null 2>&1; then
    echo "==> installing uv (pip install uv)" >&2
    python3 -m pip install --quiet --disable-pip-version-check uv >&2
  fi
  if command -v uv >/dev/null 2>&1; then UV=(uv); else UV=(python3 -m uv); fi
fi
