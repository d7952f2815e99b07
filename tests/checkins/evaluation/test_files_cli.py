"""End to end: ``gridpatrol evaluate`` on a tiny hand-made township, expected JSON by hand.

The township (WGS-84):
  grid g1 = box lon 120.400-120.410, lat 32.000-32.010 (about 945 m x 1,112 m)
  grid g2 = box lon 120.410-120.420, same latitudes (east of g1)
  village v1's office at (120.405, 32.005), radius 150 m (inside g1)
  w01 parttime in g1, w02 fulltime in g2 (both village v1)
Dates: 2026-03-01 (Sunday, a rest day of the PRC calendar) and 2026-03-02 (Monday).

Tracks walk north-south along a fixed longitude, one fix every 60 s, 0.0005 deg of latitude
(about 55.6 m, 0.93 m/s) per step, turning every 12 steps between lat 32.002 and 32.008:
never a stay (GEO-STILL: each step leaves the 50 m circle), never a spike, never frozen,
always at least 222 m inside its grid.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from server.commands.evaluate import register

CST = dt.timezone(dt.timedelta(hours=8))
MON = dt.date(2026, 3, 2)


def lat_at(k: int) -> float:
    tri = k % 24 if k % 24 <= 12 else 24 - k % 24
    return round(32.002 + 0.0005 * tri, 6)


def at(h: int, m: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, 2, h, m, tzinfo=CST)


GRIDS = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"grid_id": "g1", "village_id": "v1", "name": "一网格"},
         "geometry": {"type": "Polygon", "coordinates": [[[120.400, 32.000], [120.410, 32.000],
                                                          [120.410, 32.010], [120.400, 32.010],
                                                          [120.400, 32.000]]]}},
        {"type": "Feature", "properties": {"grid_id": "g2", "village_id": "v1"},
         "geometry": {"type": "Polygon", "coordinates": [[[120.410, 32.000], [120.420, 32.000],
                                                          [120.420, 32.010], [120.410, 32.010],
                                                          [120.410, 32.000]]]}},
        {"type": "Feature", "properties": {"kind": "village_office", "village_id": "v1", "radius_m": 150},
         "geometry": {"type": "Point", "coordinates": [120.405, 32.005]}},
    ],
}


def write_township(d: Path) -> dict[str, Path]:
    """Write the files; return their paths."""
    files = {name: d / name for name in (
        "grids.geojson", "roster.csv", "positions.csv", "w01-pm.gpx", "signins.csv",
        "patrols.csv", "exemptions.csv")}
    files["grids.geojson"].write_text(json.dumps(GRIDS), encoding="utf-8")
    files["roster.csv"].write_text(
        "worker_id,name,role,grid_id,village_id\n"
        "w01,张三,parttime,g1,v1\n"
        "w02,李四,fulltime,g2,v1\n", encoding="utf-8")
    # w01 morning: 08:00 .. 12:00, 241 fixes in g1 (lon 120.405); plus one fix of a worker
    # who is not in the roster
    rows = ["worker_id,recorded_at,lon,lat,accuracy_m,speed_mps,crs,mock,kind"]
    for k in range(241):
        t = at(8) + dt.timedelta(seconds=60 * k)
        rows.append(f"w01,{t.isoformat()},120.405,{lat_at(k)},10,,wgs84,false,fix")
    rows.append(f"w99,{at(9).isoformat()},120.405,32.005,10,,,,")
    files["positions.csv"].write_text("\n".join(rows) + "\n", encoding="utf-8")
    # w01 afternoon as GPX (UTC times, no <metadata><name>: the worker is given as w01=...):
    # 14:00 .. 14:40 in g1 (41 fixes), nothing 14:40-14:50, then 14:50 .. 18:00 in g2
    # (lon 120.415, 191 fixes)
    pts = []
    for k in list(range(41)) + list(range(50, 241)):
        t = (at(14) + dt.timedelta(seconds=60 * k)).astimezone(dt.UTC)
        lon = 120.405 if k <= 40 else 120.415
        pts.append(f'<trkpt lat="{lat_at(k)}" lon="{lon}"><time>{t:%Y-%m-%dT%H:%M:%SZ}</time></trkpt>')
    files["w01-pm.gpx"].write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><trkseg>{''.join(pts)}</trkseg></trk></gpx>\n", encoding="utf-8")
    # w01 signs in at 09:10 about 14 m from the office: inside the geofence but late
    files["signins.csv"].write_text(
        "worker_id,signed_at,lon,lat,accuracy_m\n"
        "w01,2026-03-02T09:10:00+08:00,120.4051,32.0051,10\n", encoding="utf-8")
    # w02 started a patrol in the app in the morning (but has no positions at all)
    files["patrols.csv"].write_text(
        "worker_id,started_at,ended_at\n"
        "w02,2026-03-02T08:30:00+08:00,2026-03-02T09:30:00+08:00\n", encoding="utf-8")
    # w02 has approved personal leave for Monday afternoon (the whole pm window)
    files["exemptions.csv"].write_text(
        "worker_id,start,end,kind\n"
        "w02,2026-03-02T12:00:00+08:00,2026-03-02T20:00:00+08:00,personal_leave\n",
        encoding="utf-8")
    return files


def cli_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """A group, so that ``evaluate`` is a subcommand as in ``gridpatrol``."""

    register(app)
    return app


def args_for(files: dict[str, Path], profile: str = "yangkou-2022") -> list[str]:
    return [
        "evaluate", "--grids", str(files["grids.geojson"]), "--roster", str(files["roster.csv"]),
        "--positions", str(files["positions.csv"]), "--positions", f"w01={files['w01-pm.gpx']}",
        "--signins", str(files["signins.csv"]), "--patrols", str(files["patrols.csv"]),
        "--exemptions", str(files["exemptions.csv"]),
        "--profile", profile, "--from", "2026-03-01", "--to", "2026-03-02",
    ]


@pytest.fixture()
def township(tmp_path: Path) -> dict[str, Path]:
    return write_township(tmp_path)


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli_app(), args)
    return result.exit_code, result.stdout, result.stderr


def test_evaluate_yangkou_by_hand(township: dict[str, Path]) -> None:
    code, out, err = run(args_for(township))
    assert code == 0, err
    doc = json.loads(out)
    assert (doc["profile"], doc["from"], doc["to"]) == ("yangkou-2022", "2026-03-01", "2026-03-02")
    assert doc["positions_not_in_roster"] == ["w99"]
    assert "evaluating 4 worker-days" in err  # progress goes to stderr
    assert "positions of 1 workers not in the roster are ignored" in err
    days = {(d["worker_id"], d["date"]): d for d in doc["days"]}
    assert [(d["worker_id"], d["date"]) for d in doc["days"]] == [
        ("w01", "2026-03-01"), ("w01", "2026-03-02"), ("w02", "2026-03-01"), ("w02", "2026-03-02")]

    # Sunday: a rest day (YK-DAYS) -> nothing required, nothing deducted, for both workers
    for wid in ("w01", "w02"):
        sun = days[(wid, "2026-03-01")]
        assert sun["working_day"] is False
        assert {k: p["status"] for k, p in sun["patrols"].items()} == {"am": "not_required", "pm": "not_required"}
        assert sun["signin"]["status"] == "not_required"
        assert (sun["offpost"], sun["phone_off"], sun["deductions"]) == ([], [], [])

    w01 = days[("w01", "2026-03-02")]
    # am: 240 segments of 60 s, all inside g1, all inside 06:00-12:00 -> 14,400 s >= 3,600: ok
    assert w01["patrols"]["am"]["status"] == "ok"
    assert w01["patrols"]["am"]["in_grid_s"] == 14400
    # pm: 40 segments 14:00-14:40 inside g1 = 2,400 s; the 600 s gap 14:40-14:50 exceeds
    # max_gap_s 300 and counts nothing; 14:50-18:00 is in g2. 2,400 < 3,600 but >= 600
    # (performed) -> short
    assert w01["patrols"]["pm"]["status"] == "short"
    assert w01["patrols"]["pm"]["in_grid_s"] == 2400
    # sign-in 09:10 inside the 150 m geofence, after the parttime deadline 09:00 -> late
    assert w01["signin"]["status"] == "late"
    assert w01["signin"]["at"] == "2026-03-02T09:10:00+08:00"
    # 14:50-18:00 (duty ends 18:00) outside g1 + 20 m and outside the office: 3 h 10 min
    # >= 30 min, all of it inside g2 -> one cross-post interval (the gap before it is
    # unknown time, not off post)
    assert [(o["kind"], o["start"], o["end"], o["other_grid_id"]) for o in w01["offpost"]] == [
        ("crosspost", "2026-03-02T14:50:00+08:00", "2026-03-02T18:00:00+08:00", "g2")]
    # fixes cover 08:00-12:00 and 14:00-18:00 with no silence >= 30 min on duty
    assert w01["phone_off"] == []
    assert w01["suspect_fixes"] == 0
    # deductions: YK-PATROL short pm -1; YK-LOG late sign-in (parttime) -0.2
    assert [(d["rule"], d["points"]) for d in w01["deductions"]] == [("YK-PATROL", -1.0), ("YK-LOG", -0.2)]
    assert w01["deductions"][0]["reason"] == "下午巡查时长不足：网格内 40 分钟，应满 60 分钟"

    w02 = days[("w02", "2026-03-02")]
    # am: no positions, 0 s in grid, but a patrol started in the app 08:30 -> performed -> short
    # pm: approved personal leave 12:00-20:00 covers the window -> exempt
    assert {k: (p["status"], p["in_grid_s"]) for k, p in w02["patrols"].items()} == {
        "am": ("short", 0), "pm": ("exempt", 0)}
    # fulltime must sign in (GEO-SIGNIN) but did not: missing, not a YK-LOG item (parttime only)
    assert w02["signin"]["status"] == "missing"
    # no item at all while on duty 08:00-12:00 (the afternoon duty is removed by the leave)
    assert [(p["start"], p["end"]) for p in w02["phone_off"]] == [
        ("2026-03-02T08:00:00+08:00", "2026-03-02T12:00:00+08:00")]
    assert w02["offpost"] == []
    # deductions: YK-PATROL short am -1; no YK-LOG since the am patrol was started in the app
    assert [(d["rule"], d["points"]) for d in w02["deductions"]] == [("YK-PATROL", -1.0)]
    assert w02["deductions"][0]["reason"] == (
        "上午巡查时长不足：网格内 0 分钟，应满 120 分钟（已在 App 中开始巡查）")

    # every day rule of the profile has a total; YK-SAFETY's day part (confirmed 乱定位) needs
    # an office decision, which offline files never carry: 0
    assert doc["totals"] == {
        "w01": {"YK-PATROL": -1.0, "YK-LOG": -0.2, "YK-SAFETY": 0.0},
        "w02": {"YK-PATROL": -1.0, "YK-LOG": 0.0, "YK-SAFETY": 0.0},
    }
    assert doc["trail"]["w01"]["YK-LOG"]["periods"][0]["days"] == [{"date": "2026-03-02", "points": -0.2}]


def test_evaluate_quanshan_charges_crosspost_and_phone_off(township: dict[str, Path], tmp_path: Path) -> None:
    out_file = tmp_path / "out.json"
    code, out, err = run([*args_for(township, "quanshan-positioning"), "--out", str(out_file), "-q"])
    assert code == 0, err
    assert out == "" and err == ""
    doc = json.loads(out_file.read_text(encoding="utf-8"))
    # QS-POS -1 per occurrence: w01's cross-post 14:50-18:00; w02's phone-off 08:00-12:00.
    # Quanshan has no patrol or sign-in rules, so nothing else is charged.
    assert doc["totals"] == {"w01": {"QS-POS": -1.0}, "w02": {"QS-POS": -1.0}}
    mon = {d["worker_id"]: d for d in doc["days"] if d["date"] == "2026-03-02"}
    assert mon["w01"]["deductions"][0]["evidence"]["other_grid_id"] == "g2"
    assert mon["w02"]["signin"]["status"] == "not_required"  # signin_roles is empty here


def test_worker_filter(township: dict[str, Path]) -> None:
    code, out, err = run([*args_for(township), "--worker", "w02", "-q"])
    assert code == 0, err
    doc = json.loads(out)
    assert {d["worker_id"] for d in doc["days"]} == {"w02"}
    assert list(doc["totals"]) == ["w02"]
    code, out, err = run([*args_for(township), "--worker", "w42"])
    assert code == 2 and "w42" in err


def test_changed_profile_copy_changes_the_result(township: dict[str, Path], tmp_path: Path) -> None:
    # a township halves the parttime patrol duration to 30 min in its own copy: w01's
    # 2,400 s afternoon becomes ok and only the late sign-in remains
    from scoring.profiles import PROFILE_DIR

    text = (PROFILE_DIR / "yangkou-2022.yaml").read_text(encoding="utf-8")
    mine = tmp_path / "my-town.yaml"
    mine.write_text(text.replace("parttime: 3600}", "parttime: 1800}"), encoding="utf-8")
    code, out, err = run([*args_for(township, str(mine)), "-q"])
    assert code == 0, err
    assert json.loads(out)["totals"]["w01"] == {"YK-PATROL": 0.0, "YK-LOG": -0.2, "YK-SAFETY": 0.0}


@pytest.mark.parametrize(
    ("target", "content", "expected"),
    [
        ("positions.csv", "worker_id,recorded_at,lon,lat\nw01,2026-03-02T08:00:00+08:00,120.4,32\n"
         "w01,2026-03-02T08:01:00,120.4,32\n", "positions.csv, line 3, field 'recorded_at'"),
        ("roster.csv", "worker_id,name,role,grid_id,village_id\nw01,张三,boss,g1,v1\n",
         "roster.csv, line 2, field 'role'"),
        ("roster.csv", "worker_id,name,role,grid_id,village_id\nw01,张三,parttime,g9,v1\n",
         "roster.csv, line 2, field 'grid_id'"),
        ("exemptions.csv", "worker_id,start,end,kind\nw02,2026-03-02,2026-03-02,holiday\n",
         "exemptions.csv, line 2, field 'kind'"),
    ],
)
def test_bad_input_file_exit_2_with_file_line_field(
    township: dict[str, Path], target: str, content: str, expected: str
) -> None:
    township[target].write_text(content, encoding="utf-8")
    code, out, err = run(args_for(township))
    assert code == 2
    assert expected in err
    assert "Traceback" not in err and out == ""


def test_bad_profile_and_bad_dates_exit_2(township: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("profile: x\nversion: 1\n", encoding="utf-8")
    code, _, err = run(args_for(township, str(bad)))
    assert code == 2 and "bad.yaml" in err and "Traceback" not in err
    args = args_for(township)
    args[args.index("--to") + 1] = "2026-02-30"
    code, _, err = run(args)
    assert code == 2 and "--to" in err


def test_command_needs_no_database_or_web_stack(township: dict[str, Path]) -> None:
    # run the command in a fresh interpreter, then check what got imported
    script = (
        "import sys, typer\n"
        "from typer.testing import CliRunner\n"
        "from server.commands.evaluate import register\n"
        "app = typer.Typer()\n"
        "app.callback()(lambda: None)\n"
        "register(app)\n"
        f"r = CliRunner().invoke(app, {args_for(township)!r} + ['-q'])\n"
        "assert r.exit_code == 0, r.output\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'sqlmodel', 'fastapi', 'starlette', 'uvicorn', 'psycopg', 'alembic'))\n"
        "assert 'geo.engine' in sys.modules\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    run_ = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run_.returncode == 0, run_.stdout + run_.stderr


def test_batches_by_date_give_the_same_result(township: dict[str, Path]) -> None:
    # one engine call per date (limit of 1 fix per batch) or one call for all: same JSON
    from checkins.evaluation.files import evaluate_files

    kwargs = dict(
        grids=township["grids.geojson"], roster=township["roster.csv"],
        positions=[str(township["positions.csv"]), f"w01={township['w01-pm.gpx']}"],
        signins=township["signins.csv"], patrols=township["patrols.csv"],
        exemptions=township["exemptions.csv"],
        date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 2),
    )
    messages: list[str] = []
    split = evaluate_files(**kwargs, max_fixes_per_batch=1, progress=messages.append)
    whole = evaluate_files(**kwargs)
    assert split == whole
    # Sunday (no fixes) is one batch; Monday is cut into one batch per worker
    assert any(m.startswith("batch 3/3") for m in messages)


def test_batch_by_date_groups_whole_dates() -> None:
    from checkins.evaluation.files import batch_by_date
    from geo.types import Fixes, WorkerDay

    def wd(wid: str, day: int, n: int) -> WorkerDay:
        z = np.zeros(n)
        fixes = Fixes(t=np.arange(n, dtype=float), lon=z, lat=z, accuracy_m=z, speed_mps=z,
                      mock=np.zeros(n, bool), is_heartbeat=np.zeros(n, bool))
        return WorkerDay(worker_id=wid, date=dt.date(2026, 3, day), role="parttime",
                         grid_id="g1", grid=None, fixes=fixes)  # type: ignore[arg-type]

    days = [wd("a", 1, 5), wd("a", 2, 5), wd("a", 3, 5), wd("b", 1, 5), wd("b", 2, 0)]
    # dates hold 10, 5, 5 fixes; limit 12: [day 1] (10), then [day 2, day 3] (5 + 0 + 5)
    batches = batch_by_date(days, 12)
    assert [[(d.worker_id, d.date.day) for d in b] for b in batches] == [
        [("a", 1), ("b", 1)], [("a", 2), ("b", 2), ("a", 3)]]
    # a date larger than the limit is cut into runs of workers, never inside a worker-day
    assert [[(d.worker_id, d.date.day) for d in b] for b in batch_by_date(days, 7)] == [
        [("a", 1)], [("b", 1)], [("a", 2), ("b", 2)], [("a", 3)]]
    assert [len(b) for b in batch_by_date(days, 1)] == [1, 1, 1, 1, 1]


def test_gridpatrol_console_evaluate_needs_no_database_or_web_stack(township: dict[str, Path]) -> None:
    # the real console app (all subcommands registered) must not load them either
    script = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from server.cli import app\n"
        f"r = CliRunner().invoke(app, {args_for(township)!r} + ['-q'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert r.stdout.lstrip().startswith('{')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'sqlmodel', 'fastapi', 'starlette', 'uvicorn', 'psycopg', 'alembic'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    run_ = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run_.returncode == 0, run_.stdout + run_.stderr


def test_evaluate_out_jsonl_one_day_a_line_grouped_by_worker(township: dict[str, Path], tmp_path: Path) -> None:
    code, out, err = run([*args_for(township), "-q"])
    assert code == 0, err
    whole = json.loads(out)
    jl = tmp_path / "days.jsonl"
    code, out, err = run([*args_for(township), "--out", str(jl), "-q"])
    assert code == 0, err
    lines = [json.loads(x) for x in jl.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["jsonl"] == "gridpatrol-days" and lines[0]["profile"] == "yangkou-2022"
    assert "days" not in lines[0] and lines[0]["totals"] == whole["totals"]
    days = lines[1:]
    assert [(d["worker_id"], d["date"]) for d in days] == sorted((d["worker_id"], d["date"]) for d in whole["days"])
    assert sorted(days, key=lambda d: (d["worker_id"], d["date"])) == sorted(
        whole["days"], key=lambda d: (d["worker_id"], d["date"]))
