"""Waking the worker the moment there is new work.

Inside one process (``connector all``, tests) a ``threading.Event`` does it. Across processes on
PostgreSQL the intake sends ``NOTIFY connector_work`` in the transaction that stores the
operation, and each worker process LISTENs on a connection of its own. On SQLite across
processes the worker falls back to a short poll (``worker_poll_seconds``).
"""

from __future__ import annotations

import logging
import threading

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

CHANNEL = "connector_work"
log = logging.getLogger(__name__)


class Wakeup:
    """Latches the producers set and the worker loops wait on, one latch per loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latches: list[threading.Event] = []

    def latch(self) -> threading.Event:
        """Return a new latch that every ``notify`` sets."""
        latch = threading.Event()
        with self._lock:
            self._latches.append(latch)
        return latch

    def notify(self) -> None:
        """Wake every loop waiting in this process."""
        with self._lock:
            for latch in self._latches:
                latch.set()


def announce(session: Session) -> None:
    """Tell other processes, once this transaction commits, that there is new work."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {CHANNEL}"))


class PostgresListener(threading.Thread):
    """Relays PostgreSQL notifications to a ``Wakeup`` until stopped."""

    def __init__(self, engine: Engine, wakeup: Wakeup, stop: threading.Event) -> None:
        super().__init__(name="pg-listener", daemon=True)
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._wakeup = wakeup
        self._stopping = stop

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._listen()
            except psycopg.Error as error:
                log.warning("lost the PostgreSQL notification connection: %s", error)
                self._wakeup.notify()  # look for work we may have missed meanwhile
                self._stopping.wait(1.0)

    def _listen(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True) as connection:
            connection.execute(f"LISTEN {CHANNEL}")
            while not self._stopping.is_set():
                for _ in connection.notifies(timeout=1.0, stop_after=1):
                    self._wakeup.notify()
