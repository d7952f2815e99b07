"""Rule profiles: versioned YAML data files, validated against ``profile.schema.json``.

A profile states the subjects, periods, the detection parameters handed to the geo engine
(``geo``, every :class:`geo.types.GeoParams` field) and the rule items with their points and
caps (扣完为止). Packaged profiles live in ``scoring/profiles/``; a township copies one, changes
a number and passes the path instead of the name. A bad profile is refused with
:class:`ProfileError` naming the file, the line and the field.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from geo.types import GeoParams

PROFILE_DIR = Path(__file__).with_name("profiles")
SCHEMA_PATH = Path(__file__).with_name("profile.schema.json")
DEFAULT_PROFILE = "yangkou-2022"


class ProfileError(ValueError):
    """A profile that cannot be used: names the file, the line (1-based) and the field."""

    def __init__(self, file: str, line: int | None, field: str | None, message: str):
        self.file, self.line, self.field, self.message = file, line, field, message
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.field:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts) + ": " + self.message


@dataclass(frozen=True)
class DayTrigger:
    """One day fact (``fact``, see ``scoring.day.TRIGGERS``) worth ``points`` per occurrence."""

    fact: str
    points: float
    roles: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Rule:
    """A rule item of a profile, under its RULES.md id."""

    id: str
    title: str
    kind: str
    source: str
    points: float | None = None
    cap: float | None = None
    cap_period: str | None = None
    day: tuple[DayTrigger, ...] = ()
    entered: tuple[Mapping[str, Any], ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    geo_params: tuple[str, ...] = ()
    counts_in: str | None = None
    part: str | None = None

    def entered_item(self, code: str) -> Mapping[str, Any] | None:
        """The ``entered`` definition of item ``code`` under this rule, if any."""
        for e in self.entered:
            if e["item"] == code:
                return e
        return None


@dataclass(frozen=True)
class Profile:
    """A loaded, validated rule profile."""

    id: str
    version: int
    title: str
    timezone: str
    subjects: tuple[str, ...]
    roles: tuple[str, ...]
    periods: tuple[str, ...]
    geo: Mapping[str, Any]
    rules: Mapping[str, Rule]
    path: str
    data: Mapping[str, Any]
    period_scores: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    full_score: float | None = None
    reasons: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def reason(self, key: str, **fields: Any) -> str:
        """The reason template ``key`` (profile's own wording, else scoring/words.zh-CN.yaml) filled in."""
        return self.reasons[key].format(**fields)

    def note(self, key: str, **fields: Any) -> str:
        """A period or tier note template (``notes`` of scoring/words.zh-CN.yaml) filled in."""
        return note(key, **fields)

    def label(self, table: str, value: str) -> str:
        """The user's word for a code (``label("spoof", "mock_location")`` -> 模拟定位)."""
        return self.labels.get(table, {}).get(value, value)

    def rules_of_kind(self, *kinds: str) -> list[Rule]:
        """The rules of the given kinds, in profile order."""
        return [r for r in self.rules.values() if r.kind in kinds]

    def geo_params(self) -> GeoParams:
        """The detection parameters for ``geo.engine`` (timezone from the profile).

        Every ``GeoParams`` field present under ``geo`` is passed; a field the file omits
        keeps its dataclass default (only fields that have one may be omitted: the schema).
        """
        kwargs: dict[str, Any] = {"timezone": self.timezone}
        for f in dataclasses.fields(GeoParams):
            if f.name != "timezone" and f.name in self.geo:
                kwargs[f.name] = _GEO_CONVERT.get(f.name, float)(self.geo[f.name])
        return GeoParams(**kwargs)

    def day_rules(self) -> list[Rule]:
        """The rules that take points from day results (those with ``day`` triggers)."""
        return [r for r in self.rules.values() if r.day]


_GEO_CONVERT: dict[str, Any] = {
    "frozen_min_count": int,
    "constant_accuracy_min_count": int,
    "constant_accuracy_ios_values_m": lambda v: tuple(float(x) for x in v),
    "duty_windows": lambda v: tuple((str(a), str(b)) for a, b in v),
    "working_days": str,
    "patrol_windows": lambda v: {k: (str(w[0]), str(w[1])) for k, w in v.items()},
    "required_patrol_s": lambda v: {k: float(x) for k, x in v.items()},
    "signin_roles": lambda v: tuple(str(x) for x in v),
    "signin_deadline": lambda v: {k: (None if x is None else str(x)) for k, x in v.items()},
    "calendar_overrides": lambda v: {str(k): bool(x) for k, x in v.items()},
}


# ----------------------------------------------------------------------------- listing
def list_profiles() -> list[str]:
    """Names of the packaged profiles."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def profile_path(name_or_path: str | os.PathLike[str]) -> Path:
    """Resolve a packaged profile name or a file path to a path."""
    text = os.fspath(name_or_path)
    candidate = Path(text)
    if candidate.suffix in (".yaml", ".yml") or candidate.exists() or os.sep in text:
        return candidate
    return PROFILE_DIR / f"{text}.yaml"


# ----------------------------------------------------------------------------- loading
@cache
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _line_of(node: yaml.Node | None, path: list[Any], *, key: bool = False) -> int | None:
    """Line (1-based) of the node at ``path``; with ``key`` the line of the last key itself."""
    if node is None:
        return None
    current: yaml.Node = node
    for i, step in enumerate(path):
        last = i == len(path) - 1
        if isinstance(current, yaml.MappingNode):
            for k, v in current.value:
                if k.value == str(step):
                    if last and key:
                        return k.start_mark.line + 1
                    current = v
                    break
            else:
                return current.start_mark.line + 1
        elif isinstance(current, yaml.SequenceNode) and isinstance(step, int):
            if step >= len(current.value):
                return current.start_mark.line + 1
            current = current.value[step]
        else:
            return current.start_mark.line + 1
    return current.start_mark.line + 1


def _check_duplicate_keys(node: yaml.Node | None, name: str, path: str = "") -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            if k.value in seen:
                raise ProfileError(
                    name, k.start_mark.line + 1, f"{path}{k.value}", "key appears twice"
                )
            seen.add(k.value)
            _check_duplicate_keys(v, name, f"{path}{k.value}.")
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _check_duplicate_keys(v, name, f"{path}{i}.")


def _dotted(path: list[Any]) -> str:
    return ".".join(str(p) for p in path)


def _schema_error(err: Any, node: yaml.Node | None, name: str) -> ProfileError:
    path = list(err.absolute_path)
    if err.validator == "required":
        missing = [p for p in err.validator_value if p not in (err.instance or {})]
        field = _dotted([*path, missing[0]]) if missing else _dotted(path)
        return ProfileError(name, _line_of(node, path), field, f"'{missing[0]}' is required")
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in allowed]
        if extra:
            return ProfileError(
                name, _line_of(node, [*path, extra[0]], key=True), _dotted([*path, extra[0]]),
                f"unknown field '{extra[0]}'",
            )
    if err.validator == "dependentRequired":
        return ProfileError(name, _line_of(node, path), _dotted(path), err.message)
    return ProfileError(name, _line_of(node, path), _dotted(path) or None, err.message)


def _hhmm_s(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 3600 + int(m) * 60


def _semantic_checks(data: dict[str, Any], node: yaml.Node | None, name: str) -> None:
    def fail(path: list[Any], message: str) -> ProfileError:
        return ProfileError(name, _line_of(node, path), _dotted(path), message)

    try:
        ZoneInfo(data["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        raise fail(["timezone"], f"unknown time zone {data['timezone']!r}") from None
    geo = data["geo"]
    windows = [(["geo", "duty_windows", i], w) for i, w in enumerate(geo["duty_windows"])]
    windows += [(["geo", "patrol_windows", k], w) for k, w in geo["patrol_windows"].items()]
    for path, (start, end) in windows:
        if _hhmm_s(start) >= _hhmm_s(end):
            raise fail(path, f"window start {start} is not before its end {end}")
    geo_names = {f.name for f in dataclasses.fields(GeoParams)}
    seen: dict[str, int] = {}
    for i, rule in enumerate(data["rules"]):
        rid = rule["id"]
        if rid in seen:
            raise fail(["rules", i, "id"], f"rule id {rid} already defined (rules item {seen[rid]})")
        seen[rid] = i
        for j, gp in enumerate(rule.get("geo_params", [])):
            if gp not in geo_names:
                raise fail(["rules", i, "geo_params", j], f"unknown geo parameter {gp!r}")
        if rule.get("cap_period") and rule["cap_period"] not in data["periods"]:
            raise fail(
                ["rules", i, "cap_period"],
                f"cap_period {rule['cap_period']!r} is not one of the profile's periods",
            )
        for j, trig in enumerate(rule.get("day", [])):
            if "statuses" in trig and trig["fact"] != "patrol_log_missing":
                raise fail(["rules", i, "day", j, "statuses"], "statuses applies to patrol_log_missing only")
            for role in trig.get("roles", []):
                if role not in data["roles"]:
                    raise fail(["rules", i, "day", j, "roles"], f"role {role!r} not in the profile's roles")


_PERIOD_ORDER = {"month": 1, "quarter": 2, "year": 3}


def _scoring_checks(data: dict[str, Any], node: yaml.Node | None, name: str) -> None:
    """Cross-checks of the scoring sections: periods, counts_in, tiers, formulas."""

    def fail(path: list[Any], message: str) -> ProfileError:
        return ProfileError(name, _line_of(node, path), _dotted(path), message)

    rules = {r["id"]: r for r in data["rules"]}
    periods = data["periods"]
    for period in periods:
        if period not in data["period_scores"]:
            raise fail(["period_scores"], f"period {period!r} of 'periods' has no entry here")
    for period, spec in data["period_scores"].items():
        if period not in periods:
            raise fail(["period_scores", period], f"{period!r} is not one of the profile's periods")
        sub = spec.get("of")
        if spec["method"] == "mean":
            if sub not in periods or _PERIOD_ORDER[sub] >= _PERIOD_ORDER[period]:
                raise fail(["period_scores", period, "of"], f"{sub!r} must be a shorter period of the profile")
        if spec["method"] == "formula":
            rid = spec["rule"]
            if rid not in rules or rules[rid]["kind"] != "formula":
                raise fail(["period_scores", period, "rule"], f"{rid!r} is not a rule of kind formula")
    for i, rule in enumerate(data["rules"]):
        target = rule.get("counts_in")
        if target is not None and (target not in rules or "points" not in rules[target]):
            raise fail(["rules", i, "counts_in"], f"{target!r} is not a rule with points")
        params = rule.get("params", {})
        if rule["kind"] == "tier":
            total = sum(params["shares"].values())
            if abs(total - 1) > 1e-9:
                raise fail(["rules", i, "params", "shares"], f"shares add up to {round(total, 6)}, not 1")
            for j, tb in enumerate(params["tie_breaks"]):
                if tb != "worker_id" and tb not in rules:
                    raise fail(["rules", i, "params", "tie_breaks", j], f"{tb!r} is neither a rule id nor worker_id")
            for j, role in enumerate(params["roles"]):
                if role not in data["roles"]:
                    raise fail(["rules", i, "params", "roles", j], f"role {role!r} not in the profile's roles")
            if params["period"] not in periods:
                raise fail(["rules", i, "params", "period"], f"{params['period']!r} is not one of the profile's periods")
        if rule["kind"] == "rate" and params.get("measure") == "survey_tiers":
            mins = [t["min_rate"] for t in params["tiers"]]
            if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
                raise fail(["rules", i, "params", "tiers"], "tiers must go from the highest min_rate down, each once")
            if mins[-1] != 0:
                raise fail(["rules", i, "params", "tiers"], "the last tier must have min_rate 0 (every rate gets a tier)")
        if rule["kind"] == "rate" and params.get("measure") in ("online_rate", "daily_volume_ratio"):
            if params["zero_below"] > params["min_rate"]:
                raise fail(["rules", i, "params", "zero_below"], "zero_below is above min_rate")
        seen_items: set[str] = set()
        for j, e in enumerate(rule.get("entered", [])):
            if e["item"] in seen_items:
                raise fail(["rules", i, "entered", j, "item"], f"item {e['item']!r} listed twice")
            seen_items.add(e["item"])


def _build(data: dict[str, Any], path: str) -> Profile:
    rules: dict[str, Rule] = {}
    for r in data["rules"]:
        rules[r["id"]] = Rule(
            id=r["id"],
            title=r["title"],
            kind=r["kind"],
            source=r["source"],
            points=r.get("points"),
            cap=r.get("cap"),
            cap_period=r.get("cap_period"),
            day=tuple(
                DayTrigger(
                    fact=t["fact"],
                    points=float(t["points"]),
                    roles=tuple(t["roles"]) if "roles" in t else None,
                    statuses=tuple(t["statuses"]) if "statuses" in t else None,
                )
                for t in r.get("day", [])
            ),
            entered=tuple(r.get("entered", [])),
            params=r.get("params", {}),
            geo_params=tuple(r.get("geo_params", [])),
            counts_in=r.get("counts_in"),
            part=r.get("part"),
        )
    return Profile(
        id=data["profile"],
        version=int(data["version"]),
        title=data["title"],
        timezone=data["timezone"],
        subjects=tuple(data["subjects"]),
        roles=tuple(data["roles"]),
        periods=tuple(data["periods"]),
        geo=data["geo"],
        rules=rules,
        path=path,
        data=data,
        period_scores=data["period_scores"],
        full_score=data.get("full_score"),
        reasons={**default_words()["reasons"], **data.get("reasons", {})},
        labels={k: {**v, **data.get("labels", {}).get(k, {})}
                for k, v in default_words()["labels"].items()}
        | {k: v for k, v in data.get("labels", {}).items() if k not in default_words()["labels"]},
    )


WORDS_FILE = Path(__file__).parent / "words.zh-CN.yaml"


@cache
def default_words() -> dict[str, Any]:
    """The default words users read (``scoring/words.zh-CN.yaml``): reason templates
    and label tables; a profile overrides entries under its own ``reasons``/``labels``."""
    return yaml.safe_load(WORDS_FILE.read_text(encoding="utf-8"))


def parse_profile(text: str, name: str = "<profile>") -> Profile:
    """Validate and build a profile from YAML text; raise ``ProfileError`` if it is bad."""
    import jsonschema

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ProfileError(name, line, None, f"not valid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ProfileError(name, None, None, f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ProfileError(name, 1, None, "a profile is a YAML mapping (profile:, geo:, rules: ...)")
    _check_duplicate_keys(node, name)
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        # a misspelt key gives "unknown field" and "required" errors: the unknown field, on
        # its own line, is the more useful one to show
        unknown = [e for e in errors if e.validator == "additionalProperties"]
        best = unknown[0] if unknown else jsonschema.exceptions.best_match(errors)
        raise _schema_error(best, node, name)
    _semantic_checks(data, node, name)
    _scoring_checks(data, node, name)
    return _build(data, name)


def load_profile(name_or_path: str | os.PathLike[str] = DEFAULT_PROFILE) -> Profile:
    """Load a packaged profile by name (``yangkou-2022``) or a profile file by path."""
    path = profile_path(name_or_path)
    if not path.exists():
        known = ", ".join(list_profiles())
        raise ProfileError(
            os.fspath(name_or_path), None, None, f"no such profile file or name (packaged: {known})"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(os.fspath(path), None, None, f"cannot read: {exc}") from None
    return parse_profile(text, os.fspath(path))


def note(key: str, **fields: Any) -> str:
    """A period or tier note template (``notes`` of scoring/words.zh-CN.yaml) filled in."""
    return str(default_words()["notes"][key]).format(**fields)


def with_sources(profile: Profile, sources: Mapping[str, str]) -> Profile:
    """The profile with some rules' ``source`` changed (e.g. ``{"NB-ARRIVE": "entered"}``: a
    township that runs its cases in another system and types in the counts)."""
    rules = dict(profile.rules)
    for rid, src in sources.items():
        rules[rid] = replace(rules[rid], source=src)
    return replace(profile, rules=rules)
