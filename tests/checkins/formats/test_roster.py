"""checkins.formats.roster: rows, and errors naming file, line and column."""

from __future__ import annotations

import pytest

from checkins.formats.errors import FormatError
from checkins.formats.roster import check_references, read_roster
from tests.checkins.factories import ROSTER


def test_reads_rows():
    rows = read_roster(ROSTER.encode("utf-8-sig"), "roster.csv")
    assert [(r.line, r.worker_id, r.role, r.grid_id) for r in rows] == [
        (2, "w01", "head", "G1"), (3, "w02", "fulltime", "G2"), (4, "w03", "parttime", "G3"),
        (5, "w04", "parttime", None)]
    assert rows[0].name == "张三" and rows[0].phone == "13800000001" and rows[1].phone is None


@pytest.mark.parametrize(("text", "line", "field", "message"), [
    ("worker_id,name,grid_id,village_id\nw01,A,G1,V1\n", 1, "role", "missing column"),
    (ROSTER.replace("w02,李四,fulltime", "w02,李四,boss"), 3, "role", "unknown role 'boss'"),
    (ROSTER.replace("w03,王五", "w03,"), 4, "name", "missing value"),
    (ROSTER.replace("w03,王五", "w01,王五"), 4, "worker_id", "duplicate worker_id 'w01' (also "
                                                          "line 2)"),
    (ROSTER.replace(",G2,V1,", ",G2,,"), 3, "village_id", "missing value"),
    ("", 1, None, "empty file"),
])
def test_errors_name_line_and_column(text, line, field, message):
    with pytest.raises(FormatError) as e:
        read_roster(text.encode(), "roster.csv")
    assert (e.value.file, e.value.where, e.value.field) == ("roster.csv", line, field)
    assert message in e.value.message


def test_not_utf8_names_the_line():
    data = ROSTER.encode() + "w05,钱七,head,G1,V1,\n".encode("gbk")
    with pytest.raises(FormatError) as e:
        read_roster(data, "roster.csv")
    assert e.value.where == 6 and "UTF-8" in e.value.message


def test_unknown_grid_names_line_and_column():
    rows = read_roster(ROSTER.encode(), "roster.csv")
    with pytest.raises(FormatError) as e:
        check_references(rows, "roster.csv", {"G1", "G2"})
    assert (e.value.where, e.value.field) == (4, "grid_id")
    assert "unknown grid 'G3'" in e.value.message
    check_references(rows, "roster.csv", {"G1", "G2", "G3"})  # no error
