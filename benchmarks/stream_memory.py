"""Peak memory of ``plantheme predict`` (stdin) and ``plantheme evaluate`` as the input grows.

Both commands now stream their input in batches of 1,000 lines, so their peak
resident memory should stay flat when the input grows tenfold; before, they
read everything first and grew with it. The input is the labelled sentences of
``labels/`` repeated to ``--lines`` (the project's own data, nothing from the
corpus). Each size is run ``--repeats`` times in a fresh process; the script
prints the median wall time and the largest peak RSS (``getrusage`` of the
child) per command and size.

Give ``--plantheme`` another installation's console script (e.g. an older
checkout's ``.venv/bin/plantheme``) to measure that one instead.

    python benchmarks/stream_memory.py [--lines 20000 200000] [--plantheme .venv/bin/plantheme]
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _sentences() -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for path in sorted((REPO / "labels").rglob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for record in csv.DictReader(handle):
                text = (record.get("text") or "").replace("\n", " ").strip()
                if text and record.get("theme"):
                    rows.append((text, record["theme"].strip()))
    return rows


def _measure(command: list[str], stdin_path: Path | None) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one run in a fresh child process."""
    code = (
        "import resource, subprocess, sys, time\n"
        "stdin = open(sys.argv[1], 'rb') if sys.argv[1] else subprocess.DEVNULL\n"
        "t = time.perf_counter()\n"
        "done = subprocess.run(sys.argv[2:], stdin=stdin, stdout=subprocess.DEVNULL)\n"
        "assert done.returncode == 0, done.returncode\n"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    # A wrapper process per run: RUSAGE_CHILDREN then covers this run only.
    out = subprocess.run(
        [sys.executable, "-c", code, str(stdin_path or ""), *command], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), int(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[20_000, 200_000])
    parser.add_argument("--plantheme", default=str(Path(sys.executable).with_name("plantheme")))
    parser.add_argument("--model", type=Path, default=REPO / "models" / "default")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    rows = _sentences()
    print(f"{len(rows):,} labelled sentences repeated; plantheme = {args.plantheme}")
    print(f"{'command':<10}{'lines':>10}{'MB in':>8}{'seconds':>10}{'peak RSS MiB':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.lines:
            lines = [rows[i % len(rows)] for i in range(n)]
            text_file = Path(tmp) / f"in-{n}.txt"
            text_file.write_text("".join(t + "\n" for t, _ in lines), encoding="utf-8")
            csv_file = Path(tmp) / f"eval-{n}.csv"
            with csv_file.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["text", "theme"])
                writer.writerows(lines)
            for name, command, stdin in (
                ("predict", [args.plantheme, "predict", "--model", str(args.model), "--evidence", "0"], text_file),
                ("evaluate", [args.plantheme, "evaluate", str(csv_file), "--model", str(args.model), "--json"], None),
            ):
                runs = [_measure(command, stdin) for _ in range(args.repeats)]
                size = os.path.getsize(stdin or csv_file) / 1e6
                print(
                    f"{name:<10}{n:>10,}{size:>8.1f}{statistics.median(r[0] for r in runs):>10.1f}"
                    f"{max(r[1] for r in runs) / 1024:>13.0f}"
                )


if __name__ == "__main__":
    main()
