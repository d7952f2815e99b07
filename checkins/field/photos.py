"""Photos of patrol logs (巡查日志): checked by content with Pillow, stored with their EXIF.

A photo is accepted only if Pillow recognises it as JPEG, PNG or WebP by its bytes (the
declared content type and file name are not trusted), it is not larger than the byte and
pixel limits (decompression bombs), and it decodes. The EXIF capture time and GPS position
(as written by the camera, usually WGS-84) are kept with the row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_DATETIME_ORIGINAL = 36867
_OFFSET_TIME_ORIGINAL = 36881
_DATETIME = 306


class PhotoError(ValueError):
    """A refused photo; ``code`` is ``photo_not_image`` or ``photo_too_large``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PhotoInfo:
    """What the bytes of a photo say about it."""

    content_type: str
    ext: str
    width: int
    height: int
    size_bytes: int
    sha256: str
    exif_taken_at: str | None
    exif_lon: float | None
    exif_lat: float | None


def _ratio(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError, ZeroDivisionError):
        num, den = v
        return float(num) / float(den)


def _dms(values: Any, ref: Any, negative: str) -> float | None:
    try:
        d, m, s = (_ratio(x) for x in values)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    deg = d + m / 60.0 + s / 3600.0
    if isinstance(ref, bytes):
        ref = ref.decode(errors="ignore")
    return -deg if str(ref).strip().upper() == negative else deg


def _exif(img: Image.Image) -> tuple[str | None, float | None, float | None]:
    try:
        exif = img.getexif()
    except Exception:  # noqa: BLE001 - a broken EXIF block is just absent
        return None, None, None
    taken: str | None = None
    try:
        sub = exif.get_ifd(_EXIF_IFD)
        raw = sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
        if raw:
            taken = str(raw).strip("\x00 ")
            offset = sub.get(_OFFSET_TIME_ORIGINAL)
            if offset:
                taken = f"{taken}{str(offset).strip()}"
    except Exception:  # noqa: BLE001
        taken = None
    lon = lat = None
    try:
        gps = exif.get_ifd(_GPS_IFD)
        if gps and 2 in gps and 4 in gps:
            lat = _dms(gps[2], gps.get(1, "N"), "S")
            lon = _dms(gps[4], gps.get(3, "E"), "W")
    except Exception:  # noqa: BLE001
        lon = lat = None
    return taken, lon, lat


def inspect_photo(data: bytes, *, max_bytes: int, max_pixels: int) -> PhotoInfo:
    """Check a photo by its content and read its EXIF; raise :class:`PhotoError` if refused."""
    if len(data) > max_bytes:
        raise PhotoError("photo_too_large", f"photo is {len(data)} bytes; the limit is {max_bytes}")
    try:
        with Image.open(io.BytesIO(data)) as img:  # the header only: format and size
            fmt = img.format
            width, height = img.size
            if fmt not in ALLOWED_FORMATS:
                raise PhotoError("photo_not_image", f"format {fmt} is not accepted (JPEG, PNG, WebP)")
            if width * height > max_pixels:
                raise PhotoError("photo_too_large", f"photo has {width}x{height} pixels; the limit is {max_pixels}")
            img.verify()  # must come directly after open
        with Image.open(io.BytesIO(data)) as img:
            taken, lon, lat = _exif(img)
            img.load()  # verify() does not decode pixel data; a truncated file fails here
    except PhotoError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, RuntimeError,
            Image.DecompressionBombError) as exc:
        raise PhotoError("photo_not_image", f"not a readable image: {type(exc).__name__}") from exc
    content_type, ext = ALLOWED_FORMATS[fmt]
    return PhotoInfo(content_type=content_type, ext=ext, width=width, height=height,
                     size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                     exif_taken_at=taken, exif_lon=lon, exif_lat=lat)


def store_photo(data: bytes, info: PhotoInfo, *, data_dir: Path, worker_id: str,
                day: dt.date) -> Path:
    """Write the photo under ``data_dir/photos/<worker>/<date>/<sha256>.<ext>`` durably."""
    folder = Path(data_dir) / "photos" / worker_id / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{info.sha256}.{info.ext}"
    if not path.exists():
        tmp = path.with_suffix(path.suffix + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    return path


def photo_record(info: PhotoInfo, path: Path, data_dir: Path) -> dict[str, Any]:
    """The JSON kept in ``patrol_log.photos`` for one photo."""
    rec = asdict(info)
    rec["path"] = str(Path(path).relative_to(Path(data_dir)))
    rec["id"] = info.sha256[:16]
    return rec
