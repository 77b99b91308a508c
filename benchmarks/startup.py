"""Start-up of `plantheme predict "推进河长制。"`: whole processes, and where their import time goes.

Runs the command as the console script does (``from plantheme.cli import main``) with
``PYTHONPATH`` set to this checkout's ``src``, and, with ``--before SRC``, to another
checkout's ``src`` (for instance a worktree of the previous commit), alternating the two
so that both see the same load on a shared machine. Prints the median, minimum and
maximum wall time of ``--runs`` runs each and their median CPU time, whether the outputs are identical, and from
``python -X importtime`` (``--importtime-runs`` runs each, medians) the total import time
and the cumulative import time of the heavy modules on the path.

    git worktree add --detach /tmp/before HEAD~1
    python benchmarks/startup.py --before /tmp/before/src
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
# What the console script `plantheme` runs.
ENTRY = "import sys; from plantheme.cli import main; sys.exit(main())"
# Modules whose cumulative import time is reported when they are imported.
WATCHED = (
    "numpy",
    "scipy.sparse",
    "sklearn",
    "pydantic",
    "pydantic_settings",
    "rjieba",
    "opencc",
    "plantheme.settings",
    "plantheme.model.persistence",
    "plantheme.model.scoring",
    "plantheme.model.ngrams",
)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(
    src: Path, sentence: str, importtime: bool = False, options: tuple[str, ...] = ()
) -> tuple[float, float, str, str]:
    """Wall seconds, CPU seconds (user + system), stdout and stderr of one `plantheme predict SENTENCE` process."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    flags = ["-X", "importtime"] if importtime else []
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, *flags, "-c", ENTRY, "predict", *options, sentence],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - start, _children_cpu() - cpu, done.stdout, done.stderr


def import_times(stderr: str) -> tuple[float, dict[str, float]]:
    """Total self import time and each watched module's cumulative one, in seconds, from -X importtime."""
    total, watched = 0.0, {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line[len("import time:") :].split("|"))
        total += int(self_us) / 1e6
        if name in WATCHED:
            watched[name] = int(cumulative_us) / 1e6
    return total, watched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, help="the src folder of another checkout to compare with")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--importtime-runs", type=int, default=3)
    parser.add_argument("--sentence", default="推进河长制。")
    parser.add_argument(
        "--no-evidence-too",
        action="store_true",
        help="also time this checkout with --evidence 0 (no word segmentation, no rjieba)",
    )
    args = parser.parse_args()
    trees = {"this checkout": SRC}
    if args.before is not None:
        trees = {"before": args.before.resolve(), **trees}
    variants = [(name, src, ()) for name, src in trees.items()]
    if args.no_evidence_too:
        variants.append(("--evidence 0", SRC, ("--evidence", "0")))
    for _, src, options in variants:
        run_once(src, args.sentence, options=options)  # warm the file cache for all alike
    times: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    cpu_times: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    outputs: dict[str, set[str]] = {name: set() for name, _, _ in variants}
    for i in range(args.runs):
        for name, src, options in variants if i % 2 == 0 else list(reversed(variants)):
            seconds, cpu, stdout, _ = run_once(src, args.sentence, options=options)
            times[name].append(seconds)
            cpu_times[name].append(cpu)
            outputs[name].add(stdout)
    print(f'plantheme predict "{args.sentence}", whole process, {args.runs} runs each, order alternating:')
    sources = {name: f"{src} {' '.join(options)}".strip() for name, src, options in variants}
    for name, values in times.items():
        print(
            f"  {name:14s} median {statistics.median(values):.3f} s  (min {min(values):.3f}, max {max(values):.3f});"
            f" CPU median {statistics.median(cpu_times[name]):.3f} s  [{sources[name]}]"
        )
    if len(trees) == 2:
        before, after = (statistics.median(times[name]) for name in trees)
        print(f"  before / this checkout: {before / after:.2f}x")
        print(f"  outputs identical: {outputs['before'] == outputs['this checkout'] and len(outputs['before']) == 1}")
    print(f"python -X importtime, {args.importtime_runs} runs each (medians, seconds):")
    for name, src in trees.items():
        totals, per_module = [], {}
        for _ in range(args.importtime_runs):
            _, _, _, stderr = run_once(src, args.sentence, importtime=True)
            total, watched = import_times(stderr)
            totals.append(total)
            for module, seconds in watched.items():
                per_module.setdefault(module, []).append(seconds)
        modules = ", ".join(f"{m} {statistics.median(v):.3f}" for m, v in per_module.items())
        print(f"  {name:14s} total {statistics.median(totals):.3f}; cumulative: {modules}")
        absent = [m for m in ("scipy.sparse", "sklearn", "pydantic") if m not in per_module]
        print(f"  {'':14s} not imported: {', '.join(absent) or '-'}")


if __name__ == "__main__":
    main()
