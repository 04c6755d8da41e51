"""Time of one live quote (the pure function behind ``POST /api/v1/quote``), with a baseline.

The form asks for a quote as the reseller types, so one must take well under a few
milliseconds. Measured in the same run: the baseline parses the same request body with
``json.loads`` and builds a comparable answer dict, i.e. the least any endpoint must do.

    .venv/bin/python benchmarks/quote.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import date
from typing import Any

from connector.domain.facts import LicenseFacts
from connector.domain.manifest import load_manifest
from connector.domain.quote import quote
from connector.settings import Settings

TODAY = date(2026, 11, 27)


def main() -> None:
    """Print median and p99 of each case in microseconds, and the ratio to the baseline."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=20000)
    rounds = parser.parse_args().rounds

    manifest = load_manifest(Settings().manifest_path)
    partner = manifest.catalog.partner("Gold")
    license = LicenseFacts(
        "PROTECT_ADVANCED", 25, "FULL", "Active", date(2025, 12, 20), date(2026, 12, 20)
    )
    bodies = {name: json.dumps(body) for name, body in request_bodies(manifest.eula.version)}

    def ask(name: str) -> Callable[[], object]:
        text = bodies[name]

        def run() -> object:
            body = json.loads(text)
            held = None if body["action"] == "CREATE" else license
            answer = quote(
                manifest,
                body["action"],
                body["fields"],
                partner=partner,
                license=held,
                today=TODAY,
            )
            return json.dumps(answer.as_json())

        return run

    def baseline() -> object:
        body = json.loads(bodies["CREATE, every field"])
        answer = {"valid": True, "errors": {}, "price": {"fields": len(body["fields"])}}
        return json.dumps(answer)

    cases: list[tuple[str, Callable[[], object]]] = [("baseline: json.loads + dict", baseline)]
    cases += [(f"quote {name}", ask(name)) for name in bodies]
    results = {name: measure(run, rounds) for name, run in cases}
    base = statistics.median(results["baseline: json.loads + dict"])
    print(f"{'case':<44} {'median µs':>10} {'p99 µs':>10} {'× baseline':>11}")
    for name, samples in results.items():
        median, p99 = statistics.median(samples), percentile(samples, 99)
        print(f"{name:<44} {median:>10.1f} {p99:>10.1f} {median / base:>11.1f}")


def request_bodies(eula_version: str) -> list[tuple[str, dict[str, Any]]]:
    """Return the quote bodies measured: the seed moment, a full order, a renewal, a change."""
    every = {
        "Product": "PROTECT_ELITE",
        "Seats": "100",
        "TermMonths": "36",
        "LicenseType": "CROSSGRADE",
        "DiscountCategory": "GOV",
        "EligibilityProof": "DMS-2026-0815",
        "CrossgradeSeats": "60",
        "CrossgradeExpiry": "2026-10-31",
        "CustomerCompany": "Beispiel Bau AG",
        "CustomerContact": "Erika Mustermann",
        "CustomerEmail": "it@beispiel-bau.example",
        "CustomerCountry": "DE",
        "CustomerVatId": "DE123456789",
        "EulaAccepted": "true",
        "EulaVersion": eula_version,
        "NotifyEmail": "licenses@muster-it.example",
    }
    first = {"Product": "PROTECT_ADVANCED", "Seats": "24", "TermMonths": "12"}
    change = {"Product": "PROTECT_COMPLETE", "Seats": "30", "RenewTermMonths": "12"}
    return [
        ("CREATE, every field", _body("CREATE", every)),
        ("CREATE, product/seats/term only", _body("CREATE", first)),
        ("MODIFY, renewal + extension", _body("MODIFY", {"Seats": "30", "RenewTermMonths": "12"})),
        ("CHANGE_PLAN, with renewal", _body("CHANGE_PLAN", change)),
    ]


def _body(action: str, fields: dict[str, Any]) -> dict[str, Any]:
    return {"action": action, "reseller": {"accountId": "4711"}, "fields": fields}


def measure(run: Callable[[], object], rounds: int) -> list[float]:
    """Return the time of each of ``rounds`` calls in microseconds, after a warm-up."""
    for _ in range(min(rounds, 1000)):
        run()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        start = clock()
        run()
        samples.append((clock() - start) / 1000)
    return samples


def percentile(samples: list[float], p: int) -> float:
    """Return the ``p``-th percentile of the samples."""
    return statistics.quantiles(samples, n=100)[p - 1]


if __name__ == "__main__":
    main()
