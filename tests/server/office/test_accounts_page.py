"""The office accounts page: code download and reset, each in the office's village only."""

from __future__ import annotations

import io

import sqlalchemy as sa
from openpyxl import load_workbook

from checkins.audit.models import AuditLog
from checkins.auth.models import ActivationCode


def test_village_office_downloads_codes_of_its_village_only(client, world):
    h = world.headers("village_office")
    r = client.get(f"/office/accounts?village_id={world.villages['own']}", headers=h)
    assert r.status_code == 200 and world.workers["own"] in r.text
    assert world.workers["other"] not in r.text
    r = client.get(f"/office/accounts?village_id={world.villages['other']}", headers=h)
    assert r.status_code == 404
    r = client.post("/office/accounts/codes", data={"village_id": world.villages["own"]},
                    headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[1][:4] == ["姓名", "工号", "手机号", "激活码"]
    assert [r_[1] for r_ in rows[2:]] == [world.workers["own"]]
    code = rows[2][3]
    assert len(code) == 14
    stored = world.session.scalars(sa.select(ActivationCode).where(
        ActivationCode.worker_id == world.workers["own"])).one()
    assert code.replace("-", "") not in stored.code_hash
    r = client.post("/office/accounts/codes", data={"village_id": world.villages["other"]},
                    headers=h)
    assert r.status_code == 404
    assert world.session.scalars(sa.select(ActivationCode).where(
        ActivationCode.worker_id == world.workers["other"])).first() is None


def test_reset_is_audited_and_scoped(client, world):
    h = world.headers("village_office")
    r = client.post(f"/office/accounts/{world.workers['other']}/reset",
                    data={"reason": "忘记密码"}, headers=h)
    assert r.status_code == 404
    before = world.session.scalar(sa.select(sa.func.max(AuditLog.id))) or 0
    r = client.post(f"/office/accounts/{world.workers['own']}/reset",
                    data={"reason": "忘记密码"}, headers=h)
    assert r.status_code == 200 and 'id="issued-code"' in r.text
    rows = world.session.scalars(sa.select(AuditLog).where(AuditLog.id > before)
                                 .order_by(AuditLog.id)).all()
    assert [a.action for a in rows] == ["account.codes_issue", "account.reset"]
    assert {a.actor for a in rows} == {rows[0].actor} and "village_office" in rows[0].actor
    assert rows[1].entity_id == world.workers["own"] and rows[1].reason == "忘记密码"
    # the township office may reset in any village
    r = client.post(f"/office/accounts/{world.workers['other']}/reset",
                    data={"reason": "换人"}, headers=world.headers("township_office"))
    assert r.status_code == 200
