"""Photos uploaded with a patrol log or a case (multipart): read and checked by content
(:mod:`checkins.field.photos`), then stored under the data folder."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Request, UploadFile

from checkins.field.photos import PhotoError, inspect_photo, photo_record, store_photo
from server.mobile import errors as E
from server.mobile import schemas as S
from server.mobile.deps import app_settings, mobile_settings
from server.mobile.errors import ApiError


async def read_photos(request: Request, photos: list[UploadFile] | None
                      ) -> list[tuple[bytes, Any]]:
    """``(bytes, info)`` of each photo; 422 naming ``photos`` (too many) or ``photos.<i>``
    (not an image, too many pixels), 413 for one too large."""
    ms = mobile_settings(request)
    photos = photos or []
    if len(photos) > S.MAX_PHOTOS:
        raise ApiError(422, E.TOO_MANY_PHOTOS, f"at most {S.MAX_PHOTOS} photos", "photos")
    out = []
    for i, up in enumerate(photos):
        data = await up.read(ms.max_photo_bytes + 1)
        try:
            info = inspect_photo(data, max_bytes=ms.max_photo_bytes, max_pixels=ms.max_photo_pixels)
        except PhotoError as exc:
            raise ApiError(413 if exc.code == "photo_too_large" else 422, exc.code, exc.message,
                           f"photos.{i}") from exc
        out.append((data, info))
    return out


def store_photos(request: Request, worker_id: str, blobs: list[tuple[bytes, Any]],
                 day: dt.date) -> list[dict[str, Any]]:
    """Store the checked photos under the data folder (by worker and ``day``); their records."""
    data_dir = app_settings(request).data_dir
    return [photo_record(info, store_photo(data, info, data_dir=data_dir, worker_id=worker_id,
                                           day=day), data_dir)
            for data, info in blobs]
