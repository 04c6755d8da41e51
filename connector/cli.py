"""The ``connector`` command: serve, worker, scheduler, all, db upgrade."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from connector import migrate
from connector.errors import ConfigurationError
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
    worker.set_defaults(run=run_worker)

    scheduler = commands.add_parser("scheduler", help="the scheduled jobs")
    scheduler.set_defaults(run=run_scheduler)

    everything = commands.add_parser("all", help="API, worker and scheduler in one process")
    _address(everything)
    everything.set_defaults(run=run_all)

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

    runtime = _runtime(settings)
    stop = _stop_on_signals()
    if runtime.engine.dialect.name == "postgresql":
        PostgresListener(runtime.engine, runtime.wakeup, stop).start()
    threads = Worker(runtime).start(stop, operation_threads=args.threads)
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


def run_all(settings: Settings, args: argparse.Namespace) -> int:
    from connector.embedded import run_embedded

    return run_embedded(settings, host=args.host, port=args.port)


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
