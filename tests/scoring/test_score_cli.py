"""``gridpatrol score`` end to end on evaluate-format files: JSON, CSV, xlsx, what-if, errors."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from geo.engine import day_result_to_json
from scoring.day import day_deductions
from scoring.profiles import PROFILE_DIR, load_profile
from server.commands.score import register
from tests.scoring import demo_quarter as demo

YK = load_profile("yangkou-2022")


def app() -> typer.Typer:
    a = typer.Typer()

    @a.callback()
    def _root() -> None:
        """group"""

    register(a)
    return a


def write_inputs(d: Path) -> dict[str, Path]:
    days = []
    for sd in demo.days():
        entry = day_result_to_json(sd.result, "Asia/Shanghai")
        entry["deductions"] = [x.to_json() for x in day_deductions(sd.result, YK)]
        days.append(entry)
    files = {"days": d / "ev.json", "days2": d / "ev2.json", "items": d / "items.csv", "roster": d / "roster.csv"}
    half = len(days) // 2
    for path, part in ((files["days"], days[:half]), (files["days2"], days[half:])):
        path.write_text(json.dumps({"profile": "yangkou-2022", "from": "2026-01-01", "to": "2026-03-31",
                                    "days": part, "totals": {}}, ensure_ascii=False), encoding="utf-8")
    with files["items"].open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["item_id", "subject_id", "rule", "item", "date", "period", "value", "note", "entered_by"])
        for it in demo.items():
            w.writerow([it.item_id, it.subject_id, it.rule, it.item, it.date or "", it.period.label if it.period else "",
                        f"{it.value * 100}%" if it.rule == "YK-SURVEY" else it.value, it.note, "村网格办"])
    files["roster"].write_text("worker_id,name,role,grid_id,village_id\n" + "".join(
        f"{w.subject_id},{w.name},{w.role},g-{w.subject_id},{w.village_id}\n" for w in demo.ROSTER.values()),
        encoding="utf-8")
    return files


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    return write_inputs(tmp_path)


def base(files: dict[str, Path]) -> list[str]:
    return ["score", "--period", "2026Q1", "--days", str(files["days"]), "--days", str(files["days2"]),
            "--items", str(files["items"]), "--roster", str(files["roster"])]


def run(args: list[str]):
    r = CliRunner().invoke(app(), args)
    return r.exit_code, r.stdout, r.stderr


def test_json_output_matches_the_hand_computed_quarter(files) -> None:
    code, out, err = run(base(files))
    assert code == 0, err
    doc = json.loads(out)
    sheets = {s["subject_id"]: s for s in doc["sheets"]}
    assert {k: s["total"] for k, s in sheets.items()} == {"p1": 99.5, "p2": 93.1, "p3": 95.6, "p4": 97, "p5": 100,
                                                          "f1": 93.6, "h1": 100}
    assert {k: s["payout_total"] for k, s in sheets.items()} == {"p1": 800, "p2": 300, "p3": 450, "p4": 450,
                                                                 "p5": 0, "f1": 1000, "h1": 0}
    assert sheets["p5"]["tier_label"] == "不合格" and sheets["p1"]["name"] == "P1"
    patrol = next(i for i in sheets["p2"]["items"] if i["rule"] == "YK-PATROL")
    assert patrol["trail"][0]["evidence"]["date"] == "2026-01-05" and patrol["trail"][0]["points"] == -0.5
    dress = next(i for i in sheets["p1"]["items"] if i["rule"] == "YK-DRESS")
    assert dress["trail"][0]["evidence"]["item_id"] == "e01" and "IMG_0210" in dress["trail"][0]["evidence"]["note"]


def test_csv_and_xlsx(files, tmp_path: Path) -> None:
    code, out, err = run([*base(files), "--format", "csv"])
    assert code == 0, err
    rows = list(csv.DictReader(out.splitlines()))
    assert {r["subject_id"]: (r["total"], r["tier"]) for r in rows}["p1"] == ("99.5", "excellent")
    xlsx = tmp_path / "q1.xlsx"
    code, _, err = run([*base(files), "--format", "xlsx", "--out", str(xlsx)])
    assert code == 0, err
    from openpyxl import load_workbook

    wb = load_workbook(xlsx)
    assert wb.sheetnames == ["v01", "扣分明细", "等次名额"]
    ws = wb["v01"]
    header = [c.value for c in ws[2]]
    assert header[:4] == ["序号", "编号", "姓名", "岗位"] and "合计" in header and "等次" in header
    assert "一日双巡(15)" in header
    rows = {r[1]: r for r in ws.iter_rows(min_row=3, values_only=True)}
    assert rows["p1"][header.index("合计")] == 99.5 and rows["p1"][header.index("等次")] == "优秀"
    assert rows["p1"][header.index("奖励(元)")] == 800
    trail = [r for r in wb["扣分明细"].iter_rows(min_row=2, values_only=True)]
    assert any(r[0] == "p3" and r[2] == "YK-HAZARD" and r[3] == -1 for r in trail)
    quota = list(wb["等次名额"].iter_rows(min_row=2, values_only=True))
    assert [(q[0], q[1], q[4], q[5], q[6]) for q in quota] == [("v01", "专职网格员", 0, 1, 0), ("v01", "兼职网格员", 1, 2, 1)]


def test_whatif_against_a_copied_profile(files, tmp_path: Path) -> None:
    text = (PROFILE_DIR / "yangkou-2022.yaml").read_text(encoding="utf-8")
    mine = tmp_path / "strict.yaml"
    mine.write_text(text.replace("{item: dress_not_worn, points: -0.5}", "{item: dress_not_worn, points: -2}")
                    .replace("profile: yangkou-2022", "profile: strict"), encoding="utf-8")
    code, out, err = run([*base(files), "--compare", str(mine)])
    assert code == 0, err
    doc = json.loads(out)
    # p1's single dress finding: -0.5 -> -2 (1.5 -> 0 points): 99.5 -> 98, still 优秀
    assert [d["subject_id"] for d in doc["differences"]] == ["p1"]
    d = doc["differences"][0]
    assert d["total"] == [99.5, 98] and d["delta"] == -1.5 and d["items"] == {"YK-DRESS": [1.5, 0]}
    assert sorted(doc["unchanged"]) == ["f1", "h1", "p2", "p3", "p4", "p5"]


def test_bad_inputs_exit_2_naming_file_line_field(files, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("item_id,subject_id,rule,item,date,value,note\nx1,p1,YK-DRESS,dres,2026-03-01,1,oops\n",
                   encoding="utf-8")
    code, _, err = run([*base(files), "--items", str(bad)])
    assert code == 2 and f"{bad}, line 2, field 'item'" in err and "dress_not_worn" in err
    typo = tmp_path / "typo.csv"
    typo.write_text("item_id,subject_id,rule,item,date,value,note\nx1,p01,YK-DRESS,dress_not_worn,2026-03-01,1,oops\n",
                    encoding="utf-8")
    code, _, err = run([*base(files), "--items", str(typo)])
    assert code == 2 and f"{typo}, line 2, field 'subject_id'" in err and "not in the roster" in err
    code, _, err = run(["score", "--period", "2026Q1", "--days", str(files["days"]), "--days", str(files["days"])])
    assert code == 2 and "also in" in err
    code, _, err = run(["score", "--period", "2026Q5", "--days", str(files["days"])])
    assert code == 2 and "not a period" in err
    code, _, err = run(["score", "--period", "2026Q1", "--days", str(files["days"]), "--profile", "quanshan-positioning"])
    assert code == 2 and "no quarter score" in err


def test_office_profile_needs_offices(files) -> None:
    code, out, err = run(["score", "--period", "2026-03", "--days", str(files["days"]), "--days", str(files["days2"]),
                          "--roster", str(files["roster"]), "--profile", "quanshan-positioning"])
    assert code == 0, err
    doc = json.loads(out)
    assert [s["subject_id"] for s in doc["sheets"]] == ["v01"] and doc["sheets"][0]["total"] == 15
    assert any("detected under yangkou-2022" in n for n in doc["notes"])


def test_score_command_needs_no_database_or_web_stack(files) -> None:
    script = (
        "import sys, typer\n"
        "from typer.testing import CliRunner\n"
        "from server.commands.score import register\n"
        "app = typer.Typer()\n"
        "app.callback()(lambda: None)\n"
        "register(app)\n"
        f"r = CliRunner().invoke(app, {[*base(files), '--format', 'csv']!r})\n"
        "assert r.exit_code == 0, r.output\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'sqlmodel', 'fastapi', 'starlette', 'uvicorn', 'psycopg', 'alembic'))\n"
        "assert 'scoring.tiers' in sys.modules\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def _jsonl(files: dict[str, Path], path: Path, shuffle: bool = False) -> Path:
    """The two JSON files as one JSON Lines file grouped by worker (as evaluate --out .jsonl)."""
    days = [d for p in (files["days"], files["days2"]) for d in json.loads(p.read_text())["days"]]
    days.sort(key=lambda d: (d["worker_id"], d["date"]))
    if shuffle:
        days = days[1:] + days[:1]  # the first worker's first day last: not grouped
    lines = [json.dumps({"jsonl": "gridpatrol-days", "profile": "yangkou-2022"})] + [json.dumps(d) for d in days]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_days_are_streamed_and_score_the_same(files, tmp_path) -> None:
    code, out, err = run(base(files))
    assert code == 0, err
    whole = json.loads(out)
    jl = _jsonl(files, tmp_path / "days.jsonl")
    code, out, err = run(["score", "--period", "2026Q1", "--days", str(jl), "--items", str(files["items"]),
                          "--roster", str(files["roster"])])
    assert code == 0, err
    streamed = json.loads(out)
    for a, b in zip(whole["sheets"], streamed["sheets"], strict=True):
        assert (a["subject_id"], a["total"], a["tier"], a["payout_total"], a["vetoed"]) == (
            b["subject_id"], b["total"], b["tier"], b["payout_total"], b["vetoed"])
        assert [i["points"] for i in a["items"]] == [i["points"] for i in b["items"]]
    bad = _jsonl(files, tmp_path / "bad.jsonl", shuffle=True)
    code, _, err = run(["score", "--period", "2026Q1", "--days", str(bad)])
    assert code == 2 and "grouped by worker" in err and "bad.jsonl: line" in err
