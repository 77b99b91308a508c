"""The ``plantheme`` command line: thin wrappers over the library functions.

Errors the user can fix are one line on stderr and a non-zero exit status,
never a traceback: 1 for a failed run, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import textwrap
import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from . import __version__
from .errors import PlanthemeError
from .settings import REPO_ROOT, is_checkout, load_settings

if TYPE_CHECKING:
    from .tagging.corpus_tagging import TagOptions, TagRunResult

DEFAULT_LABELS = REPO_ROOT / "labels"
# predict reads stdin in batches of this many lines: memory stays bounded whatever comes in.
PREDICT_BATCH = 1000
# A longer stdin line is answered with an error instead of being held in memory.
PREDICT_MAX_LINE_BYTES = 1 << 20
# train: fewer rows (or themes) than this cannot make grouped CV folds with two themes each.
MIN_TRAIN_ROWS = 10


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _load(model_dir: Path | None):  # type: ignore[no-untyped-def]
    from .model.persistence import load_predictor

    settings = load_settings(model_dir=model_dir)
    model, card = load_predictor(settings.model_dir)
    return model, card


# --- train ---------------------------------------------------------------------


def _train_out(out: Path | None, force: bool) -> Path:
    """Where ``train`` writes: ``--out``, else a new folder under ``models/``; never over a model unasked."""
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        # An installed package has no checkout to write into: a models/ folder here instead.
        return (REPO_ROOT if is_checkout() else Path.cwd()) / "models" / f"model-{stamp}"
    if out.exists() and not force:
        raise PlanthemeError(f"{out}: exists; pass --force to replace that model, or choose another --out")
    return out


def _cmd_train(args: argparse.Namespace) -> int:
    from .training.evaluate import format_report
    from .training.labels import read_documents_dir, read_labelled_dir
    from .model.persistence import save_model
    from .training.pseudo import read_exclusions, read_unlabelled
    from .training.train import SelfTraining, candidate_grid, train_model

    out = _train_out(args.out, args.force)
    rows = [row for folder in args.data for row in read_labelled_dir(folder)]
    documents = [doc for folder in args.data for doc in read_documents_dir(folder)]
    sources = ", ".join(str(folder) for folder in args.data)
    _say(f"read {len(rows)} labelled sentences ({len(documents)} whole documents) from {sources}")
    themes = len({row.theme for row in rows})
    if len(rows) < MIN_TRAIN_ROWS or themes < 2:
        raise PlanthemeError(f"{sources}: need at least {MIN_TRAIN_ROWS} rows and 2 themes to train"
                             f" (found {len(rows)} rows, {themes} theme{'s' if themes != 1 else ''})")
    if args.folds < 2:
        raise PlanthemeError(f"--folds {args.folds}: give at least 2")
    self_training = None
    if args.unlabelled:
        unlabelled = read_unlabelled(args.unlabelled, read_exclusions(args.exclude),
                                     max_chars=load_settings().max_document_chars, progress=_say)
        _say(f"read {len(unlabelled)} unlabelled documents to self-train on")
        self_training = SelfTraining(unlabelled, threshold=args.pseudo_threshold, weight=args.pseudo_weight)
    try:
        result = train_model(rows, grid=candidate_grid(args.features), folds=args.folds, n_jobs=args.jobs,
                             progress=_say, documents=documents if args.context else (),
                             self_training=self_training)
    except ValueError as exc:  # scikit-learn refuses a fold (e.g. one theme only in its training part)
        raise PlanthemeError(f"{sources}: cannot train on these rows: {exc}".replace("\n", " ")) from None
    # Every folder trained on, as given (the files and their rows are in training["files"]).
    result.card.training["data"] = [str(folder) for folder in args.data]
    card = save_model(result.model, result.card, out)
    print(f"chosen by grouped {card.cv['folds']}-fold CV: "
          + ", ".join(f"{k}={v}" for k, v in result.params.items()))
    if card.self_training:
        st = card.self_training
        print(f"self-trained on {st['rows']} sentences of {st['documents']} unlabelled documents"
              f" (confidence >= {st['threshold']}, weight {st['weight']}); labels alone: macro-F1"
              f" {card.cv['macro_f1']:.3f}, accuracy {card.cv['accuracy']:.3f}; with them (below):")
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
    from .training.labels import read_columns

    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    return {"path", "start", "end"} <= set(read_columns(path))


def _cmd_evaluate_documents(args: argparse.Namespace) -> int:
    from .readers.documents import read_document
    from .training.evaluate import evaluate_documents, format_document_scores
    from .training.labels import read_span_labels

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
    from .training.evaluate import evaluate_stream, format_report
    from .training.labels import iter_labelled_file

    if _is_span_file(args.file):
        return _cmd_evaluate_documents(args)
    model, _ = _load(args.model)
    problems: list[str] = []
    rows = _good_rows(iter_labelled_file(args.file), problems)
    # Streamed in batches: a file of any size is scored with one batch in memory.
    report = evaluate_stream(model, rows)
    if problems:
        shown = "\n".join(problems[:20])
        more = len(problems) - 20
        raise PlanthemeError(shown + (f"\n… and {more} more bad rows" if more > 0 else ""))
    if not report.n:
        raise PlanthemeError(f"{args.file}: no labelled rows")
    if args.json:
        print(json.dumps({"model": model.model_id, "file": str(args.file), **report.to_dict()},
                         ensure_ascii=False))
    else:
        print(f"model {model.model_id} on {args.file}")
        print(format_report(report))
    return 0


def _good_rows(rows: Iterator[Any], problems: list[str]) -> Iterator[Any]:
    """The rows of a labelled file that are valid; the reasons of the others go to ``problems``."""
    for row in rows:
        if isinstance(row, str):
            problems.append(row)
        else:
            yield row


# --- predict -------------------------------------------------------------------


def _stdin_lines(stream: BinaryIO | _EncodedLines, max_bytes: int = PREDICT_MAX_LINE_BYTES) -> Iterator[tuple[int, str | None, str]]:
    """(line number, text, error) for each line of ``stream``: text, or None and why not.

    Bounded memory: a line longer than ``max_bytes`` is skipped in pieces.
    """
    from .readers.record_files import bounded_lines

    for number, line in bounded_lines(stream, max_bytes):  # type: ignore[arg-type]  # readline() is all it uses
        if line is None:
            yield number, None, f"line longer than {max_bytes:,} bytes"
            continue
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        try:
            text = line.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as exc:
            yield number, None, f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
            continue
        if not text.strip():
            yield number, None, "empty line"
            continue
        yield number, text, ""


class _EncodedLines:
    """A text stream read as bytes, line by line (stdin replaced by a text object)."""

    def __init__(self, text: Any) -> None:
        self.text = text

    def readline(self, limit: int = -1) -> bytes:
        return str(self.text.readline(limit)).encode("utf-8", "surrogateescape")


def _predict_batch(model: Any, batch: list[tuple[int, str]], evidence: int) -> list[dict[str, Any]]:
    """One output object per (line, text): the prediction, or an error object for that line."""
    try:
        predictions = model.predict([text for _, text in batch], evidence=evidence)
        return [{"text": text, **p.to_dict()} for (_, text), p in zip(batch, predictions)]
    except Exception:
        if len(batch) == 1:
            number, _ = batch[0]
            return [{"line": number, "error": "cannot classify this text"}]
        # Find the line at fault: the others are answered.
        return [out for item in batch for out in _predict_batch(model, [item], evidence)]


def _cmd_predict(args: argparse.Namespace) -> int:
    model, _ = _load(args.model)
    write = sys.stdout.write
    if args.text:
        for text, prediction in zip(args.text, model.predict(list(args.text), evidence=args.evidence)):
            write(json.dumps({"text": text, **prediction.to_dict()}, ensure_ascii=False) + "\n")
        return 0
    if sys.stdin.isatty():
        _say("reading one text per line from stdin (Ctrl-D to end)")
    # One output line per input line, in order, batch by batch: blank and
    # undecodable lines get an error object and the rest goes on.
    answered = 0
    pending: list[tuple[int, str | None, str]] = []

    def flush() -> None:
        texts = [(number, text) for number, text, _ in pending if text is not None]
        results = iter(_predict_batch(model, texts, args.evidence) if texts else [])
        for number, text, error in pending:
            out = next(results) if text is not None else {"line": number, "error": error}
            write(json.dumps(out, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        pending.clear()

    stream = getattr(sys.stdin, "buffer", None) or _EncodedLines(sys.stdin)
    for item in _stdin_lines(stream, PREDICT_MAX_LINE_BYTES):
        pending.append(item)
        answered += 1
        if len(pending) >= PREDICT_BATCH:
            flush()
    flush()
    if not answered:
        raise PlanthemeError("no text to predict: give TEXT arguments or lines on stdin")
    return 0


# --- extract -------------------------------------------------------------------


def _cmd_extract(args: argparse.Namespace) -> int:
    from .readers.documents import UnreadableDocument, read_document
    from .text.normalize import normalize

    try:
        text = read_document(args.file, max_chars=load_settings().max_document_chars).text
    except UnreadableDocument as problem:
        raise PlanthemeError(f"{args.file}: {problem.reason}") from None
    sys.stdout.write(normalize(text).text if args.normalized else text)
    return 0


# --- tag -----------------------------------------------------------------------


def _tag_options(args: argparse.Namespace) -> TagOptions | str:
    """The run's options from the command line, or the message saying which argument is wrong."""
    from joblib import cpu_count

    from .tagging.corpus_tagging import ClusterOptions, TagOptions, default_out_dir
    from .readers.record_files import RecordOptions
    from .analysis.metadata import MetaSources, parse_meta_pattern, read_meta_table
    from .tagging.tag_outputs import DOCUMENT_CSV_FIELDS

    folder = Path(args.dir)
    if not folder.exists():
        return f"{folder}: no such folder"
    if not folder.is_dir():
        return f"{folder}: not a folder; give the folder of documents to tag"
    jobs = cpu_count() if args.jobs is None else args.jobs
    if jobs < 1:
        return f"--jobs {args.jobs}: give a number of processes of at least 1"
    if args.scheduler is not None and args.jobs is not None:
        return "--jobs and --scheduler: give one; with a scheduler the cluster's workers tag"
    if args.out is None and not folder.resolve().name:
        return f"{folder}: give --out: the default output folder is beside the tagged one"
    out_dir = Path(args.out) if args.out is not None else default_out_dir(folder)
    if out_dir.exists() and not out_dir.is_dir():
        return f"--out {out_dir}: a file is in the way; give a folder"
    if out_dir.resolve() == folder.resolve():
        return f"--out {out_dir}: the output folder must not be the folder being tagged"
    if args.glob is not None and not args.glob.strip():
        return "--glob: the pattern is empty"
    for option, value in (("--text-field", args.text_field), ("--id-field", args.id_field)):
        if value is not None and not value.strip():
            return f"{option}: the field name is empty"
    for option, value in (("--glob", args.glob), ("--text-field", args.text_field),
                          ("--id-field", args.id_field), ("--meta-fields", args.meta_fields)):
        try:
            (value or "").encode("utf-8")
        except UnicodeEncodeError:
            return f"{option}: not valid UTF-8"
    meta = tuple(name.strip() for name in (args.meta_fields or "").split(",") if name.strip())
    clashes = [name for name in meta if name in DOCUMENT_CSV_FIELDS]
    if clashes:
        return f"--meta-fields: {', '.join(clashes)}: already a column of documents.csv; rename the field"
    if len(set(meta)) != len(meta):
        return "--meta-fields: a field is named twice"
    try:
        patterns = tuple(parse_meta_pattern(text) for text in args.meta_pattern or ())
    except ValueError as exc:
        return f"--meta-pattern {exc}"
    for pattern in patterns:
        bad = [name for name in pattern.fields if name in DOCUMENT_CSV_FIELDS]
        if bad:
            return f"--meta-pattern: {', '.join(bad)}: already a column of documents.csv; rename the field"
    try:
        table = read_meta_table(args.meta, reserved=DOCUMENT_CSV_FIELDS) if args.meta is not None else None
    except PlanthemeError as exc:
        return str(exc)
    settings = load_settings(model_dir=args.model)
    cluster = None if args.scheduler is None else ClusterOptions(
        scheduler=args.scheduler, batch_bytes=settings.dask_batch_bytes,
        connect_timeout_s=settings.dask_connect_timeout_s)
    return TagOptions(
        folder=folder, out_dir=out_dir, model_dir=settings.model_dir, jobs=jobs, pattern=args.glob,
        low_confidence=settings.low_confidence, max_document_chars=settings.max_document_chars,
        report_max_sentences=settings.report_max_sentences,
        progress=not args.quiet and sys.stderr.isatty(),
        follow_links=args.follow_links, wait=args.wait,
        records=RecordOptions(text_field=args.text_field, id_field=args.id_field, meta_fields=meta),
        meta=MetaSources(patterns=patterns, table=table),
        share_replicates=settings.share_replicates, share_seed=settings.share_seed,
        xlsx_max_sentences=settings.xlsx_max_sentences,
        cluster=cluster,
    )


def _tag_summary(result: TagRunResult) -> str:
    totals = result.totals
    reused = f" ({totals.reused:,} reused)" if totals.reused else ""
    return (f"tagged {totals.tagged:,} documents{reused}, skipped {totals.skipped:,},"
            f" failed {totals.failed:,}: {totals.sentences:,} sentences in {result.seconds:.1f} s"
            f" -> {result.out_dir}")


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM ends the run like Ctrl-C: workers stopped, temporary files removed.
    raise SystemExit(128 + signum)


def _cmd_tag(args: argparse.Namespace) -> int:
    """``plantheme tag DIR``: 0 (all tagged or skipped), 1 (any failed, or the run failed),
    2 (bad arguments, or the output folder is in use)."""
    from .tagging.corpus_tagging import tag_folder
    from .tagging.run_lock import OutputLocked

    options = _tag_options(args)
    if isinstance(options, str):
        _say(f"plantheme: error: {options}")
        return 2

    def waiting(pid: int | None) -> None:
        _say(f"plantheme: waiting for process {pid or '?'} to finish writing to {options.out_dir}")

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        result = tag_folder(options, on_wait=waiting)
    except OutputLocked as exc:
        _say(f"plantheme: error: {exc}")
        return 2
    except OSError as exc:  # the library turns its own writes into messages; this is the last resort
        where = os.fsdecode(exc.filename) if exc.filename else str(options.out_dir)
        raise PlanthemeError(f"{where}: {exc.strerror or exc}") from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not args.quiet:
        _say(_tag_summary(result))
    return result.exit_status


# --- compare -------------------------------------------------------------------


def _cmd_compare(args: argparse.Namespace) -> int:
    """``plantheme compare OUT A B``: each theme's share in A and B and their difference."""
    from .analysis.comparison import (
        compare_selections, comparison_as_json, format_comparison, read_tagged_corpus,
    )
    from .tagging.tag_outputs import MANIFEST_JSON

    corpus = read_tagged_corpus(Path(args.out) / MANIFEST_JSON)
    comparison = compare_selections(corpus, args.a, args.b)
    if args.json:
        print(json.dumps(comparison_as_json(comparison), ensure_ascii=False))
    else:
        print(format_comparison(comparison))
    return 0


# --- serve ---------------------------------------------------------------------


def _cmd_serve(args: argparse.Namespace) -> int:
    from plantheme_service.run import serve

    return serve(host=args.host, port=args.port, model_dir=args.model, workers=args.workers)


# --- review --------------------------------------------------------------------


def _cmd_review(args: argparse.Namespace) -> int:
    """``plantheme review OUT --labels DIR``: import answers, export the queue, or serve the labelling page."""
    from .review.store import LABELS_FILE, LabelStore

    if args.out is None and args.import_file is None:
        raise PlanthemeError("give the output folder of `plantheme tag` to choose sentences from"
                             " (or --import FILE to add labels)")
    if args.out is not None and not (args.out / "manifest.json").is_file():
        raise PlanthemeError(f"{args.out}: not a `plantheme tag` output folder (no manifest.json);"
                             " tag a folder first with `plantheme tag DIR --out OUT`")
    store = LabelStore(args.labels)
    if args.import_file is not None:
        from .review.exchange import read_answers

        imported = read_answers(args.import_file)
        added = sum(store.add(answer) for answer in imported.answers)
        for problem in imported.left_out[:20]:
            _say(f"plantheme: left out {problem}")
        print(f"imported {added} labels from {args.import_file} into {store.folder / LABELS_FILE}"
              f" ({len(imported.answers) - added} already there, {len(imported.left_out)} left out)")
        if args.out is None:
            return 0
    items, model_id = _review_queue(args, store)
    if args.export is not None:
        from .review.exchange import export_queue

        export_queue(items, args.export, args.format, model_id)
        print(f"wrote {len(items)} sentences to {args.export} ({args.format})")
        return 0
    return _serve_review(args, store, items, model_id)


def _review_queue(args: argparse.Namespace, store: Any) -> tuple[list[Any], str]:
    from .model.persistence import load_predictor
    from .review.queue import read_tag_output
    from .review.queue_file import queue_for

    output = read_tag_output(args.out)
    for problem in output.problems[:20]:
        _say(f"plantheme: left out {problem}")
    settings = load_settings(model_dir=args.model)
    # The model that tagged the output, unless --model (or PLANTHEME_MODEL_DIR) names another.
    model_dir = args.model or (output.model_dir if output.model_dir and output.model_dir.is_dir() and
                               "PLANTHEME_MODEL_DIR" not in os.environ else settings.model_dir)
    model, _ = load_predictor(model_dir)
    if output.model_id and model.model_id != output.model_id:
        _say(f"plantheme: note: {args.out} was tagged with {output.model_id}; guesses come from {model.model_id}")
    size = args.size or settings.review_size
    items = queue_for(output, model, store, size, strategy=args.strategy,
                      near_duplicate=settings.review_near_duplicate, min_chars=settings.review_min_chars,
                      max_chars=settings.max_document_chars)
    return items, model.model_id


def _serve_review(args: argparse.Namespace, store: Any, items: list[Any], model_id: str) -> int:
    import getpass

    from .review.server import ReviewSession, make_server
    from .review.store import LABELS_FILE

    who = args.who or getpass.getuser()
    session = ReviewSession(items, store, who=who, model_id=model_id)
    port = load_settings().review_port if args.port is None else args.port
    try:
        server = make_server(session, port)
    except OSError as exc:
        raise PlanthemeError(f"--port {port}: cannot listen on 127.0.0.1 ({exc.strerror or exc});"
                             " give another port, or --port 0 for any free one") from None
    state = session.state()
    print(f"labelling {state['total']} sentences ({state['done']} answered) at"
          f" http://127.0.0.1:{server.server_address[1]}/ ; answers go to {store.folder / LABELS_FILE};"
          " Ctrl-C stops", flush=True)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
    print(f"stopped; {session.state()['labels']} labels in {store.folder / LABELS_FILE}", flush=True)
    return 0


# --- parser --------------------------------------------------------------------


def _number(convert: Callable[[str], Any], kind: str, accept: Callable[[Any], bool],
            requirement: str) -> Callable[[str], Any]:
    """An argparse type: ``convert`` the value (else "is not a ``kind``"), then check it (else "is not
    ``requirement``"), so every numeric option is refused the same way, by the parser."""
    def check(value: str) -> Any:
        try:
            number = convert(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a {kind}") from None
        if not accept(number):
            raise argparse.ArgumentTypeError(f"{value} is not {requirement}")
        return number
    return check


_positive_int = _number(int, "whole number", lambda n: n >= 1, "a positive number")
_port = _number(int, "whole number", lambda n: 0 <= n <= 65535, "a port (0 to 65535)")
_share = _number(float, "number", lambda x: 0.0 < x <= 1.0, "in (0, 1]")


def _scheduler(value: str) -> str:
    """``tcp://HOST:PORT`` or ``local:N`` (checked without importing Dask)."""
    from .tagging.document_jobs import parse_scheduler

    try:
        parse_scheduler(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _help_epilog() -> str:
    """What every command shares: exit statuses, the files read, the PLANTHEME_* variables
    (from the readers' suffixes and the settings object, so the help cannot drift from them)."""
    from .readers.documents import SUPPORTED_SUFFIXES
    from .readers.folder_scan import RECORD_SUFFIXES
    from .settings import Settings

    variables = ", ".join(f"PLANTHEME_{name.upper()}" for name in Settings.model_fields)
    paragraphs = [
        "exit status: 0 done; 1 an error, one line on stderr (for tag: also any file that failed,"
        " its outputs still written); 2 bad arguments, or an output folder another run is writing;"
        " 130 interrupted.",
        f"documents read (tag, extract, review): {' '.join(sorted(SUPPORTED_SUFFIXES))} (UTF-8, GBK/GB18030,"
        f" Big5, UTF-16 told apart), and files of records: {' '.join(sorted(RECORD_SUFFIXES))}.",
        f"environment: every limit and default is read from a variable: {variables}; see README, Limits.",
    ]
    return "\n\n".join(textwrap.fill(paragraph, 79) for paragraph in paragraphs)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose top-level help ends with :func:`_help_epilog`, built only when
    help is printed (it imports the readers and the settings, which a command may not need)."""

    def format_help(self) -> str:
        if self.epilog is None and self.prog == "plantheme":
            self.epilog = _help_epilog()
        return super().format_help()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(
        prog="plantheme",
        description="Tag sentences of Chinese local-government plans with their policy theme.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"plantheme {__version__}",
                        help="print plantheme's version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "train", help="train a model on labelled sentences and documents (grouped CV report)",
        description="Train on every CSV/JSONL/XLSX file under --data (sentences: columns text, theme,"
                    " optional source, default the file name; *.documents.jsonl are whole"
                    " labelled documents for the context stage). Never overwrites a model unasked: without"
                    " --out it writes a new folder under models/; an existing --out needs --force.")
    p.add_argument("--data", type=Path, nargs="+", default=[DEFAULT_LABELS], metavar="DIR",
                   help="folders or files of labelled CSV/JSONL/XLSX (default: the shipped labels/)")
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
    p.add_argument("--unlabelled", type=Path, nargs="+", default=[], metavar="DIR",
                   help="folders of unlabelled documents to self-train on: the first model tags them and"
                        " its confident sentences become extra, down-weighted rows (default: none)")
    p.add_argument("--exclude", type=Path, nargs="+", default=[], metavar="FILE",
                   help="paths or globs (relative to each --unlabelled folder) not to self-train on, one per"
                        " line, or span-label CSVs whose documents to leave out (keep a dev set honest)")
    p.add_argument("--pseudo-threshold", type=_share, default=0.9, metavar="P",
                   help="confidence a pseudo-label needs, in (0, 1] (default 0.9)")
    p.add_argument("--pseudo-weight", type=_share, default=0.3, metavar="W",
                   help="sample weight of a pseudo-label against a human label's 1, in (0, 1] (default 0.3)")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "evaluate", help="score a model on labelled sentences, or on span labels of whole documents",
        description="FILE is a CSV/JSONL/XLSX of sentences (fields text, theme), or a CSV of span labels"
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
    p.add_argument("--scheduler", type=_scheduler, default=None, metavar="ADDRESS",
                   help="tag on a Dask cluster instead: tcp://HOST:PORT of its scheduler, or local:N for"
                        " N local Dask worker processes (needs pip install 'plantheme[dask]')")
    p.add_argument("--glob", default=None, metavar="PATTERN",
                   help="only files whose path relative to DIR matches PATTERN, e.g. '**/*.txt'")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--follow-links", action="store_true",
                   help="also follow links to files outside DIR (default: only links inside it)")
    p.add_argument("--wait", action="store_true",
                   help="wait for another run writing to the same output folder (default: exit 2)")
    p.add_argument("--text-field", default=None, metavar="NAME",
                   help="field of .jsonl records / column of .csv files holding a document's text"
                        " (default for .jsonl: content, text or 正文; .csv files are read only with it)")
    p.add_argument("--id-field", default=None, metavar="NAME",
                   help="field naming each record (default: its record number); documents are FILE#ID")
    p.add_argument("--meta-fields", default=None, metavar="A,B",
                   help="record fields carried into documents.csv columns")
    p.add_argument("--meta", type=Path, default=None, metavar="FILE.csv",
                   help="metadata table: a 'path' column (relative to DIR, as in documents.csv) and one"
                        " column per field (year, place, level ...)")
    p.add_argument("--meta-pattern", action="append", default=None, metavar="NAME=REGEX",
                   help="a field from each document's path: NAME=REGEX (the first group, else the match),"
                        " or a regex with named groups such as '(?P<year>20\\d\\d)'; repeatable")
    p.set_defaults(func=_cmd_tag)

    p = sub.add_parser(
        "review", help="choose the sentences worth labelling and label them in a local page",
        description="Choose the sentences of a `plantheme tag` output the model is least sure of (diverse,"
                    " balanced across predicted themes, no furniture or duplicates of labelled text) and"
                    " serve a labelling page on 127.0.0.1; every answer is appended to DIR/review-labels.csv"
                    " at once. Train on it with `plantheme train --data labels/ DIR`.")
    p.add_argument("out", type=Path, nargs="?", default=None, help="output folder of `plantheme tag`")
    p.add_argument("--labels", type=Path, required=True, metavar="DIR", help="folder the answers are written to")
    p.add_argument("--size", type=_positive_int, default=None, metavar="N",
                   help="sentences in the queue (default 200, PLANTHEME_REVIEW_SIZE)")
    p.add_argument("--strategy", choices=("margin", "entropy", "random"), default="margin",
                   help="uncertainty measure (default margin); random is the baseline")
    p.add_argument("--export", type=Path, default=None, metavar="FILE",
                   help="write the queue to FILE instead of serving it")
    p.add_argument("--format", choices=("jsonl", "label-studio", "prodigy"), default="jsonl",
                   help="format of --export (default jsonl)")
    p.add_argument("--import", dest="import_file", type=Path, default=None, metavar="FILE",
                   help="add the labels of a Label Studio JSON export (.json) or Prodigy answers (.jsonl)")
    p.add_argument("--port", type=_port, default=None, help="port on 127.0.0.1 (default 8765; 0: any free one)")
    p.add_argument("--who", default=None, help="name written with each answer (default: the user name)")
    p.add_argument("--model", type=Path, default=None,
                   help="model for the guesses (default: the one that tagged OUT)")
    p.set_defaults(func=_cmd_review)

    p = sub.add_parser(
        "compare", help="two documents or groups of a tagged folder: each theme's share and difference",
        description="A and B are document paths as in documents.csv, or groups field=value (year=2024)."
                    " Prints each theme's corrected share in A and B and A - B with its 95% bootstrap"
                    " interval; a difference is clear when that interval excludes 0.")
    p.add_argument("out", type=Path, help="output folder of `plantheme tag`")
    p.add_argument("a", help="document path or field=value")
    p.add_argument("b", help="document path or field=value")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("serve", help="start the HTTP prediction service")
    p.add_argument("--host", default=None, help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=None, help="port (default 8000)")
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
