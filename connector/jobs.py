"""Scheduled jobs. Exactly one scheduler process runs them (never one per web worker)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.base import BaseScheduler

from connector.runtime import Runtime


@dataclass(frozen=True)
class Job:
    """A named job, its trigger arguments for APScheduler, and what it runs."""

    name: str
    run: Callable[[Runtime], dict[str, int]]
    trigger: str
    trigger_args: dict[str, Any]


JOBS: dict[str, Job] = {}


def schedule(scheduler: BaseScheduler, runtime: Runtime) -> None:
    """Add every job to ``scheduler``; a job never overlaps its own previous run."""
    for job in JOBS.values():
        scheduler.add_job(
            job.run,
            job.trigger,
            args=[runtime],
            id=job.name,
            name=job.name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=300,
            replace_existing=True,
            **job.trigger_args,
        )
