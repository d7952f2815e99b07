"""Write (or check) ``mobile_api_spec/openapi.json`` from the app's code.

``uv run python -m mobile_api_spec.generate`` rewrites the document;
``uv run python -m mobile_api_spec.generate --check`` exits 1 when the committed document
and the code differ (the test ``tests/server/mobile/test_spec.py`` does the same).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).resolve().parent / "openapi.json"


def build_document() -> dict[str, Any]:
    """The OpenAPI document of the mobile API, as the code defines it today."""
    from server.mobile import build_mobile_app

    return build_mobile_app().openapi()


def render(doc: dict[str, Any]) -> str:
    """Stable text form: 2-space indent, UTF-8 kept, trailing newline."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(prog="python -m mobile_api_spec.generate", description=__doc__)
    ap.add_argument("--check", action="store_true", help="compare only; exit 1 on a difference")
    args = ap.parse_args(argv)
    text = render(build_document())
    if args.check:
        current = SPEC_PATH.read_text(encoding="utf-8") if SPEC_PATH.exists() else ""
        if current != text:
            print(f"{SPEC_PATH} is out of date: run `uv run python -m mobile_api_spec.generate`",
                  file=sys.stderr)
            return 1
        print(f"{SPEC_PATH} is up to date")
        return 0
    SPEC_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {SPEC_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
