"""Run every benchmark of bench/ one after the other and repeat their verdicts at the end.

    .venv/bin/python bench/run_all.py      (what ``make bench`` runs)

Each benchmark uses a PostgreSQL database of its own (see --help of each script);
the order list benchmark keeps its million orders between runs (--reuse-db).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
BENCHMARKS = [
    ("load generator self-test", ["loadgen.py", "--selftest"]),
    ("canonical upsert vs bare DRF insert", ["upsert_vs_bare.py"]),
    ("inbound shipment milestones vs bare DRF insert", ["inbound_vs_bare.py"]),
    ("delivery throughput, 10,000 events, django-q2", ["delivery_throughput.py"]),
    ("outbox lag at 200 events/s for 60 s", ["outbox_lag.py"]),
    ("order list pages, 1,000,000 orders", ["list_orders.py", "--reuse-db"]),
    ("order submission and quote vs bare DRF insert", ["order_submit.py"]),
]
VERDICTS = ("PASS", "MISS", "INVALID")


def main() -> int:
    summary: list[str] = []
    failed = []
    for title, (script, *args) in BENCHMARKS:
        print(f"\n### {title}: bench/{script} {' '.join(args)}", flush=True)
        process = subprocess.Popen(
            [sys.executable, str(BENCH / script), *args], cwd=BENCH.parent, stdout=subprocess.PIPE, text=True
        )
        for line in process.stdout:
            print(line, end="", flush=True)
            if any(word in line for word in VERDICTS):
                summary.append(f"{title}: {line.strip()}")
        if process.wait() != 0:
            failed.append(title)
            summary.append(f"{title}: did not complete (exit {process.returncode})")
    print("\n### Summary")
    for line in summary:
        print(f"   {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
