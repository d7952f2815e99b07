"""``gridpatrol evaluate --cases`` then ``gridpatrol score`` on the tiny township of
test_files_cli (w01 walks lon 120.405 from 08:00, one fix a minute, 0.0005 deg a step).

Hand-computed: an instruction at 09:00 to (120.405, 32.006). w01's fixes: 09:03 at 32.0065
(55.6 m: outside 50 m), 09:04 at 32.006 (0 m) -> arrival 09:04, 240 s, ok. A second one at
09:00 to g2's east side (120.418, 32.005): w01 never goes there -> none.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from server.commands.evaluate import register as register_evaluate
from server.commands.score import register as register_score
from tests.checkins.evaluation.test_files_cli import args_for, write_township


def app() -> typer.Typer:
    a = typer.Typer()

    @a.callback()
    def _root() -> None:
        """group"""

    register_evaluate(a)
    register_score(a)
    return a


CASES = """case_id,worker_id,kind,created_at,lon,lat,crs,category,valid,accepted_at,closed_at,complex
c1,w01,instruction,2026-03-02T09:00:00+08:00,120.405,32.006,wgs84,安全隐患,,2026-03-03T10:00:00+08:00,2026-03-07T09:00:00+08:00,false
c2,w01,instruction,2026-03-02T09:00:00+08:00,120.418,32.005,,设施损坏,,2026-03-02T10:00:00+08:00,2026-03-09T09:00:00+08:00,false
r1,w01,report,2026-03-02T10:00:00+08:00,120.405,32.004,,环境卫生,true,,,
r2,w01,report,2026-03-02T10:30:00+08:00,120.405,32.004,,其他,false,,,
r3,w02,report,2026-03-01T10:30:00+08:00,120.415,32.004,,其他,true,,,
"""


ROOT = Path(__file__).resolve().parents[3]


def test_evaluate_cases_then_score(tmp_path: Path) -> None:
    files = write_township(tmp_path)
    (tmp_path / "cases.csv").write_text(CASES, encoding="utf-8")
    out = tmp_path / "days.json"
    r = CliRunner().invoke(app(), [*args_for(files), "--cases", str(tmp_path / "cases.csv"),
                                   "--out", str(out)])
    assert r.exit_code == 0, r.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    day = {(d["worker_id"], d["date"]): d for d in doc["days"]}
    w01 = day[("w01", "2026-03-02")]
    c1, c2, r1, r2 = w01["cases"]
    assert (c1["case_id"], c1["arrived_at"], c1["arrival_s"], c1["arrival"]) == (
        "c1", "2026-03-02T09:04:00+08:00", 240, "ok")
    assert (c2["case_id"], c2["arrived_at"], c2["arrival"]) == ("c2", None, "none")
    assert [r1["case_id"], r2["case_id"]] == ["r1", "r2"]
    assert w01["reports"] | {} == {"rule": "NB-VOLUME", "total": 2, "valid": 1, "valid_case_ids": ["r1"],
                                   "grid_count": 2}
    assert day[("w02", "2026-03-01")]["reports"]["valid"] == 1  # a report is listed on its own day
    assert day[("w01", "2026-03-01")]["cases"] == []
    # YK-CASE-SLA from the records: c1 accepted in 25 h -> -0.5; c2 closed after 7 days -> -1
    # the township's profile opts into judging YK-CASE-SLA from the records (shipped: entered)
    yaml = (ROOT / "scoring" / "profiles" / "yangkou-2022.yaml").read_text(encoding="utf-8")
    head, sep, tail = yaml.partition("- id: YK-CASE-SLA")
    computed = tmp_path / "yangkou-computed.yaml"
    computed.write_text(head + sep + tail.replace("source: entered", "source: computed", 1),
                        encoding="utf-8")
    r = CliRunner().invoke(app(), ["score", "--period", "2026Q1", "--days", str(out),
                                   "--profile", str(computed)])
    assert r.exit_code == 0, r.stderr
    sheet = next(s for s in json.loads(r.stdout)["sheets"] if s["subject_id"] == "w01")
    sla = next(i for i in sheet["items"] if i["rule"] == "YK-CASE-SLA")
    assert sla["points"] == 8.5
    assert sorted((t["evidence"]["case_id"], t["points"]) for t in sla["trail"]) == [("c1", -0.5), ("c2", -1)]


def test_cases_csv_errors_name_line_and_column(tmp_path: Path) -> None:
    files = write_township(tmp_path)
    bad = CASES.replace("c2,w01,instruction", "c2,w01,order")
    (tmp_path / "cases.csv").write_text(bad, encoding="utf-8")
    r = CliRunner().invoke(app(), [*args_for(files), "--cases", str(tmp_path / "cases.csv")])
    assert r.exit_code == 2
    assert "cases.csv" in r.stderr and "line 3" in r.stderr and "kind" in r.stderr


def test_score_from_jsonl_judges_computed_case_rules_like_the_json(tmp_path: Path) -> None:
    """``score --days FILE.jsonl`` folds the case records into period sums (one worker at a
    time) and gives YK-CASE-SLA the points of the JSON: c1 accepted in 25 h -0.5, c2 -1."""
    files = write_township(tmp_path)
    (tmp_path / "cases.csv").write_text(CASES, encoding="utf-8")
    out = tmp_path / "days.json"
    r = CliRunner().invoke(app(), [*args_for(files), "--cases", str(tmp_path / "cases.csv"), "--out", str(out)])
    assert r.exit_code == 0, r.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    lines = tmp_path / "days.jsonl"
    lines.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n"
                             for d in sorted(doc["days"], key=lambda d: (d["worker_id"], d["date"]))),
                     encoding="utf-8")
    yaml = (ROOT / "scoring" / "profiles" / "yangkou-2022.yaml").read_text(encoding="utf-8")
    head, sep, tail = yaml.partition("- id: YK-CASE-SLA")
    computed = tmp_path / "yangkou-computed.yaml"
    computed.write_text(head + sep + tail.replace("source: entered", "source: computed", 1), encoding="utf-8")
    sheets = {}
    for days in (out, lines):
        r = CliRunner().invoke(app(), ["score", "--period", "2026Q1", "--days", str(days), "--profile", str(computed)])
        assert r.exit_code == 0, r.stderr
        sheets[days.suffix] = next(s for s in json.loads(r.stdout)["sheets"] if s["subject_id"] == "w01")
    sla = {k: next(i for i in s["items"] if i["rule"] == "YK-CASE-SLA") for k, s in sheets.items()}
    assert sla[".jsonl"]["points"] == sla[".json"]["points"] == 8.5
    (line,) = sla[".jsonl"]["trail"]  # from the sums: one line naming its cases
    assert line["evidence"]["case_ids"] == ["c1", "c2"] and line["points"] == -1.5
    assert sheets[".jsonl"]["total"] == sheets[".json"]["total"]
