"""Upload completeness per worker, for offices: lost batches vs phones that sent nothing.

Every item a phone creates gets the next per-device ``seq``; the server records the runs it
received (``device_seq_run``, :mod:`checkins.positions.ingest`). A gap between the first and the last
seq received is data the phone created and the server never got (a lost or still-buffered
upload); a phone that created nothing leaves no gap, only silence. A loss at the very end
of a phone's data shows once the phone sends anything again (its next seq).

The seq is the phone's word: a gap wider than :data:`MAX_PLAUSIBLE_GAP` is not counted as
missing items (no phone creates that many between two uploads it keeps); it is reported as
a sequence jump (序号跳变: a reset counter, a reinstalled or tampered app) with its width.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from checkins.auth.models import Device
from checkins.positions.ingest import SeqGap, seq_gaps
from checkins.positions.models import DeviceSeqRun

NO_UPLOADS = "no_uploads"  # no phone of the worker ever sent an item
COMPLETE = "complete"  # every seq between the first and the last received is there
MISSING = "missing_uploads"  # gaps: created on a phone, never received
SEQ_JUMP = "seq_jump"  # no plausible gap, but a jump in the seq too wide to be lost data
# one item every 10 s for a week (60,480) and then some: a gap wider than this is not data
# a phone created and lost, whatever the seq says
MAX_PLAUSIBLE_GAP = 100_000


@dataclass
class UploadStatus:
    """What the server received from one worker's phones."""

    worker_id: str
    status: str
    received_items: int = 0
    missing_items: int = 0
    last_seq: int | None = None
    last_received_at: dt.datetime | None = None
    gaps: list[SeqGap] = field(default_factory=list)
    jumps: list[SeqGap] = field(default_factory=list)  # gaps wider than MAX_PLAUSIBLE_GAP


def upload_status(session: Session, worker_ids: Sequence[str]) -> dict[str, UploadStatus]:
    """Per worker: ``no_uploads``, ``complete``, ``missing_uploads`` (with the gaps) or
    ``seq_jump`` (only implausibly wide gaps, in ``jumps``, not counted as missing)."""
    out = {w: UploadStatus(w, NO_UPLOADS) for w in worker_ids}
    if not worker_ids:
        return out
    rows = session.execute(
        sa.select(Device.worker_id, DeviceSeqRun.device_id,
                  sa.func.sum(DeviceSeqRun.seq_to - DeviceSeqRun.seq_from + 1),
                  sa.func.max(DeviceSeqRun.seq_to), sa.func.max(DeviceSeqRun.received_at))
        .join(Device, Device.id == DeviceSeqRun.device_id)
        .where(Device.worker_id.in_(list(worker_ids)))
        .group_by(Device.worker_id, DeviceSeqRun.device_id)
        .order_by(DeviceSeqRun.device_id)
    ).all()
    for worker_id, device_id, n_runs_items, last_seq, last_at in rows:
        st = out[worker_id]
        for g in seq_gaps(session, device_id):
            (st.jumps if g.count > MAX_PLAUSIBLE_GAP else st.gaps).append(g)
        st.missing_items = sum(g.count for g in st.gaps)
        st.received_items += int(n_runs_items or 0)
        st.last_seq = last_seq if st.last_seq is None else max(st.last_seq, last_seq)
        if last_at is not None and (st.last_received_at is None or last_at > st.last_received_at):
            st.last_received_at = last_at
        st.status = MISSING if st.missing_items else SEQ_JUMP if st.jumps else COMPLETE
    return out
