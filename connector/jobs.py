"""Scheduled jobs. Exactly one scheduler process runs them (never one per web worker).

An operator may also run a job by hand (``POST /admin/v1/jobs/{job}/run``, ``connector jobs
run``) while the scheduler runs the same job, so every job is safe to run twice at once: the
database refuses a second copy of a state push (its dedupe key) and a second open SYNC of a
reseller (its open-sync index), and the marketplace recognises a repeated report batch by
its batchId.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from connector import operations, pushes
from connector.errors import ConfigurationError
from connector.models import Operation
from connector.runtime import Runtime

log = logging.getLogger(__name__)

STATE_PUSH = "state-push"
REPORT_PUSH = "report-push"
NIGHTLY_SYNC = "nightly-sync"
SYNC = "SYNC"


@dataclass(frozen=True)
class Job:
    """A named job, its trigger arguments for APScheduler, and what it runs."""

    name: str
    run: Callable[[Runtime], dict[str, int]]
    trigger: str
    trigger_args: dict[str, Any]


def run(name: str, runtime: Runtime) -> dict[str, int]:
    """Run one job now, log what it did and return its counts."""
    started = time.monotonic()
    counts = JOBS[name].run(runtime)
    log.info("job %s done in %.1f s: %s", name, time.monotonic() - started, counts)
    return counts


def schedule(scheduler: BaseScheduler, runtime: Runtime) -> None:
    """Add every job to ``scheduler``; a job never overlaps its own previous run."""
    for job in JOBS.values():
        scheduler.add_job(
            run,
            job.trigger,
            args=[job.name, runtime],
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=300,
            replace_existing=True,
            **job.trigger_args,
        )


# -- state push ---------------------------------------------------------------------------------


def run_state_push(runtime: Runtime) -> dict[str, int]:
    """Queue an UpdateSubscription for every license that changed since its last accepted push."""
    counts = pushes.queue_state_pushes(runtime.sessions, now=runtime.clock.now())
    runtime.wakeup.notify()
    return counts


# -- report push --------------------------------------------------------------------------------


def run_report_push(runtime: Runtime) -> dict[str, int]:
    """Send every subscribed reseller's product report to the marketplace."""
    if runtime.marketplace is None:
        raise ConfigurationError(
            "CONNECTOR_MARKETPLACE_API_URL is not set: the report has nowhere to go."
        )
    with runtime.sessions() as session:
        resellers = pushes.subscribed_resellers(session)
    counts = dict.fromkeys(("resellers", "rows", "batches", "duplicates", "failed"), 0)
    for reseller in resellers:
        counts["resellers"] += 1
        try:
            sent = push_report(runtime, reseller.account_id)
        except Exception:  # one reseller's failure, whatever it is, must not cost the others
            log.exception("report push for reseller %s failed", reseller.account_id)
            counts["failed"] += 1
            continue
        for name, value in sent.items():
            counts[name] += value
    return counts


def push_report(runtime: Runtime, reseller_account_id: str) -> dict[str, int]:
    """Send one reseller's product report; return its rows, batches and duplicate batches."""
    # Read, then send: no transaction stays open while the marketplace answers.
    with runtime.sessions() as session:
        columns, rows = pushes.report_of(session, reseller_account_id, runtime.clock.today())
    result = runtime.marketplace.import_report_rows(reseller_account_id, columns, rows)
    return {"rows": len(rows), "batches": result.batches, "duplicates": result.duplicates}


# -- nightly sync -------------------------------------------------------------------------------


def run_nightly_sync(runtime: Runtime) -> dict[str, int]:
    """Queue a SYNC from ESET for every subscribed reseller that has none queued yet."""
    with runtime.sessions.begin() as session:
        queued = queue_syncs(session, now=runtime.clock.now())
    runtime.wakeup.notify()
    return {"queued": queued}


def queue_syncs(session: Session, *, now: datetime) -> int:
    """Queue the SYNCs in the caller's transaction; return how many were queued."""
    # A reseller whose SYNC is still open gets no second one (the open-sync index refuses
    # it), which also keeps two runs at once from syncing anybody twice.
    job_id = operations.request_resync(session, reseller_account_id=None, now=now)
    # request_resync names each SYNC it queues "resync:<jobId>:<reseller>".
    query = select(func.count()).where(
        Operation.action == SYNC, Operation.request_id.startswith(f"resync:{job_id}:")
    )
    return session.scalar(query) or 0


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(STATE_PUSH, run_state_push, "interval", {"minutes": 15, "timezone": UTC}),
        Job(NIGHTLY_SYNC, run_nightly_sync, "cron", {"hour": 1, "minute": 30, "timezone": UTC}),
        Job(REPORT_PUSH, run_report_push, "cron", {"hour": 2, "minute": 30, "timezone": UTC}),
    )
}
