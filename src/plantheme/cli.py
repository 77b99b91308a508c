"""The ``plantheme`` command line: thin wrappers over the library functions.

Errors the user can fix are one line on stderr and a non-zero exit status,
never a traceback: 1 for a failed run, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime
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


def _train_out(out: Path | None, force: bool) -> Path:
    """Where ``train`` writes: ``--out``, else a new folder under ``models/``; never over a model unasked."""
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return REPO_ROOT / "models" / f"model-{stamp}"
    if out.exists() and not force:
        raise PlanthemeError(f"{out}: exists; pass --force to replace that model, or choose another --out")
    return out


def _cmd_train(args: argparse.Namespace) -> int:
    from .evaluate import format_report
    from .labels import read_documents_dir, read_labelled_dir
    from .persistence import save_model
    from .train import candidate_grid, train_model

    out = _train_out(args.out, args.force)
    rows = [row for folder in args.data for row in read_labelled_dir(folder)]
    documents = [doc for folder in args.data for doc in read_documents_dir(folder)]
    _say(f"read {len(rows)} labelled sentences ({len(documents)} whole documents) from "
         + ", ".join(str(folder) for folder in args.data))
    result = train_model(rows, grid=candidate_grid(args.features), folds=args.folds, n_jobs=args.jobs,
                         progress=_say, documents=documents if args.context else ())
    card = save_model(result.model, result.card, out)
    print(f"chosen by grouped {card.cv['folds']}-fold CV: "
          + ", ".join(f"{k}={v}" for k, v in result.params.items()))
    print(format_report(result.report))
    print("\naccuracy by source (out of fold)")
    for source, (n, accuracy) in result.by_source.items():
        print(f"  {source:<40} {accuracy:.3f}  ({n} rows)")
    if result.context is not None:
        ctx = result.context
        print(f"\ncontext stage, grouped CV over {ctx.documents} documents ({ctx.units} sentences):"
              f" sentence model alone macro-F1 {ctx.sentence_only.macro_f1:.3f}")
        for C, report in ctx.candidates:
            print(f"  C={C}: macro-F1 {report.macro_f1:.3f}, accuracy {report.accuracy:.3f}")
        print(f"  {'kept, C=' + str(ctx.chosen_C) if ctx.chosen_C is not None else 'not kept (no better than alone)'}")
    if args.show_errors:
        print(f"\nmisclassified in CV (first {args.show_errors}): true -> predicted | source | text")
        for row, predicted in result.misclassified[: args.show_errors]:
            print(f"{row.theme} -> {predicted} | {Path(row.file).name}:{row.line} | {row.text}")
    print(f"\nwrote model {card.model_id} to {out}")
    return 0


# --- evaluate ------------------------------------------------------------------


def _is_span_file(path: Path) -> bool:
    """True for a CSV of span labels (a header with path, start and end)."""
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = {name.strip() for name in next(csv.reader(handle), [])}
    return {"path", "start", "end"} <= header


def _cmd_evaluate_documents(args: argparse.Namespace) -> int:
    from .documents import read_document
    from .evaluate import evaluate_documents, format_document_scores
    from .labels import read_span_labels

    if args.root is None:
        raise PlanthemeError(f"{args.file}: span labels point into documents; give their folder with --root DIR")
    if not args.root.is_dir():
        raise PlanthemeError(f"{args.root}: no such folder")
    rows = read_span_labels(args.file)
    model, _ = _load(args.model)
    max_chars = load_settings().max_document_chars

    def read_text(path: str) -> str:
        return read_document(args.root / path, max_chars=max_chars).text

    scores = evaluate_documents(model, rows, read_text)
    if args.json:
        print(json.dumps({"model": model.model_id, "file": str(args.file), **scores.to_dict()},
                         ensure_ascii=False))
    else:
        print(f"model {model.model_id} on {args.file} (documents under {args.root})")
        print(format_document_scores(scores, per_document=args.by_document))
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_model, format_report
    from .labels import read_labelled_file

    if _is_span_file(args.file):
        return _cmd_evaluate_documents(args)
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


# --- extract -------------------------------------------------------------------


def _cmd_extract(args: argparse.Namespace) -> int:
    from .documents import UnreadableDocument, read_document
    from .normalize import normalize

    try:
        text = read_document(args.file, max_chars=load_settings().max_document_chars).text
    except UnreadableDocument as problem:
        raise PlanthemeError(f"{args.file}: {problem.reason}") from None
    sys.stdout.write(normalize(text).text if args.normalized else text)
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


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return number



def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="plantheme",
        description="Tag sentences of Chinese local-government plans with their policy theme.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "train", help="train a model on labelled sentences and documents (grouped CV report)",
        description="Train on every CSV/JSONL file under --data (sentences; *.documents.jsonl are whole"
                    " labelled documents for the context stage). Never overwrites a model unasked: without"
                    " --out it writes a new folder under models/; an existing --out needs --force.")
    p.add_argument("--data", type=Path, nargs="+", default=[DEFAULT_LABELS], metavar="DIR",
                   help="folders or files of labelled CSV/JSONL (default: the shipped labels/)")
    p.add_argument("--out", type=Path, default=None,
                   help="model folder to write (default: a new models/model-DATE-TIME)")
    p.add_argument("--force", action="store_true", help="replace the model folder --out if it exists")
    p.add_argument("--folds", type=_positive_int, default=5, help="grouped CV folds (default 5)")
    p.add_argument("--features", choices=("word", "char", "union"), default=None,
                   help="only try this feature set (default: character n-grams, 1-2 and 1-3)")
    p.add_argument("--no-context", dest="context", action="store_false",
                   help="do not train the document context stage")
    p.add_argument("--jobs", type=_positive_int, default=1, help="parallel CV folds (default 1)")
    p.add_argument("--show-errors", type=int, default=0, metavar="N",
                   help="also print the first N rows misclassified in CV")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "evaluate", help="score a model on labelled sentences, or on span labels of whole documents",
        description="FILE is a CSV/JSONL of sentences (fields text, theme), or a CSV of span labels"
                    " (path, start, end, theme; optional genre, sha) pointing into documents under --root:"
                    " those are tagged as `plantheme tag` tags them (context included) and each label is"
                    " matched to the tagged sentence that covers it.")
    p.add_argument("file", type=Path, help="labelled sentences, or span labels")
    p.add_argument("--root", type=Path, default=None, help="folder the span labels' paths are relative to")
    p.add_argument("--by-document", action="store_true", help="span labels: also a line per document")
    p.add_argument("--model", type=Path, default=None, help="model folder (default: models/default)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("extract", help="print a document's text as plantheme reads it (spans index it)")
    p.add_argument("file", type=Path, help=".txt, .md, .html, .docx or .pdf file")
    p.add_argument("--normalized", action="store_true", help="print the normalised text instead")
    p.set_defaults(func=_cmd_extract)

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
