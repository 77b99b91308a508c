"""Wall time of ``plantheme tag`` by two installations on the same folder, first runs and re-runs.

Checks that the hardening of ``plantheme tag`` (lock, generation folders,
per-file guards, link checks) costs no measurable time. Each installation
tags ``FOLDER`` into a fresh output folder (first run: everything tagged),
then again into the same one (re-run: everything from the cache); the
installations alternate, ``--repeats`` times, and the medians are printed.

    python benchmarks/tag_compare.py FOLDER --plantheme A/.venv/bin/plantheme B/.venv/bin/plantheme \
        [--glob '**/*.txt'] [--jobs 2]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _run(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command[0]}: exit {done.returncode}: {done.stderr.strip()}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--plantheme", nargs="+", required=True)
    parser.add_argument("--model", type=Path, default=REPO / "models" / "default")
    parser.add_argument("--glob", default=None)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, dict[str, list[float]]] = {p: {"first": [], "rerun": []} for p in args.plantheme}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            order = args.plantheme if repeat % 2 == 0 else list(reversed(args.plantheme))
            for k, plantheme in enumerate(order):
                out = Path(tmp) / f"out-{k}"
                shutil.rmtree(out, ignore_errors=True)
                command = [
                    plantheme,
                    "tag",
                    str(args.folder),
                    "--out",
                    str(out),
                    "--model",
                    str(args.model),
                    "--jobs",
                    str(args.jobs),
                    "--quiet",
                ]
                if args.glob:
                    command += ["--glob", args.glob]
                times[plantheme]["first"].append(_run(command))
                times[plantheme]["rerun"].append(_run(command))
    print(f"folder {args.folder}, --jobs {args.jobs}, glob {args.glob!r}, {args.repeats} runs each (median s)")
    for plantheme, measured in times.items():
        print(
            f"  {plantheme}: first run {statistics.median(measured['first']):.2f} s,"
            f" re-run {statistics.median(measured['rerun']):.2f} s"
        )


if __name__ == "__main__":
    main()
