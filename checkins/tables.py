"""Every table of the application, for Alembic, the migrations check and tests.

Domains import their own and lower domains' ``models`` modules, never this one.
"""

from checkins.audit.models import AuditLog
from checkins.auth.models import (
                                  DEVICE_STATUSES,
                                  MOBILE_TABLES,
                                  OFFICE_ROLES,
                                  ActivationCode,
                                  Device,
                                  MobileAccount,
                                  MobileSession,
                                  OfficeSession,
                                  OfficeUser,
                                  RateBucket,
                                  RefreshToken,
)
from checkins.cases.models import (
                                  CASE_STATUSES,
                                  INSTRUCTION_STATUSES,
                                  Case,
                                  CaseCategory,
                                  CaseInstruction,
)
from checkins.db.base import (
                                  DATUMS,
                                  DISTRIBUTED_BY_WORKER,
                                  NAMING_CONVENTION,
                                  SQLITE_ROWID,
                                  metadata,
)
from checkins.evaluation.models import (
    FLAG_DECISIONS,
    FLAG_KINDS,
    DayResult,
    FlagDecision,
    PeriodSum,
    PeriodSumState,
)
from checkins.field.models import (
                                  EXEMPTION_KINDS,
                                  EXEMPTION_STATUSES,
                                  Exemption,
                                  PatrolLog,
                                  PatrolSession,
                                  Signin,
)
from checkins.jobs.models import ALERT_KINDS, ALERT_STATUSES, JOBS_TABLES, Alert, JobLock, JobRun
from checkins.outages.models import OUTAGE_CAUSES, OUTAGE_TABLES, ServerOutage, ServerTick
from checkins.positions.models import POSITION_KINDS, DeviceSeqRun, LiveState, Position
from checkins.scores.models import PERIOD_STATUSES, EnteredItem, PeriodResult
from checkins.township.models import ROLES, Grid, GridAssignment, Township, Village, Worker

__all__ = [
    "ALERT_KINDS", "ALERT_STATUSES", "CASE_STATUSES", "INSTRUCTION_STATUSES", "Case",
    "CaseCategory", "CaseInstruction", "DATUMS", "DEVICE_STATUSES", "DISTRIBUTED_BY_WORKER",
    "EXEMPTION_KINDS", "EXEMPTION_STATUSES", "FLAG_DECISIONS", "FLAG_KINDS", "JOBS_TABLES",
    "MOBILE_TABLES", "NAMING_CONVENTION", "OFFICE_ROLES", "OUTAGE_CAUSES", "OUTAGE_TABLES",
    "PERIOD_STATUSES", "POSITION_KINDS", "ROLES", "SQLITE_ROWID", "Alert", "AuditLog",
    "DayResult", "Device", "DeviceSeqRun", "LiveState", "EnteredItem", "Exemption", "FlagDecision", "Grid",
    "ActivationCode", "GridAssignment", "JobLock", "JobRun", "MobileAccount", "MobileSession",
    "OfficeSession", "OfficeUser", "PatrolLog", "PatrolSession", "PeriodResult", "PeriodSum",
    "PeriodSumState", "Position", "RateBucket",
    "RefreshToken", "ServerOutage", "ServerTick", "Signin", "Township", "Village", "Worker",
    "metadata",
]
