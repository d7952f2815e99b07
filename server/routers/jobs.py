"""``GET /api/jobs``: the scheduled jobs' recent runs, last success and last failure."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from server.deps import OfficeActor, SessionDep

router = APIRouter(tags=["jobs"])


@router.get("/api/jobs")
def jobs_status(session: SessionDep, request: Request, _actor: OfficeActor) -> dict[str, Any]:
    """Each job's state (ok / failed / running), its last runs and errors, the next runs."""
    from checkins.jobs.scheduled import job_status

    scheduler = getattr(request.app.state, "scheduler", None)
    nxt = {}
    if scheduler is not None:
        nxt = {j.id: j.next_run_time.isoformat() if j.next_run_time else None
               for j in scheduler.get_jobs()}
    jobs = job_status(session)
    for j in jobs:
        j["next_run_at"] = nxt.get(j["name"])
    known = {j["name"] for j in jobs}
    jobs += [{"name": n, "state": "never_run", "next_run_at": t, "runs": [],
              "last_success_at": None, "last_failure_at": None}
             for n, t in nxt.items() if n not in known]
    from checkins.db.backup import list_backups

    settings = request.app.state.settings
    folder = settings.resolved_backup_dir
    return {"scheduler": "running" if scheduler is not None else "off", "jobs": jobs,
            "backups": {"folder": str(folder), "keep": settings.backup_keep,
                        "at": settings.backup_at, "files": list_backups(folder)}}
