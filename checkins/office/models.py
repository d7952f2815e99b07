"""Tables of office: the flag decisions (the table lives with the day results it changes,
:mod:`checkins.evaluation.models`; re-exported here, where the office writes it)."""

from __future__ import annotations

from checkins.evaluation.models import FLAG_DECISIONS, FLAG_KINDS, FlagDecision

__all__ = ["FLAG_DECISIONS", "FLAG_KINDS", "FlagDecision"]
