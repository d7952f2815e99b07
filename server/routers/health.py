"""``GET /health``: backend, reachability, PostGIS version and schema revision."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from checkins.db.engine import health
from server.deps import get_engine

router = APIRouter(tags=["health"])


@router.get("/health")
def get_health(engine: Annotated[Engine, Depends(get_engine)]) -> JSONResponse:
    """Database backend and its reachability; 503 when the database cannot be reached."""
    info: dict[str, Any] = health(engine)
    ok = info["reachable"] and info["revision"] == info["head"]
    info["status"] = "ok" if ok else "degraded"
    return JSONResponse(info, status_code=200 if info["reachable"] else 503)
