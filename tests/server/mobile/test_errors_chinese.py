"""Issue 16: the mobile API's errors speak Chinese to the phone user (contract 1.7.0): every
error keeps its ``code``, ``field`` and HTTP status; ``message`` is Chinese (no English word,
the field named in Chinese on a 422); the technical English text moved to ``detail``."""

from __future__ import annotations

import re

from server.messages import MOBILE_ZH, mobile_message
from server.mobile import errors as E
from tests.browser.test_office_tour import english_words
from tests.server.mobile.conftest import PREFIX, bearer, login

HAN = re.compile(r"[\u4e00-\u9fff]")


def _chinese(err: dict) -> None:
    msg = err["message"]
    assert HAN.search(msg) and not [w for w in english_words(msg) if w != "App"], err
    assert isinstance(err["detail"], str) and err["detail"], err


def test_errors_keep_code_field_and_status_with_a_chinese_message(client, make_worker):
    w = make_worker()
    tok = login(client, w)
    cases = [
        # (request, status, code, field)
        (lambda: client.get(f"{PREFIX}/me"), 401, "token_missing", None),
        (lambda: client.get(f"{PREFIX}/me", headers={"Authorization": "Bearer x.y.z"}), 401,
         "token_invalid", None),
        (lambda: client.post(f"{PREFIX}/auth/login", json={"phone": w.phone, "password": "nope",
                                                          "device_uid": w.device_uid}),
         401, "bad_credentials", None),
        (lambda: client.get(f"{PREFIX}/me/score?period=0000", headers=bearer(tok)), 422,
         "validation_failed", "period"),
        (lambda: client.post(f"{PREFIX}/positions", content=b"{not json",
                             headers={**bearer(tok), "Content-Type": "application/json"}),
         422, "malformed_json", None),
        (lambda: client.post(f"{PREFIX}/positions", content=b"x",
                             headers={**bearer(tok), "Content-Type": "text/plain"}),
         415, "unsupported_media_type", "content-type"),
        (lambda: client.get(f"{PREFIX}/requests/999999999", headers=bearer(tok)), 404,
         "not_found", "request_id"),
        (lambda: client.delete(f"{PREFIX}/me", headers=bearer(tok)), 405,
         "method_not_allowed", None),
    ]
    for call, status, code, field in cases:
        r = call()
        assert r.status_code == status, (code, r.status_code, r.text)
        err = r.json()["error"]
        assert err["code"] == code and err["field"] == field, err
        assert set(err) == {"code", "message", "field", "detail"}
        _chinese(err)
    # a 422 names the field in Chinese
    r = client.get(f"{PREFIX}/me/score?period=0000", headers=bearer(tok))
    assert r.json()["error"]["message"] == "填写的内容有误：考核期"


def test_every_documented_code_has_a_chinese_message() -> None:
    codes = [v for k, v in vars(E).items() if k.isupper() and isinstance(v, str) and k != "MOBILE_PREFIX"]
    codes += ["activation_invalid", "activation_used", "activation_expired", "device_other_worker",
              "photo_required", "missing_utc_offset", "date_not_covered"]
    missing = [c for c in codes if c not in MOBILE_ZH]
    assert not missing
    for c in codes:
        assert not [w for w in english_words(mobile_message(c, 400, "items.3.lat"))
                    if w != "App"], c
    # an unknown code still answers in Chinese (by its HTTP status)
    assert mobile_message("some_new_code", 409) == "与现有记录冲突"
    assert mobile_message("validation_failed", 422, "items.3.lat") == "填写的内容有误：纬度"
