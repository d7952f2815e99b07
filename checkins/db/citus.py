"""The Citus plan: which table becomes what when one database no longer holds a province.

docs/scaling.md "Citus: the decisions, now". Every table of the models is in exactly one of
three lists (``tests/checkins/db/test_citus_keys.py`` checks that, so a new table has to be
placed):

* **distributed by** ``worker_id`` (the field-day tables, all co-located with ``position``:
  one worker's fixes, sign-ins, patrols, results and alerts live on one node); Citus
  requires ``worker_id`` in each of their primary keys, unique constraints and unique
  indexes, and in every foreign key between two of them (migration ``keys01``);
* **reference** tables, copied to every node: small, read everywhere, what the distributed
  tables' foreign keys point at;
* **local** tables that stay on the coordinator (accounts, sessions, jobs, audit, scores).

Nothing here runs on a plain PostgreSQL: :func:`distribution_sql` is the script the move
would run on the coordinator, once ``CREATE EXTENSION citus`` and the nodes are in place.
"""

from __future__ import annotations

from checkins.db.base import DISTRIBUTED_BY_WORKER

DISTRIBUTION_COLUMN = "worker_id"
ANCHOR = "position"
"""The table the other distributed tables are co-located with."""
DISTRIBUTED = DISTRIBUTED_BY_WORKER
REFERENCE = ("township", "village", "grid", "worker", "device", "grid_assignment")
LOCAL = ("office_user", "office_session", "audit_log", "mobile_account", "mobile_session",
         "refresh_token", "job_run", "job_lock", "entered_item", "period_result",
         "server_tick", "server_outage", "rate_bucket", "activation_code", "period_sum",
         "period_sum_state",
         # cases: tens a day per township, read by office and worker alike (a case has a
         # reporter and other workers' instructions), so not co-located with one worker
         "case_category", "case_record", "case_instruction")


def distribution_sql() -> list[str]:
    """The statements that make the schema a Citus one (reference tables first)."""
    out = [f"SELECT create_reference_table('{t}');" for t in REFERENCE]
    out.append(f"SELECT create_distributed_table('{ANCHOR}', '{DISTRIBUTION_COLUMN}');")
    out += [f"SELECT create_distributed_table('{t}', '{DISTRIBUTION_COLUMN}', "
            f"colocate_with => '{ANCHOR}');" for t in DISTRIBUTED if t != ANCHOR]
    return out
