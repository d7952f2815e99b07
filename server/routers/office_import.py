"""Office import endpoint: ``POST /api/office/import/{grids|roster}`` (multipart file)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse

from checkins.auth.accounts import import_file  # disables who left the roster
from checkins.formats.errors import FormatError
from server.deps import OfficeActor, SessionDep, SettingsDep

router = APIRouter(prefix="/api/office", tags=["office"])

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


@router.post("/import/{kind}")
def post_import(kind: Literal["grids", "roster"], session: SessionDep, settings: SettingsDep,
                actor: OfficeActor, file: Annotated[UploadFile, File()],
                repair: Annotated[bool, Form()] = False,
                valid_from: Annotated[dt.date | None, Form()] = None) -> JSONResponse:
    """Import a grids GeoJSON or roster CSV whole or not at all; 422 names the bad place."""
    data = file.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        return JSONResponse({"error": "file too large", "limit_bytes": MAX_UPLOAD_BYTES}, 413)
    name = file.filename or f"{kind}-upload"
    try:
        report = import_file(session, kind, data, name, repair=repair, actor=actor,
                             valid_from=valid_from, township_id=settings.township_id,
                             township_name=settings.township_name, timezone=settings.timezone,
                             profile=settings.profile)
    except FormatError as exc:
        session.rollback()
        return JSONResponse({"error": "bad file", "detail": exc.as_dict(), "message": str(exc)},
                            status_code=422)
    session.commit()
    return JSONResponse(report.as_dict())
