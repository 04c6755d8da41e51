"""Run one sandbox standalone: ``python -m connector.sandbox eset|marketplace [--port N]``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from werkzeug.serving import run_simple

from connector.sandbox.eset import create_eset_sandbox
from connector.sandbox.marketplace import create_marketplace_sandbox

DEFAULT_PORTS = {"eset": 8081, "marketplace": 8082}


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the chosen sandbox until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m connector.sandbox")
    parser.add_argument("which", choices=sorted(DEFAULT_PORTS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int)
    args = parser.parse_args(argv)
    app = create_eset_sandbox() if args.which == "eset" else create_marketplace_sandbox()
    port = args.port or DEFAULT_PORTS[args.which]
    run_simple(args.host, port, app, threaded=True)


if __name__ == "__main__":
    main()
