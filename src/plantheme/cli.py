"""The ``plantheme`` command line: thin wrappers over the library functions.

Errors the user can fix are one line on stderr and a non-zero exit status,
never a traceback: 1 for a failed run, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from .errors import PlanthemeError
from .settings import REPO_ROOT, load_settings

DEFAULT_LABELS = REPO_ROOT / "labels"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _load(model_dir: Path | None):  # type: ignore[no-untyped-def]
    from .persistence import load_model

    settings = load_settings(model_dir=model_dir)
    model, card = load_model(settings.model_dir)
    return model, card


# --- train ---------------------------------------------------------------------


def _cmd_train(args: argparse.Namespace) -> int:
    from .evaluate import format_report
    from .labels import read_labelled_dir
    from .persistence import save_model
    from .train import DEFAULT_GRID, train_model

    rows = read_labelled_dir(args.data)
    _say(f"read {len(rows)} labelled sentences from {args.data}")
    grid = [p for p in DEFAULT_GRID if args.features in (None, p["features"])]
    result = train_model(rows, grid=grid, folds=args.folds, n_jobs=args.jobs, progress=_say)
    out = args.out or load_settings().model_dir
    card = save_model(result.model, result.card, out)
    print(f"chosen by grouped {card.cv['folds']}-fold CV: "
          + ", ".join(f"{k}={v}" for k, v in result.params.items()))
    print(format_report(result.report))
    print("\naccuracy by source (out of fold)")
    for source, (n, accuracy) in result.by_source.items():
        print(f"  {source:<40} {accuracy:.3f}  ({n} rows)")
    if args.show_errors:
        print(f"\nmisclassified in CV (first {args.show_errors}): true -> predicted | source | text")
        for row, predicted in result.misclassified[: args.show_errors]:
            print(f"{row.theme} -> {predicted} | {Path(row.file).name}:{row.line} | {row.text}")
    print(f"\nwrote model {card.model_id} to {out}")
    return 0


# --- evaluate ------------------------------------------------------------------


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_model, format_report
    from .labels import read_labelled_file

    rows = read_labelled_file(args.file)
    model, _ = _load(args.model)
    report = evaluate_model(model, rows)
    if args.json:
        print(json.dumps({"model": model.model_id, "file": str(args.file), **report.to_dict()},
                         ensure_ascii=False))
    else:
        print(f"model {model.model_id} on {args.file}")
        print(format_report(report))
    return 0


# --- predict -------------------------------------------------------------------


def _cmd_predict(args: argparse.Namespace) -> int:
    texts = list(args.text)
    if not texts:
        if sys.stdin.isatty():
            _say("reading one text per line from stdin (Ctrl-D to end)")
        texts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not texts:
        raise PlanthemeError("no text to predict: give TEXT arguments or lines on stdin")
    model, _ = _load(args.model)
    for text, prediction in zip(texts, model.predict(texts, evidence=args.evidence)):
        print(json.dumps({"text": text, **prediction.to_dict()}, ensure_ascii=False))
    return 0


# --- tag -----------------------------------------------------------------------


def _cmd_tag(args: argparse.Namespace) -> int:
    from .tagging import run_tag_command

    return run_tag_command(args)


# --- serve ---------------------------------------------------------------------


def _cmd_serve(args: argparse.Namespace) -> int:
    from plantheme_service.run import serve

    return serve(host=args.host, port=args.port, model_dir=args.model, workers=args.workers)


# --- parser --------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="plantheme",
        description="Tag sentences of Chinese local-government plans with their policy theme.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a model on labelled sentences (grouped CV report)")
    p.add_argument("--data", type=Path, default=DEFAULT_LABELS,
                   help="folder or file of labelled CSV/JSONL (default: the shipped labels/)")
    p.add_argument("--out", type=Path, default=None,
                   help="model folder to write (default: models/default)")
    p.add_argument("--folds", type=int, default=5, help="grouped CV folds (default 5)")
    p.add_argument("--features", choices=("word", "char", "union"), default=None,
                   help="only try this feature set (default: compare all three)")
    p.add_argument("--jobs", type=int, default=1, help="parallel CV folds (default 1)")
    p.add_argument("--show-errors", type=int, default=0, metavar="N",
                   help="also print the first N rows misclassified in CV")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="score a model on a labelled CSV/JSONL file")
    p.add_argument("file", type=Path, help="CSV or JSONL with fields text and theme")
    p.add_argument("--model", type=Path, default=None, help="model folder (default: models/default)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("predict", help="predict the theme of texts (arguments or stdin lines)")
    p.add_argument("text", nargs="*", help="texts to classify; none: one per line on stdin")
    p.add_argument("--model", type=Path, default=None, help="model folder (default: models/default)")
    p.add_argument("--evidence", type=int, default=5, metavar="N",
                   help="tokens of evidence per prediction (default 5)")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("tag", help="tag every sentence of every document in a folder")
    p.add_argument("dir", type=Path, help="folder of documents (searched recursively)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: DIR-tags beside DIR)")
    p.add_argument("--model", type=Path, default=None, help="model folder (default: models/default)")
    p.add_argument("--jobs", type=int, default=None, help="parallel processes (default: all cores)")
    p.add_argument("--glob", default=None, metavar="PATTERN",
                   help="only files whose path relative to DIR matches PATTERN, e.g. '**/*.txt'")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_tag)

    p = sub.add_parser("serve", help="start the HTTP prediction service")
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 8000)")
    p.add_argument("--model", type=Path, default=None, help="model folder (default: models/default)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default 1)")
    p.set_defaults(func=_cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``plantheme`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except PlanthemeError as exc:
        _say(f"plantheme: error: {exc}")
        return 1
    except KeyboardInterrupt:
        _say("plantheme: interrupted")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
