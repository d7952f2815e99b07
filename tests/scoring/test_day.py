"""Day deductions per rule id, from hand-built DayResult objects (no engine involved)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from geo.types import DayResult, OffPost, PatrolResult, PhoneOff, SigninResult
from scoring.day import FACTS, day_deductions
from scoring.profiles import default_words, load_profile, parse_profile

CST = dt.timezone(dt.timedelta(hours=8))
DATE = dt.date(2026, 3, 2)  # a Monday, a working day
YK = load_profile("yangkou-2022")
QS = load_profile("quanshan-positioning")
NB = load_profile("ningbo-district")


def ts(h: int, m: int = 0) -> float:
    return dt.datetime(2026, 3, 2, h, m, tzinfo=CST).timestamp()


def patrol(window: str, status: str, in_grid_s: int = 0, required_s: int = 3600,
           started_in_app: bool = True) -> PatrolResult:
    return PatrolResult(window=window, status=status, in_grid_s=in_grid_s, required_s=required_s,
                        tolerance_s=0, lost_s={}, stationary=False, started_in_app=started_in_app)


def day(role: str = "parttime", am: PatrolResult | None = None, pm: PatrolResult | None = None,
        signin: SigninResult | None = None, offpost=(), phone_off=()) -> DayResult:
    return DayResult(
        worker_id="w01", date=DATE, role=role, grid_id="g01", working_day=True,
        patrols={"am": am or patrol("am", "ok", 3700), "pm": pm or patrol("pm", "ok", 3700)},
        signin=signin or SigninResult(status="ok", at=ts(8, 41), distance_m=20.0),
        offpost=tuple(offpost), phone_off=tuple(phone_off), suspect_fixes=(), rejected={},
        fixes_used=100, online_rate=1.0, duty_s=28800,
    )


def summary(result: DayResult, profile=YK) -> list[tuple[str, float]]:
    return [(d.rule, d.points) for d in day_deductions(result, profile)]


def test_a_good_day_has_no_deductions() -> None:
    assert summary(day()) == []
    assert summary(day(role="fulltime", am=patrol("am", "ok", 7300, 7200),
                       pm=patrol("pm", "ok", 7300, 7200))) == []


def test_yk_patrol_missing_and_short() -> None:
    # am missing: -0.5; pm short (2520 s of 3600 s): -1. Total YK-PATROL -1.5 for the day.
    got = day_deductions(day(am=patrol("am", "missing", 300, started_in_app=False),
                             pm=patrol("pm", "short", 2520)), YK)
    patrol_d = [d for d in got if d.rule == "YK-PATROL"]
    assert [(d.points, d.evidence["window"]) for d in patrol_d] == [(-0.5, "am"), (-1.0, "pm")]
    assert patrol_d[0].reason == "上午未巡查"
    assert patrol_d[1].reason == "下午巡查时长不足：网格内 42 分钟，应满 60 分钟（已在 App 中开始巡查）"
    assert patrol_d[1].evidence["in_grid_s"] == 2520 and patrol_d[1].evidence["required_s"] == 3600


@pytest.mark.parametrize("status", ["exempt", "not_required", "ok"])
def test_yk_patrol_nothing_for_exempt_not_required_ok(status: str) -> None:
    got = summary(day(am=patrol("am", status, 0, started_in_app=False),
                      pm=patrol("pm", status, 0, started_in_app=False)))
    assert [r for r in got if r[0] == "YK-PATROL"] == []


def test_yk_log_fulltime_patrol_not_recorded_in_app() -> None:
    # fulltime: am ok but no app session (-0.2), pm missing and no app session
    # (-0.5 YK-PATROL, -0.2 YK-LOG). Exempt windows need no log.
    got = summary(day(role="fulltime",
                      am=patrol("am", "ok", 7300, 7200, started_in_app=False),
                      pm=patrol("pm", "missing", 0, 7200, started_in_app=False)))
    assert got == [("YK-PATROL", -0.5), ("YK-LOG", -0.2), ("YK-LOG", -0.2)]
    exempt = summary(day(role="head", am=patrol("am", "exempt", started_in_app=False),
                         pm=patrol("pm", "not_required", started_in_app=False)))
    assert exempt == []


def test_yk_log_head_short_patrol_logged_in_app_costs_only_the_patrol() -> None:
    got = summary(day(role="head", am=patrol("am", "short", 1800, started_in_app=True)))
    assert got == [("YK-PATROL", -1.0)]


@pytest.mark.parametrize(
    ("status", "words"),
    [("missing", "未在村委会签到"), ("late", "签到迟到（09:20 签到）"), ("outside", "距村委会 480 米")],
)
def test_yk_log_parttime_signin(status: str, words: str) -> None:
    signin = SigninResult(status=status, at=None if status == "missing" else ts(9, 20),
                          distance_m=None if status == "missing" else 480.0)
    got = day_deductions(day(role="parttime", signin=signin), YK)
    assert [(d.rule, d.points) for d in got] == [("YK-LOG", -0.2)]
    assert words in got[0].reason
    assert got[0].evidence["status"] == status


def test_yk_log_signin_is_parttime_only_and_not_patrol_log() -> None:
    # a fulltime worker's missing sign-in is not a YK-LOG item; a parttime worker's patrol
    # without app session is not either (their YK-LOG is the sign-in and the daily report)
    missing = SigninResult(status="missing", at=None)
    assert summary(day(role="fulltime", signin=missing)) == []
    assert summary(day(role="parttime", am=patrol("am", "ok", 3700, started_in_app=False))) == []


def test_qs_pos_one_point_per_occurrence() -> None:
    # 2 off-post intervals, 1 cross-post, 1 phone-off: 4 occurrences, -1 each = -4
    result = day(
        offpost=[
            OffPost(kind="offpost", start=ts(9), end=ts(9, 40)),
            OffPost(kind="crosspost", start=ts(10), end=ts(10, 45), other_grid_id="g02"),
            OffPost(kind="offpost", start=ts(15), end=ts(16)),
        ],
        phone_off=[PhoneOff(start=ts(14), end=ts(14, 35), cause="phone_off")],
    )
    got = day_deductions(result, QS)
    assert [(d.rule, d.points) for d in got] == [("QS-POS", -1.0)] * 4
    cross = [d for d in got if "other_grid_id" in d.evidence]
    assert cross[0].evidence == {"start": "2026-03-02T10:00:00+08:00",
                                 "end": "2026-03-02T10:45:00+08:00", "duration_s": 2700,
                                 "other_grid_id": "g02"}
    assert "g02" in cross[0].reason and "10:00–10:45（45 分钟）" in cross[0].reason
    phone = [d for d in got if "cause" in d.evidence][0]
    assert phone.evidence["duration_s"] == 2100 and "手机关机或没电" in phone.reason


def test_qs_pos_phone_off_of_a_hidden_web_app_is_charged_with_its_own_words() -> None:
    # GEO-PHONEOFF is "no fix and no heartbeat for >= 30 min on duty" (RULES.md): the worker
    # could not be located, whatever the cause; only the server's own outages are excused.
    # The cause explains the interval in the catalogue's words, never as a code or 关机
    result = day(phone_off=[PhoneOff(start=ts(9), end=ts(9, 40), cause="app_background")])
    (d,) = day_deductions(result, QS)
    assert (d.rule, d.points, d.evidence["cause"]) == ("QS-POS", -1.0, "app_background")
    label = default_words()["labels"]["cause"]["app_background"]
    assert label in d.reason and "app_background" not in d.reason and "关机" not in label


def test_every_phone_off_cause_has_catalogue_words() -> None:
    from geo.phoneoff import CAUSES

    words = default_words()["labels"]["cause"]
    assert set(CAUSES) <= set(words), set(CAUSES) - set(words)
    for cause in CAUSES:
        result = day(phone_off=[PhoneOff(start=ts(14), end=ts(14, 35), cause=cause)])
        (d,) = day_deductions(result, QS)
        assert words[cause] in d.reason and cause not in d.reason


def test_qs_pos_only_in_the_quanshan_profile() -> None:
    result = day(offpost=[OffPost(kind="offpost", start=ts(9), end=ts(9, 40))],
                 phone_off=[PhoneOff(start=ts(14), end=ts(14, 35), cause="unknown")])
    assert summary(result, YK) == []
    assert summary(result, NB) == []
    # quanshan has no patrol rules: a missing patrol costs nothing there
    assert summary(day(am=patrol("am", "missing")), QS) == []


def test_which_rules_apply_comes_from_the_profile_data() -> None:
    # a township doubles the missing-patrol points and charges off-post in its own copy
    with open(YK.path, encoding="utf-8") as fh:
        yaml_text = fh.read()
    yaml_text = yaml_text.replace("{fact: patrol_missing, points: -0.5}",
                                  "{fact: patrol_missing, points: -1}\n      - {fact: offpost, points: -2}")
    mine = parse_profile(yaml_text, "mine.yaml")
    result = day(am=patrol("am", "missing"), offpost=[OffPost(kind="offpost", start=ts(9), end=ts(10))])
    assert summary(result, mine) == [("YK-PATROL", -1.0), ("YK-PATROL", -2.0)]


def test_every_schema_fact_has_a_finder() -> None:
    import json

    from scoring.profiles import SCHEMA_PATH

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert set(schema["$defs"]["day_trigger"]["properties"]["fact"]["enum"]) == set(FACTS)


def test_deduction_json_shape() -> None:
    d = day_deductions(day(am=patrol("am", "missing")), YK)[0]
    j = d.to_json()
    assert j["rule"] == "YK-PATROL" and j["points"] == -0.5 and j["reason"] == "上午未巡查"
    assert j["evidence"]["window"] == "am"
    assert dataclasses.is_dataclass(d)


def test_office_decisions_on_flags_qs_pos_and_yk_safety():
    """QS-POS: a dismissed off-post interval is no occurrence (3 intervals, 1 dismissed → −2);
    YK-SAFETY: only a *confirmed* suspect fix is 乱定位, −0.5 each (GEO-SPOOF: unreviewed → 0);
    the decisions survive the day entry's JSON round trip, so period scores see them too."""
    from geo.engine import day_result_to_json
    from geo.types import SuspectFix
    from scoring.dayjson import day_from_json

    base = day(role="parttime")
    intervals = (OffPost("offpost", ts(9), ts(9, 40), decision="dismissed"),
                 OffPost("offpost", ts(10), ts(10, 45), decision="confirmed"),
                 OffPost("crosspost", ts(15), ts(15, 50), other_grid_id="g2"))
    suspects = (SuspectFix(ts(11), 121.2, 32.5, ("mock_location",), decision="confirmed"),
                SuspectFix(ts(11, 1), 121.2, 32.5, ("mock_location",)),
                SuspectFix(ts(11, 2), 121.2, 32.5, ("mock_location",), decision="dismissed"))
    r = dataclasses.replace(base, offpost=intervals, suspect_fixes=suspects)
    qs = [d for d in day_deductions(r, load_profile("quanshan-positioning")) if d.rule == "QS-POS"]
    assert sum(d.points for d in qs) == -2  # 10:00 offpost (confirmed) + 15:00 crosspost
    assert [d.evidence.get("decision") for d in qs] == ["confirmed", None]
    yk = [d for d in day_deductions(r, load_profile("yangkou-2022")) if d.rule == "YK-SAFETY"]
    assert [(d.points, d.evidence["at"]) for d in yk] == [(-0.5, "2026-03-02T11:00:00+08:00")]

    back = day_from_json(day_result_to_json(r, "Asia/Shanghai")).result
    assert [o.decision for o in back.offpost] == ["dismissed", "confirmed", None]
    assert [s.decision for s in back.suspect_fixes] == ["confirmed", None, "dismissed"]
