"""The ``connector`` command: serve, worker, scheduler, all, report, db upgrade."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from connector import migrate, operations
from connector.errors import ConfigurationError
from connector.models import OperationStatus
from connector.runtime import Runtime
from connector.settings import Settings, SettingsError

log = logging.getLogger("connector")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``connector`` command line."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("CONNECTOR_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(threadName)s: %(message)s",
    )
    try:
        settings = Settings.from_env(os.environ)
        result: int = args.run(settings, args)
        return result
    except (SettingsError, ConfigurationError) as error:
        print(f"connector: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connector", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="the HTTP API (gunicorn)")
    _address(serve)
    serve.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 2)))
    serve.set_defaults(run=run_serve)

    worker = commands.add_parser("worker", help="run operations and deliver the outbox")
    worker.add_argument("--threads", type=int, default=2, help="operation threads")
    worker.add_argument("--outbox-threads", type=int, default=4, help="delivery threads")
    worker.set_defaults(run=run_worker)

    scheduler = commands.add_parser("scheduler", help="the scheduled jobs")
    scheduler.set_defaults(run=run_scheduler)

    everything = commands.add_parser("all", help="API, worker and scheduler in one process")
    _address(everything)
    everything.set_defaults(run=run_all)

    report = commands.add_parser("report", help="write a reseller's ESET product report")
    report.add_argument("--reseller", required=True, metavar="ID", help="reseller account id")
    report.add_argument("--format", choices=("json", "csv", "xlsx"), default="xlsx")
    report.add_argument("-o", "--output", required=True, metavar="FILE", help="file to write")
    report.set_defaults(run=run_report)

    _admin_commands(commands)

    job = commands.add_parser("jobs", help="scheduled jobs").add_subparsers(
        required=True, metavar="COMMAND"
    )
    job_run = job.add_parser("run", help="run a scheduled job now and print its counts")
    job_run.add_argument("name", metavar="NAME", help="state-push, report-push or nightly-sync")
    job_run.set_defaults(run=run_job)

    send = commands.add_parser("send", help="post a signed event file, as the marketplace does")
    send.add_argument("file", help="an event body, e.g. schemas/events/SUBSCRIBE.example.json")
    send.add_argument("--url", default="http://127.0.0.1:8080", help="the connector's base URL")
    send.add_argument(
        "--sandbox-callback",
        action="store_true",
        help="send the callback to the embedded marketplace sandbox's receiver",
    )
    send.set_defaults(run=run_send)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(required=True, metavar="COMMAND")
    db_commands.add_parser("upgrade", help="create or migrate the schema").set_defaults(
        run=run_db_upgrade
    )
    return parser


def _address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8080)))


def run_db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    runtime = Runtime.build(settings)
    migrate.upgrade(runtime.engine)
    log.info("schema is at the newest revision")
    runtime.close()
    return 0


def run_report(settings: Settings, args: argparse.Namespace) -> int:
    """Write a reseller's ESET product report to a file."""
    from connector import reports

    runtime = Runtime.build(settings)
    # Written beside the target and moved into place, so a failure never leaves half a file.
    partial = f"{args.output}.partial"
    try:
        with runtime.sessions() as session, open(partial, "wb") as out:
            columns, rows = reports.report_rows(session, args.reseller, runtime.clock.today())
            count = reports.write(args.format, columns, rows, out)
        os.replace(partial, args.output)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
        runtime.close()
    log.info("wrote %d report rows of reseller %s to %s", count, args.reseller, args.output)
    return 0


def run_serve(settings: Settings, args: argparse.Namespace) -> int:
    from gunicorn.app.base import BaseApplication

    from connector.app import create_app

    _require_secrets(settings)

    class Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 4)

        def load(self) -> Any:
            return create_app(settings)

    Gunicorn().run()
    return 0


def run_worker(settings: Settings, args: argparse.Namespace) -> int:
    from connector.wakeup import PostgresListener
    from connector.worker import Worker

    if not settings.callback_secret:
        raise ConfigurationError(
            "CONNECTOR_CALLBACK_SECRET is not set: callbacks could not be signed."
        )
    runtime = _runtime(settings)
    stop = _stop_on_signals()
    if runtime.engine.dialect.name == "postgresql":
        PostgresListener(runtime.engine, runtime.wakeup, stop).start()
    threads = Worker(runtime).start(
        stop, operation_threads=args.threads, outbox_threads=args.outbox_threads
    )
    log.info("worker running (%d operation threads)", args.threads)
    for thread in threads:
        thread.join()
    runtime.close()
    return 0


def run_scheduler(settings: Settings, _args: argparse.Namespace) -> int:
    from apscheduler.schedulers.blocking import BlockingScheduler

    from connector import jobs

    runtime = _runtime(settings)
    scheduler = BlockingScheduler(timezone=UTC)
    jobs.schedule(scheduler, runtime)
    log.info("scheduler running %d jobs", len(jobs.JOBS))
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: scheduler.shutdown(wait=False))
    scheduler.start()
    runtime.close()
    return 0


def run_job(settings: Settings, args: argparse.Namespace) -> int:
    """Run one scheduled job now and print its counts as JSON."""
    from connector import jobs  # the report push brings openpyxl: only load it when asked

    if args.name not in jobs.JOBS:
        print(f"connector: no job {args.name}; one of {', '.join(jobs.JOBS)}", file=sys.stderr)
        return 2
    runtime = Runtime.build(settings)
    try:
        counts = jobs.run(args.name, runtime)
    finally:
        runtime.close()
    _print_json(counts)
    return 0


def run_all(settings: Settings, args: argparse.Namespace) -> int:
    from connector.embedded import run_embedded

    return run_embedded(settings, host=args.host, port=args.port)


CLI_ACTOR = "admin:cli"
REASON_LENGTH = 500
Write = Callable[[Session, datetime], dict[str, Any]]
_TABLE = (
    ("OPERATION", "operationId"),
    ("ACTION", "action"),
    ("STATUS", "status"),
    ("RESELLER", "resellerAccountId"),
    ("SUBSCRIPTION", "subscriptionAccountId"),
    ("ATTEMPTS", "attempts"),
    ("UPDATED", "updatedAt"),
    ("DETAILS", "errorDetails"),
)


def _admin_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    verbs = commands.add_parser(
        "operations", help="list operations; approve, reject or retry one"
    ).add_subparsers(required=True, metavar="COMMAND")
    listing = verbs.add_parser("list", help="operations, newest first")
    listing.add_argument("--status", choices=OperationStatus.ALL)
    listing.add_argument("--reseller", metavar="ID", help="only this reseller's operations")
    listing.add_argument("--limit", type=_positive, default=50)
    listing.add_argument("--json", action="store_true", help="one JSON object a line")
    listing.set_defaults(run=run_operations_list)
    approve = verbs.add_parser("approve", help="approve an order's proof; a worker places it")
    approve.add_argument("operation_id", metavar="ID")
    approve.set_defaults(run=run_operations_approve)
    reject = verbs.add_parser("reject", help="reject an order's proof; the operation fails")
    reject.add_argument("operation_id", metavar="ID")
    reject.add_argument("--reason", required=True, type=_reason, help="told to the marketplace")
    reject.set_defaults(run=run_operations_reject)
    retry = verbs.add_parser("retry", help="run a failed operation again")
    retry.add_argument("operation_id", metavar="ID")
    retry.set_defaults(run=run_operations_retry)
    resync = commands.add_parser("resync", help="sync one or every subscribed reseller from ESET")
    resync.add_argument("--reseller", metavar="ID", help="only this reseller")
    resync.set_defaults(run=run_resync)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("a whole number of at least 1 is needed")
    return int(text)


def _reason(text: str) -> str:
    if not text.strip() or len(text) > REASON_LENGTH:
        raise argparse.ArgumentTypeError(f"a reason of 1 to {REASON_LENGTH} characters is needed")
    return text


def run_operations_list(settings: Settings, args: argparse.Namespace) -> int:
    """Print operations newest first, as a table or as JSON lines."""
    runtime = Runtime.build(settings)
    try:
        with runtime.sessions() as session:
            found = operations.list_operations(
                session, args.status, reseller_account_id=args.reseller, limit=args.limit
            )
            views = [operations.describe_for_admin(operation) for operation in found]
    finally:
        runtime.close()
    if args.json:
        for view in views:
            _print_json(view)
    else:
        print(_table(views))
    return 0


def run_operations_approve(settings: Settings, args: argparse.Namespace) -> int:
    """Approve an order's proof, so a worker places the order."""
    return _admin_write(
        settings,
        lambda session, now: operations.describe_for_admin(
            operations.approve(session, args.operation_id, actor=CLI_ACTOR, now=now)
        ),
    )


def run_operations_reject(settings: Settings, args: argparse.Namespace) -> int:
    """Reject an order's proof: the operation fails and the marketplace is told why."""
    return _admin_write(
        settings,
        lambda session, now: operations.describe_for_admin(
            operations.reject(session, args.operation_id, args.reason, actor=CLI_ACTOR, now=now)
        ),
    )


def run_operations_retry(settings: Settings, args: argparse.Namespace) -> int:
    """Run a failed operation again under its own id, so ESET never orders twice."""
    return _admin_write(
        settings,
        lambda session, now: operations.describe_for_admin(
            operations.retry(session, args.operation_id, actor=CLI_ACTOR, now=now)
        ),
    )


def run_resync(settings: Settings, args: argparse.Namespace) -> int:
    """Queue a sync from ESET for one subscribed reseller, or for every one."""
    return _admin_write(
        settings,
        lambda session, now: {
            "jobId": operations.request_resync(session, reseller_account_id=args.reseller, now=now)
        },
    )


def _admin_write(settings: Settings, write: Write) -> int:
    # Only the database is written; a running worker hears of it through announce() on
    # PostgreSQL, or finds it on its next poll on SQLite.
    runtime = Runtime.build(settings)
    try:
        with runtime.sessions.begin() as session:
            result = write(session, runtime.clock.now())
    except (operations.NotFound, operations.InvalidState) as error:
        print(f"connector: {error}", file=sys.stderr)
        return 1
    finally:
        runtime.close()
    _print_json(result)
    return 0


def _print_json(value: dict[str, Any]) -> None:
    print(json.dumps(value, ensure_ascii=False))


def _table(views: Sequence[dict[str, Any]]) -> str:
    rows = [[title for title, _ in _TABLE]]
    rows += [[_cell(view[key]) for _, key in _TABLE] for view in views]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_TABLE))]
    lines = (
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    )
    return "\n".join(line.rstrip() for line in lines)


def _cell(value: Any, width: int = 60) -> str:
    text = "-" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def run_send(settings: Settings, args: argparse.Namespace) -> int:
    """Sign an event body with the first webhook secret and post it."""
    import requests

    from connector import signing
    from connector.embedded import MARKETPLACE_PREFIX, SANDBOX_DEFAULTS

    with open(args.file, "rb") as source:
        body = json.load(source)
    base = args.url.rstrip("/")
    if args.sandbox_callback:
        body["callbackUrl"] = f"{base}{MARKETPLACE_PREFIX}/callbacks/{body['requestId']}"
    raw = json.dumps(body).encode()
    secret = (settings.webhook_secrets or SANDBOX_DEFAULTS["webhook_secrets"])[0]
    header = signing.signature_header(secret, int(time.time()), "POST", "/api/v1/events", raw)
    response = requests.post(
        f"{base}/api/v1/events",
        data=raw,
        headers={"Content-Type": "application/json", "X-Marketplace-Signature": header},
        timeout=30,
    )
    print(response.status_code, response.text.strip())
    return 0 if response.status_code == 202 else 1


def _runtime(settings: Settings) -> Runtime:
    runtime = Runtime.build(settings)
    runtime.require_adapters()
    return runtime


def _require_secrets(settings: Settings) -> None:
    if not settings.webhook_secrets:
        raise ConfigurationError(
            "CONNECTOR_WEBHOOK_SECRETS is not set: no marketplace request could be verified."
        )


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    return stop


if __name__ == "__main__":
    raise SystemExit(main())
