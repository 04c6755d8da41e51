"""What the benchmarks share: a fresh database, a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent


def fresh_database(url: str) -> None:
    """Recreate a PostgreSQL database (or remove a SQLite file) and migrate it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}"'))
            connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
    elif parsed.database:
        Path(parsed.database).unlink(missing_ok=True)
    env = {**os.environ, "CONNECTOR_DATABASE_URL": url, "CONNECTOR_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "connector.cli", "db", "upgrade"]
    subprocess.run(command, env=env, check=True, cwd=ROOT)


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
