"""``connector all``: API, worker and scheduler in one process, the embedded default.

Without ESET or marketplace URLs the sandboxes are mounted inside the same server
(``/sandbox/eset`` and ``/sandbox/marketplace``) and the clients are pointed at them, so the
whole flow runs on one machine with no account anywhere.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

from connector import jobs, migrate
from connector.app import create_app
from connector.runtime import Runtime
from connector.settings import Settings
from connector.worker import Worker

log = logging.getLogger(__name__)

ESET_PREFIX = "/sandbox/eset"
MARKETPLACE_PREFIX = "/sandbox/marketplace"
SIMPLE_API = "/SimpleAPI/SimpleAPIService.svc/rest"
# Well-known secrets for the embedded default only; set the variables for anything real.
SANDBOX_DEFAULTS = {
    "webhook_secrets": ("sandbox-webhook-secret",),
    "callback_secret": "sandbox-callback-secret",
    "admin_token": "sandbox-admin-token",
}


def embedded_settings(settings: Settings, base_url: str) -> tuple[Settings, dict[str, str]]:
    """Point missing URLs at the mounted sandboxes; return the settings and what was mounted."""
    changes: dict[str, Any] = {}
    mounted: dict[str, str] = {}
    if not settings.eset_api_url:
        changes.update(
            eset_api_url=base_url + ESET_PREFIX, eset_username="sandbox", eset_password="sandbox"
        )
        mounted["eset"] = ESET_PREFIX
    if not settings.marketplace_api_url:
        changes.update(
            marketplace_api_url=base_url + MARKETPLACE_PREFIX + SIMPLE_API,
            marketplace_username="sandbox",
            marketplace_password="sandbox",
        )
        mounted["marketplace"] = MARKETPLACE_PREFIX
    if mounted:
        for name, value in SANDBOX_DEFAULTS.items():
            if not getattr(settings, name):
                changes[name] = value
    return settings.with_changes(**changes), mounted


def run_embedded(settings: Settings, *, host: str, port: int) -> int:
    """Serve everything from one process until SIGINT or SIGTERM."""
    settings, mounted = embedded_settings(settings, f"http://{_client_host(host)}:{port}")
    # werkzeug logs every request at INFO unless told otherwise; follow the connector's level.
    logging.getLogger("werkzeug").setLevel(max(logging.INFO, logging.getLogger().level))
    runtime = Runtime.build(settings)
    migrate.upgrade(runtime.engine)
    server = make_server(host, port, _wsgi(runtime, mounted), threaded=True)
    stop = threading.Event()
    threads = Worker(runtime).start(stop)
    scheduler = BackgroundScheduler(timezone="UTC")
    jobs.schedule(scheduler, runtime)
    scheduler.start()

    def shut_down(*_: Any) -> None:
        stop.set()
        runtime.wakeup.notify()
        threading.Thread(target=server.shutdown, daemon=True).start()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, shut_down)
    log.info("connector listening on http://%s:%d (sandboxes: %s)", host, port, mounted or "none")
    server.serve_forever()
    scheduler.shutdown(wait=False)
    for thread in threads:
        thread.join(15)
    runtime.close()
    return 0


def _wsgi(runtime: Runtime, mounted: dict[str, str]) -> Any:
    from connector.sandbox import create_eset_sandbox, create_marketplace_sandbox

    mounts: dict[str, Any] = {}
    if "eset" in mounted:
        mounts[ESET_PREFIX] = create_eset_sandbox()
    if "marketplace" in mounted:
        mounts[MARKETPLACE_PREFIX] = create_marketplace_sandbox(
            callback_secret=runtime.settings.callback_secret
        )
    return DispatcherMiddleware(create_app(runtime=runtime), mounts)


def _client_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
