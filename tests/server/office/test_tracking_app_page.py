"""The office's tracking-app page: approve a phone for Traccar Client / OwnTracks (secret shown
once, QR code), revoke it; a village office sees and acts on its own village only."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from checkins import tables as m
from checkins.auth.ingest_tokens import authenticate_app
from checkins.auth.phone import AuthError

pytestmark = pytest.mark.db


def test_issue_show_once_and_revoke(client, world, session) -> None:  # type: ignore[no-untyped-def]
    h = world.headers("village_office")
    page = client.get("/office/tracking-apps", headers=h)
    assert page.status_code == 200
    assert world.workers["own"] in page.text and world.workers["other"] not in page.text

    r = client.post("/office/tracking-apps", headers=h,
                    data={"worker_id": world.workers["own"], "app": "traccar"})
    assert r.status_code == 200
    assert 'src="data:image/svg+xml' in r.text  # the QR code, an image, no script
    url = re.search(r'id="issued-url">([^<]+)<', r.text).group(1)
    assert "/api/ingest/osmand/" in url
    key, secret = url.rsplit("/", 1)[1].split(".")
    dev = session.scalars(sa.select(m.Device).where(m.Device.device_uid == f"app-{key}")).one()
    assert (dev.status, dev.platform, dev.worker_id) == ("approved", "traccar", world.workers["own"])
    assert secret not in (dev.token_hash or "") and dev.token_hash.startswith("$argon2")
    assert authenticate_app(session, key, secret, "traccar").device_id == dev.id
    # shown once: the list afterwards has the key, never the secret
    again = client.get("/office/tracking-apps", headers=h)
    assert key in again.text and secret not in again.text

    r = client.post(f"/office/tracking-apps/{dev.id}/revoke", headers=h, data={"reason": "换手机"},
                    follow_redirects=False)
    assert r.status_code == 303
    session.refresh(dev)
    assert dev.status == "revoked"
    with pytest.raises(AuthError) as exc:
        authenticate_app(session, key, secret, "traccar")
    assert exc.value.status == 403

    r = client.post("/office/tracking-apps", headers=h,
                    data={"worker_id": world.workers["own"], "app": "owntracks"})
    assert re.search(r'id="issued-password">[A-Za-z0-9_\-]{20,}<', r.text)


def test_village_office_cannot_reach_another_village(client, world, session) -> None:  # type: ignore[no-untyped-def]
    h = world.headers("village_office")
    r = client.post("/office/tracking-apps", headers=h,
                    data={"worker_id": world.workers["other"], "app": "traccar"})
    assert r.status_code == 404
    assert session.scalars(sa.select(m.Device).where(
        m.Device.worker_id == world.workers["other"], m.Device.platform == "traccar")).first() is None
    other = world.device("other", status="approved")
    r = client.post(f"/office/tracking-apps/{other}/revoke", headers=h, data={})
    assert r.status_code == 404
    assert session.get(m.Device, other).status == "approved"
    r = client.get("/office/tracking-apps", follow_redirects=False)  # no login: to the login page
    assert r.status_code == 303 and r.headers["location"].startswith("/office/login")


def test_traccar_qr_carries_what_traccar_client_reads(client, world, session) -> None:  # type: ignore[no-untyped-def]
    """The QR code's text is what Traccar Client parses (traccar/traccar-client,
    lib/configuration_service.dart ``applyUri``): for an http(s) text the server URL is its
    origin + path (the query dropped) and ``id``, ``accuracy``, ``interval``, ``distance``,
    ``heartbeat``, ``buffer`` are read from the query. A ``url=`` key would be ignored, so the
    secret must be in the path. The image is the QR code of exactly that text."""
    import html
    from urllib.parse import parse_qs, urlsplit

    import segno

    h = world.headers("village_office")
    r = client.post("/office/tracking-apps", headers=h,
                    data={"worker_id": world.workers["own"], "app": "traccar"})
    url = html.unescape(re.search(r'id="issued-url">([^<]+)<', r.text).group(1))
    key = url.rsplit("/", 1)[1].split(".")[0]
    text = f"{url}?id={key}&accuracy=high&interval=30&distance=0&heartbeat=300&buffer=true"
    src = html.unescape(re.search(r'<img id="qr" src="([^"]+)"', r.text).group(1))
    assert src == segno.make(text, error="m").svg_data_uri(scale=4)
    # the client's reading of it (Dart Uri: origin = scheme://host[:port], path kept whole)
    u = urlsplit(text)
    assert u.scheme in ("http", "https")
    assert f"{u.scheme}://{u.netloc}{u.path}" == url  # the ingest URL, secret included
    q = {k: v[0] for k, v in parse_qs(u.query).items()}
    assert q == {"id": key, "accuracy": "high", "interval": "30", "distance": "0",
                 "heartbeat": "300", "buffer": "true"}
    assert "url" not in q and url.split(".")[-1] not in u.query  # the secret is not in the query

    # the same link opened by a phone's camera app (GET, no report field): a hint, nothing stored
    before = session.scalar(sa.select(sa.func.count()).select_from(m.Position))
    got = client.get(text[text.index("/api/"):])
    assert got.status_code == 200 and "Traccar Client" in got.text
    assert session.scalar(sa.select(sa.func.count()).select_from(m.Position)) == before
