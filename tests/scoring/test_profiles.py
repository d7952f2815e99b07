"""Rule profiles: packaged data files, schema validation with line + field, GeoParams."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from geo.types import GeoParams
from scoring.profiles import (
    PROFILE_DIR,
    SCHEMA_PATH,
    ProfileError,
    list_profiles,
    load_profile,
    parse_profile,
)

# Rule ids of shared/RULES.md, per profile (the detection rules GEO-* are shared by all).
GEO_IDS = {
    "GEO-CRS", "GEO-VALID", "GEO-INGRID", "GEO-STILL", "GEO-SPOOF", "GEO-OFFPOST",
    "GEO-CROSSPOST", "GEO-PHONEOFF", "GEO-DUTY", "GEO-SIGNIN",
}
RULE_IDS = {
    "yangkou-2022": {
        "YK-PATROL", "YK-PATROL-DURATION", "YK-PATROL-WINDOWS", "YK-PATROL-PERFORMED",
        "YK-DRESS", "YK-LOG", "YK-SIGNIN-PLACE", "YK-DAYS", "YK-SURVEY", "YK-SAFETY",
        "YK-HAZARD", "YK-CASE-SLA", "YK-ATT", "YK-BONUS", "YK-VETO", "YK-TIER",
        "YK-REWARD-PT", "YK-REWARD-FT", "YK-REWARD-HEAD", "YK-REWARD-ARTICLE",
    } | GEO_IDS,
    "quanshan-positioning": {"QS-POS", "QS-POS-COLLECTIVE", "QS-TERMINAL", "QS-YEAR"} | GEO_IDS,
    "ningbo-district": {"NB-HOURS", "NB-ONLINE", "NB-ARRIVE", "NB-VOLUME"} | GEO_IDS,
}
YANGKOU = (PROFILE_DIR / "yangkou-2022.yaml").read_text(encoding="utf-8")


def test_packaged_profiles_are_listed() -> None:
    assert list_profiles() == sorted(RULE_IDS)


@pytest.mark.parametrize("name", sorted(RULE_IDS))
def test_every_rule_id_of_rules_md_is_in_the_profile(name: str) -> None:
    profile = load_profile(name)
    assert profile.id == name
    assert set(profile.rules) == RULE_IDS[name]


@pytest.mark.parametrize("name", sorted(RULE_IDS))
def test_geo_params_complete(name: str) -> None:
    profile = load_profile(name)
    params = profile.geo_params()
    # the file states every GeoParams field (none left to a code default), and each one
    # reaches the GeoParams object with the file's value
    names = {f.name for f in dataclasses.fields(GeoParams)} - {"timezone"}
    assert set(profile.geo) == names
    for key in names:
        value = getattr(params, key)
        assert value is not None, key
        raw = profile.geo[key]
        if isinstance(raw, int | float):
            assert value == raw, key
    # every geo parameter a rule names exists
    for rule in load_profile(name).rules.values():
        for gp in rule.geo_params:
            assert hasattr(params, gp)


def test_yangkou_geo_params_are_the_rules_md_defaults() -> None:
    p = load_profile("yangkou-2022").geo_params()
    assert p.timezone == "Asia/Shanghai"
    assert (p.max_accuracy_m, p.max_future_s) == (100, 300)  # GEO-VALID
    assert (p.max_gap_s, p.max_speed_kmh, p.boundary_tolerance_m) == (300, 25, 20)  # GEO-INGRID
    assert (p.still_radius_m, p.still_max_s) == (50, 1200)  # GEO-STILL
    assert p.spike_speed_kmh == 150  # GEO-SPOOF
    assert (p.offpost_min_s, p.phoneoff_min_s) == (1800, 1800)  # GEO-OFFPOST, GEO-PHONEOFF
    assert p.duty_windows == (("08:00", "12:00"), ("14:00", "18:00"))  # GEO-DUTY
    assert p.working_days == "prc_workdays"  # YK-DAYS
    assert p.patrol_windows == {"am": ("06:00", "12:00"), "pm": ("12:00", "20:00")}
    assert p.required_patrol_s == {"head": 3600, "fulltime": 7200, "parttime": 3600}
    assert p.performed_min_in_grid_s == 600  # YK-PATROL-PERFORMED
    assert (p.signin_radius_m, p.signin_max_accuracy_m) == (150, 50)  # YK-SIGNIN-PLACE
    assert p.signin_roles == ("fulltime", "parttime")
    assert p.signin_deadline["parttime"] == "09:00"
    assert (p.online_window_s, p.arrive_radius_m) == (300, 50)


def test_ningbo_duty_hours() -> None:
    assert load_profile("ningbo-district").geo_params().duty_windows == (("08:00", "18:00"),)


def test_deduction_points_and_caps() -> None:
    yk = load_profile("yangkou-2022")
    patrol = yk.rules["YK-PATROL"]
    assert {t.fact: t.points for t in patrol.day} == {"patrol_missing": -0.5, "patrol_short": -1}
    assert (patrol.cap, patrol.cap_period) == (15, "quarter")
    assert (yk.rules["YK-LOG"].cap, yk.rules["YK-DRESS"].cap) == (3, 2)
    qs = load_profile("quanshan-positioning").rules["QS-POS"]
    assert (qs.cap, qs.cap_period) == (10, "month")
    assert {t.fact for t in qs.day} == {"offpost", "crosspost", "phone_off"}


def test_packaged_profiles_satisfy_the_json_schema_directly() -> None:
    import yaml

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    for path in sorted(PROFILE_DIR.glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text(encoding="utf-8")), schema)


def test_copied_profile_with_a_changed_number_loads_by_path(tmp_path: Path) -> None:
    text = YANGKOU.replace("max_gap_s: 300", "max_gap_s: 600").replace(
        "profile: yangkou-2022", "profile: yangkou-2022-test"
    )
    path = tmp_path / "my-town.yaml"
    path.write_text(text, encoding="utf-8")
    profile = load_profile(path)
    assert profile.id == "yangkou-2022-test"
    assert profile.geo_params().max_gap_s == 600
    assert profile.path == str(path)


def line_of(text: str, needle: str) -> int:
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


@pytest.mark.parametrize(
    ("old", "new", "marker", "field", "words"),
    [
        ("max_gap_s: 300", "max_gap_s: -3", "max_gap_s: -3", "geo.max_gap_s", "minimum"),
        ("max_gap_s: 300", "max_gap_s: five", "max_gap_s: five", "geo.max_gap_s", "not of type"),
        (
            "{fact: patrol_short, points: -1}", "{fact: patrol_shrt, points: -1}",
            "patrol_shrt", "rules.0.day.1.fact", "is not one of",
        ),
        (
            "{fact: patrol_missing, points: -0.5}", "{fact: patrol_missing}",
            "{fact: patrol_missing}", "rules.0.day.0.points", "required",
        ),
        (
            "{fact: patrol_missing, points: -0.5}", "{fact: patrol_missing, points: -0.5, pionts: 1}",
            "pionts", "rules.0.day.0.pionts", "unknown field",
        ),
        (
            'am: ["06:00", "12:00"]', 'am: ["13:00", "12:00"]', 'am: ["13:00"',
            "geo.patrol_windows.am", "not before",
        ),
        ('am: ["06:00", "12:00"]', 'am: ["6am", "12:00"]', '"6am"', "geo.patrol_windows.am.0", "match"),
        ("timezone: Asia/Shanghai", "timezone: Asia/Shanghia", "Shanghia", "timezone", "unknown time zone"),
        ("  - id: YK-DRESS", "  - id: YK-PATROL  # dup", "# dup", "rules.4.id", "already defined"),
        ("    geo_params: [required_patrol_s]", "    geo_params: [required_s]", "[required_s]",
         "rules.1.geo_params.0", "unknown geo parameter"),
        ("{fact: signin_late, points: -0.2, roles: [parttime]}",
         "{fact: signin_late, points: -0.2, roles: [intern]}", "[intern]", "rules.5.day.3.roles.0",
         "is not one of"),
        ("version: 1", "version: 1\nversion: 2", "version: 2", "version", "twice"),
        ("    cap_period: quarter\n    day:", "    cap_period: week\n    day:", "cap_period: week",
         "rules.0.cap_period", "is not one of"),
    ],
)
def test_bad_profile_is_refused_with_line_and_field(old, new, marker, field, words) -> None:
    assert old in YANGKOU
    text = YANGKOU.replace(old, new, 1)
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "town.yaml")
    err = info.value
    assert err.file == "town.yaml"
    assert err.field == field
    assert err.line == line_of(text, marker)
    assert words in err.message
    assert f"town.yaml, line {err.line}, field '{field}'" in str(err)


def test_misspelt_key_is_reported_as_unknown_on_its_line() -> None:
    text = YANGKOU.replace("  max_gap_s: 300 ", "  max_gapp_s: 300 ")
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "town.yaml")
    assert info.value.field == "geo.max_gapp_s"
    assert info.value.line == line_of(text, "max_gapp_s")
    assert "unknown field" in info.value.message


def test_missing_geo_parameter_names_the_parent_line_and_the_field() -> None:
    text = YANGKOU.replace("  still_max_s: 1200 ", "  # still_max_s removed ")
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "town.yaml")
    assert info.value.field == "geo.still_max_s"
    assert info.value.line == line_of(text, "max_accuracy_m")  # first line of the geo mapping


def test_yaml_syntax_error_has_a_line() -> None:
    with pytest.raises(ProfileError) as info:
        parse_profile("profile: x\nrules: [\n", "t.yaml")
    assert info.value.line is not None and "YAML" in info.value.message


def test_unknown_profile_name_lists_the_packaged_ones() -> None:
    with pytest.raises(ProfileError) as info:
        load_profile("yangkou-2099")
    assert "yangkou-2022" in info.value.message


def test_scoring_is_pure() -> None:
    code = (
        "import sys, scoring.profiles, scoring.day, scoring.totals; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'sqlmodel', 'fastapi', 'starlette', 'psycopg', 'checkins', 'server')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
