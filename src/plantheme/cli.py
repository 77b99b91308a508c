"""The ``plantheme`` command line (click): thin wrappers over the library functions.

Errors the user can fix are one line on stderr and a non-zero exit status,
never a traceback: 1 for a failed run, 2 for bad arguments. Commands import
what they need when they run, so that ``--help`` and ``predict`` start fast.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, BinaryIO

import click
from click.core import ParameterSource

from . import __version__
from .errors import PlanthemeError
from .settings import REPO_ROOT, is_checkout, load_settings, setting_variable

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


# The arguments of tag and review: typed records built from the parsed options (not dataclasses, which
# cost 0.5 ms of start-up each, measured; these cost microseconds).
class TagArguments(SimpleNamespace):
    """What ``plantheme tag`` was given, as the parser read it (checked further by :func:`_tag_options`)."""

    dir: Path
    out: Path | None
    model: Path | None
    jobs: int | None
    scheduler: str | None
    glob: str | None
    quiet: bool
    follow_links: bool
    wait: bool
    text_field: str | None
    id_field: str | None
    meta_fields: str | None
    meta: Path | None
    meta_pattern: tuple[str, ...]


class ReviewArguments(SimpleNamespace):
    """What ``plantheme review`` was given, as the parser read it."""

    out: Path | None
    labels: Path
    size: int | None
    strategy: str
    export: Path | None
    format: str
    import_file: Path | None
    port: int | None
    who: str | None
    model: Path | None


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


def _cmd_train(
    *,
    data: tuple[Path, ...],
    out: Path | None,
    force: bool,
    folds: int,
    features: str | None,
    no_context: bool,
    jobs: int,
    show_errors: int,
    unlabelled: tuple[Path, ...],
    exclude: tuple[Path, ...],
    span_root: Path | None,
    pseudo_threshold: float,
    pseudo_weight: float,
) -> int:
    """``plantheme train``: grouped-CV model selection, the report on stdout, the model folder written."""
    from .training.evaluate import format_errors, format_report
    from .training.labels import (
        document_rows,
        read_documents_dir,
        read_labelled_dir,
        read_span_documents,
        span_files,
    )
    from .model.persistence import save_model
    from .training.pseudo import read_exclusions, read_unlabelled
    from .training.train import SelfTraining, candidate_grid, train_model

    out = _train_out(out, force)
    rows = [row for folder in data for row in read_labelled_dir(folder)]
    documents = [doc for folder in data for doc in read_documents_dir(folder)]
    sources = ", ".join(str(folder) for folder in data)
    _say(f"read {len(rows)} labelled sentences ({len(documents)} whole documents) from {sources}")
    labelled_paths: list[str] = []
    spans = [file for folder in data for file in span_files(folder)]
    if spans and span_root is None:
        _say(
            f"not used: {len(spans)} span-label file{'s' if len(spans) != 1 else ''} ({', '.join(f.name for f in spans)});"
            " give the folder their paths are relative to with --span-root DIR"
        )
    elif spans and span_root is not None:
        if not span_root.is_dir():
            raise PlanthemeError(f"{span_root}: no such folder (--span-root)")
        corpus = read_span_documents(spans, span_root, max_chars=load_settings().max_document_chars)
        rows += document_rows(corpus)
        documents += corpus
        labelled_paths = [doc.doc for doc in corpus]
        _say(f"read {sum(len(d.spans) for d in corpus)} span labels of {len(corpus)} documents under {span_root}")
    themes = len({row.theme for row in rows})
    if len(rows) < MIN_TRAIN_ROWS or themes < 2:
        raise PlanthemeError(
            f"{sources}: need at least {MIN_TRAIN_ROWS} rows and 2 themes to train"
            f" (found {len(rows)} rows, {themes} theme{'s' if themes != 1 else ''})"
        )
    self_training = None
    if unlabelled:
        documents_to_label = read_unlabelled(
            list(unlabelled),
            # A labelled document is never also a source of pseudo-labels.
            read_exclusions(list(exclude)) + labelled_paths,
            max_chars=load_settings().max_document_chars,
            progress=_say,
        )
        if documents_to_label:
            _say(f"read {len(documents_to_label)} unlabelled documents to self-train on")
            self_training = SelfTraining(documents_to_label, threshold=pseudo_threshold, weight=pseudo_weight)
        else:
            # Every document there is labelled or excluded: a second CV run would learn nothing new.
            _say(f"no unlabelled documents left under {', '.join(map(str, unlabelled))}: self-training skipped")
    try:
        result = train_model(
            rows,
            grid=candidate_grid(features),
            folds=folds,
            n_jobs=jobs,
            progress=_say,
            documents=() if no_context else documents,
            self_training=self_training,
        )
    except ValueError as exc:  # scikit-learn refuses a fold (e.g. one theme only in its training part)
        raise PlanthemeError(f"{sources}: cannot train on these rows: {exc}".replace("\n", " ")) from None
    # Every folder trained on, as given (the files and their rows are in training["files"]).
    result.card.training["data"] = [str(folder) for folder in data]
    card = save_model(result.model, result.card, out)
    print(f"chosen by grouped {card.cv['folds']}-fold CV: " + ", ".join(f"{k}={v}" for k, v in result.params.items()))
    if card.self_training:
        st = card.self_training
        print(
            f"self-trained on {st['rows']} sentences of {st['documents']} unlabelled documents"
            f" (confidence >= {st['threshold']}, weight {st['weight']}); labels alone: macro-F1"
            f" {card.cv['macro_f1']:.3f}, accuracy {card.cv['accuracy']:.3f}; with them (below):"
        )
    print(format_report(result.report))
    print("\naccuracy by source (out of fold)")
    for source, (n, accuracy) in result.by_source.items():
        print(f"  {source:<40} {accuracy:.3f}  ({n} rows)")
    if result.context is not None:
        ctx = result.context
        print(
            f"\ncontext stage, grouped CV over {ctx.documents} documents ({ctx.units} sentences):"
            f" sentence model alone macro-F1 {ctx.sentence_only.macro_f1:.3f}"
        )
        for C, report in ctx.candidates:
            print(f"  C={C}: macro-F1 {report.macro_f1:.3f}, accuracy {report.accuracy:.3f}")
        for kind, (n_docs, alone, best) in ctx.by_kind.items():
            print(
                f"  {kind} documents ({n_docs}, {alone.n} sentences): macro-F1 {alone.macro_f1:.3f} alone"
                f" -> {best.macro_f1:.3f} with context (accuracy {alone.accuracy:.3f} -> {best.accuracy:.3f})"
            )
        print(f"  {'kept, C=' + str(ctx.chosen_C) if ctx.chosen_C is not None else 'not kept (no better than alone)'}")
    if show_errors:
        print("\n" + format_errors(result.misclassified[:show_errors], len(result.misclassified), scope=" in CV"))
    print(f"\nwrote model {card.model_id} to {out}")
    return 0


# --- evaluate ------------------------------------------------------------------


def _is_span_file(path: Path) -> bool:
    """True for a CSV of span labels (a header with path, start and end)."""
    from .training.labels import read_columns

    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    return {"path", "start", "end"} <= set(read_columns(path))


def _cmd_evaluate_documents(
    *, file: Path, root: Path | None, by_document: bool, model_dir: Path | None, as_json: bool, show_errors: int
) -> int:
    from .readers.documents import read_document
    from .training.evaluate import evaluate_documents, format_document_scores
    from .training.labels import read_span_labels

    if root is None:
        raise PlanthemeError(f"{file}: span labels point into documents; give their folder with --root DIR")
    if not root.is_dir():
        raise PlanthemeError(f"{root}: no such folder")
    folder = root  # narrowed for read_text
    rows = read_span_labels(file)
    model, _ = _load(model_dir)
    max_chars = load_settings().max_document_chars

    def read_text(path: str) -> str:
        return read_document(folder / path, max_chars=max_chars).text

    scores = evaluate_documents(model, rows, read_text)
    if as_json:
        fields = scores.to_dict(show_errors=show_errors)
        print(json.dumps({"model": model.model_id, "file": str(file), **fields}, ensure_ascii=False))
    else:
        print(f"model {model.model_id} on {file} (documents under {root})")
        print(format_document_scores(scores, per_document=by_document, show_errors=show_errors))
    return 0


def _cmd_evaluate(
    *, file: Path, root: Path | None, by_document: bool, model_dir: Path | None, as_json: bool, show_errors: int
) -> int:
    """``plantheme evaluate FILE``: scores on labelled sentences, or on span labels of documents."""
    from .training.evaluate import evaluate_stream, format_errors, format_report
    from .training.labels import iter_labelled_file

    if _is_span_file(file):
        return _cmd_evaluate_documents(
            file=file,
            root=root,
            by_document=by_document,
            model_dir=model_dir,
            as_json=as_json,
            show_errors=show_errors,
        )
    model, _ = _load(model_dir)
    problems: list[str] = []
    rows = _good_rows(iter_labelled_file(file), problems)
    # Streamed in batches: a file of any size is scored with one batch in memory.
    evaluation = evaluate_stream(model, rows, show_errors=show_errors)
    report = evaluation.report
    if problems:
        shown = "\n".join(problems[:20])
        more = len(problems) - 20
        raise PlanthemeError(shown + (f"\n… and {more} more bad rows" if more > 0 else ""))
    if not report.n:
        raise PlanthemeError(f"{file}: no labelled rows")
    errors = {"errors": [error.to_dict() for error in evaluation.errors]} if show_errors else {}
    if as_json:
        print(
            json.dumps({"model": model.model_id, "file": str(file), **report.to_dict(), **errors}, ensure_ascii=False)
        )
    else:
        print(f"model {model.model_id} on {file}")
        print(format_report(report))
        if show_errors:
            print("\n" + format_errors(evaluation.errors, evaluation.wrong))
    return 0


def _good_rows(rows: Iterator[Any], problems: list[str]) -> Iterator[Any]:
    """The rows of a labelled file that are valid; the reasons of the others go to ``problems``."""
    for row in rows:
        if isinstance(row, str):
            problems.append(row)
        else:
            yield row


# --- predict -------------------------------------------------------------------


def _stdin_lines(
    stream: BinaryIO | _EncodedLines, max_bytes: int = PREDICT_MAX_LINE_BYTES
) -> Iterator[tuple[int, str | None, str]]:
    """(line number, text, error) for each line of ``stream``: text, or None and why not.

    Bounded memory: a line longer than ``max_bytes`` is skipped in pieces.
    """
    from .readers.lines import bounded_lines

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


def _predict_batch(model: Any, batch: list[tuple[int, str]], evidence: int) -> list[str]:
    """One JSON output line per (line, text): the prediction, or an error object for that line."""
    try:
        from .model.evidence import json_lines

        texts = [text for _, text in batch]
        return json_lines(texts, model.predict(texts, evidence=evidence))
    except Exception:
        if len(batch) == 1:
            number, _ = batch[0]
            return [json.dumps({"line": number, "error": "cannot classify this text"}, ensure_ascii=False)]
        # Find the line at fault: the others are answered.
        return [out for item in batch for out in _predict_batch(model, [item], evidence)]


def _answer_lines(model: Any, lines: list[tuple[int, str | None, str]], evidence: int) -> str:
    """The output of one batch of stdin lines (number, text, error): a JSON line for each, in order,
    an error object for those without text. Run by the worker processes of ``--jobs``."""
    batch = [(number, text) for number, text, _ in lines if text is not None]
    results = iter(_predict_batch(model, batch, evidence) if batch else [])
    return "".join(
        (next(results) if text is not None else json.dumps({"line": number, "error": error}, ensure_ascii=False)) + "\n"
        for number, text, error in lines
    )


def _encoded_answer_lines(
    model: Any, lines: list[tuple[int, str | None, str]], evidence: int, encoding: str, errors: str
) -> bytes:
    """:func:`_answer_lines` encoded as stdout would encode it. A worker's answer then crosses the
    pipe as bytes, written as they are: as text, unpickling decoded it again, 0.037 s of the parent's
    CPU for the 22 MB that 40,000 lines make (measured), while the workers encode in parallel."""
    return _answer_lines(model, lines, evidence).encode(encoding, errors)


def _is_utf8(encoding: str) -> bool:
    """Whether ``encoding`` names UTF-8 itself (not UTF-8 with a signature)."""
    import codecs

    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def _warm_up(model: Any, lines: list[tuple[int, str | None, str]], evidence: int) -> None:
    """Predict the first text of a batch of stdin lines, the answer unused: what the first
    prediction builds (the segmenter, the normaliser's tables, the evidence weights) is then
    built once, here, before the workers fork and inherit it."""
    first = [line for line in lines if line[1] is not None][:1]
    if first:
        _answer_lines(model, first, evidence)


def _cmd_predict(*, texts: tuple[str, ...], model_dir: Path | None, evidence: int, jobs: int | None) -> int:
    """``plantheme predict``: one JSON line per text argument, or per stdin line."""
    model, _ = _load(model_dir)
    write = sys.stdout.write
    if texts:
        from .model.evidence import json_lines

        for line in json_lines(list(texts), model.predict(list(texts), evidence=evidence)):
            write(line + "\n")
        return 0
    if sys.stdin.isatty():
        _say("reading one text per line from stdin (Ctrl-D to end)")
    from contextlib import closing
    from functools import partial

    from .tagging.parallel_batches import available_cpus, input_ready, map_batches

    # One output line per input line, in order, batch by batch (flushed, so a pipe
    # reader sees progress): blank and undecodable lines get an error object and
    # the rest goes on. When more than one batch comes, the batches go to worker
    # processes (the first too when the second is there already: see map_batches).
    answered = False
    stream = getattr(sys.stdin, "buffer", None) or _EncodedLines(sys.stdin)
    # The answers are bytes for stdout's own buffer when stdout writes UTF-8, encoded
    # as it encodes. They stay text where stdout has no buffer, would translate line
    # ends (Windows) or encodes with a state (UTF-16's byte-order mark comes once, not
    # once per batch); any other encoding is rare enough to keep the simple path.
    encoding = getattr(sys.stdout, "encoding", None) or ""
    raw = getattr(sys.stdout, "buffer", None) if os.linesep == "\n" and _is_utf8(encoding) else None
    if raw is not None:
        sys.stdout.flush()
        work: Callable[[list[tuple[int, str | None, str]]], str | bytes] = partial(
            _encoded_answer_lines,
            model,
            evidence=evidence,
            encoding=encoding,
            errors=sys.stdout.errors or "strict",
        )
        write, flush = raw.write, raw.flush
    else:
        work = partial(_answer_lines, model, evidence=evidence)
        write, flush = sys.stdout.write, sys.stdout.flush
    answers = map_batches(
        work,
        _stdin_lines(stream, PREDICT_MAX_LINE_BYTES),
        size=PREDICT_BATCH,
        jobs=available_cpus() if jobs is None else jobs,  # the parser refuses fewer than 1
        ready=input_ready(stream),
        warm_up=partial(_warm_up, model, evidence=evidence),
    )
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        with closing(answers):  # an interrupted run stops its workers here, not when collected
            for output in answers:
                write(output)  # type: ignore[arg-type]  # bytes for raw's write, text for stdout's
                flush()
                answered = True
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not answered:
        raise PlanthemeError("no text to predict: give TEXT arguments or lines on stdin")
    return 0


# --- extract -------------------------------------------------------------------


def _cmd_extract(*, file: Path, normalized: bool) -> int:
    """``plantheme extract FILE``: the document's text as ``tag`` reads it (or as the model reads it)."""
    from .readers.documents import UnreadableDocument, read_document
    from .text.normalize import normalize

    try:
        text = read_document(file, max_chars=load_settings().max_document_chars).text
    except UnreadableDocument as problem:
        raise PlanthemeError(f"{file}: {problem.reason}") from None
    sys.stdout.write(normalize(text).text if normalized else text)
    return 0


# --- tag -----------------------------------------------------------------------


def _tag_options(args: TagArguments) -> TagOptions | str:
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
    jobs = cpu_count() if args.jobs is None else args.jobs  # the parser refuses fewer than 1
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
    for option, value in (
        ("--glob", args.glob),
        ("--text-field", args.text_field),
        ("--id-field", args.id_field),
        ("--meta-fields", args.meta_fields),
    ):
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
    cluster = (
        None
        if args.scheduler is None
        else ClusterOptions(
            scheduler=args.scheduler,
            batch_bytes=settings.dask_batch_bytes,
            connect_timeout_s=settings.dask_connect_timeout_s,
        )
    )
    return TagOptions(
        folder=folder,
        out_dir=out_dir,
        model_dir=settings.model_dir,
        jobs=jobs,
        pattern=args.glob,
        low_confidence=settings.low_confidence,
        max_document_chars=settings.max_document_chars,
        report_max_sentences=settings.report_max_sentences,
        progress=not args.quiet and sys.stderr.isatty(),
        follow_links=args.follow_links,
        wait=args.wait,
        records=RecordOptions(text_field=args.text_field, id_field=args.id_field, meta_fields=meta),
        meta=MetaSources(patterns=patterns, table=table),
        share_replicates=settings.share_replicates,
        share_seed=settings.share_seed,
        xlsx_max_sentences=settings.xlsx_max_sentences,
        cluster=cluster,
    )


def _tag_summary(result: TagRunResult) -> str:
    totals = result.totals
    reused = f" ({totals.reused:,} reused)" if totals.reused else ""
    return (
        f"tagged {totals.tagged:,} documents{reused}, skipped {totals.skipped:,},"
        f" failed {totals.failed:,}: {totals.sentences:,} sentences in {result.seconds:.1f} s"
        f" -> {result.out_dir}"
    )


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM ends the run like Ctrl-C: workers stopped, temporary files removed.
    raise SystemExit(128 + signum)


def _cmd_tag(args: TagArguments) -> int:
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


def _cmd_compare(*, out: Path, a: str, b: str, as_json: bool) -> int:
    """``plantheme compare OUT A B``: each theme's share in A and B and their difference."""
    from .analysis.comparison import (
        compare_selections,
        comparison_as_json,
        format_comparison,
        read_tagged_corpus,
    )
    from .tagging.tag_outputs import MANIFEST_JSON

    corpus = read_tagged_corpus(out / MANIFEST_JSON)
    comparison = compare_selections(corpus, a, b)
    if as_json:
        print(json.dumps(comparison_as_json(comparison), ensure_ascii=False))
    else:
        print(format_comparison(comparison))
    return 0


# --- serve ---------------------------------------------------------------------


def _cmd_serve(*, host: str | None, port: int | None, model_dir: Path | None, workers: int | None) -> int:
    """``plantheme serve``: the HTTP service until interrupted (its own checks give 1 or 2)."""
    from plantheme_service.run import serve

    return serve(host=host, port=port, model_dir=model_dir, workers=workers)


# --- review --------------------------------------------------------------------


def _cmd_review(args: ReviewArguments) -> int:
    """``plantheme review OUT --labels DIR``: import answers, export the queue, or serve the labelling page."""
    from .review.store import LABELS_FILE, LabelStore

    if args.out is None and args.import_file is None:
        raise PlanthemeError(
            "give the output folder of `plantheme tag` to choose sentences from (or --import FILE to add labels)"
        )
    if args.out is not None and not (args.out / "manifest.json").is_file():
        raise PlanthemeError(
            f"{args.out}: not a `plantheme tag` output folder (no manifest.json);"
            " tag a folder first with `plantheme tag DIR --out OUT`"
        )
    store = LabelStore(args.labels)
    if args.import_file is not None:
        from .review.exchange import read_answers

        imported = read_answers(args.import_file)
        added = sum(store.add(answer) for answer in imported.answers)
        for problem in imported.left_out[:20]:
            _say(f"plantheme: left out {problem}")
        print(
            f"imported {added} labels from {args.import_file} into {store.folder / LABELS_FILE}"
            f" ({len(imported.answers) - added} already there, {len(imported.left_out)} left out)"
        )
    if args.out is None:  # labels imported, nothing to choose from
        return 0
    items, model_id = _review_queue(args, args.out, store)
    if args.export is not None:
        from .review.exchange import export_queue

        export_queue(items, args.export, args.format, model_id)
        print(f"wrote {len(items)} sentences to {args.export} ({args.format})")
        return 0
    return _serve_review(args, store, items, model_id)


def _review_queue(args: ReviewArguments, out: Path, store: Any) -> tuple[list[Any], str]:
    from .model.persistence import load_predictor
    from .review.queue import read_tag_output
    from .review.queue_file import queue_for

    output = read_tag_output(out)
    for problem in output.problems[:20]:
        _say(f"plantheme: left out {problem}")
    settings = load_settings(model_dir=args.model)
    # The model that tagged the output, unless --model (or PLANTHEME_MODEL_DIR, read into it) names another.
    model_dir = args.model or (
        output.model_dir if output.model_dir and output.model_dir.is_dir() else settings.model_dir
    )
    model, _ = load_predictor(model_dir)
    if output.model_id and model.model_id != output.model_id:
        _say(f"plantheme: note: {out} was tagged with {output.model_id}; guesses come from {model.model_id}")
    size = args.size or settings.review_size
    items = queue_for(
        output,
        model,
        store,
        size,
        strategy=args.strategy,
        near_duplicate=settings.review_near_duplicate,
        min_chars=settings.review_min_chars,
        max_chars=settings.max_document_chars,
    )
    return items, model.model_id


def _serve_review(args: ReviewArguments, store: Any, items: list[Any], model_id: str) -> int:
    import getpass

    from .review.server import ReviewSession, make_server
    from .review.store import LABELS_FILE

    who = args.who or getpass.getuser()
    session = ReviewSession(items, store, who=who, model_id=model_id)
    port = load_settings().review_port if args.port is None else args.port
    try:
        server = make_server(session, port)
    except OSError as exc:
        raise PlanthemeError(
            f"--port {port}: cannot listen on 127.0.0.1 ({exc.strerror or exc});"
            " give another port, or --port 0 for any free one"
        ) from None
    state = session.state()
    print(
        f"labelling {state['total']} sentences ({state['done']} answered) at"
        f" http://127.0.0.1:{server.server_address[1]}/ ; answers go to {store.folder / LABELS_FILE};"
        " Ctrl-C stops",
        flush=True,
    )
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


# --- the command line: types, options and commands -------------------------------------


class _WholeNumber(click.IntRange):
    """A whole number within bounds, refused in words: "'x' is not a whole number", "0 is not a
    positive number" (click's own range type shows the bounds in help; its messages show x>=1)."""

    def __init__(self, min: int | None = None, max: int | None = None, *, requirement: str) -> None:
        super().__init__(min=min, max=max)
        self.requirement = requirement

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a whole number", param, ctx)
        if not _within(number, self):
            self.fail(f"{number} is not {self.requirement}", param, ctx)
        return number


class _Share(click.FloatRange):
    """A number in (0, 1], refused in words like :class:`_WholeNumber`."""

    def __init__(self) -> None:
        super().__init__(min=0.0, max=1.0, min_open=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not _within(number, self):
            self.fail(f"{value} is not in (0, 1]", param, ctx)
        return number


def _within(number: float, bounds: click.IntRange | click.FloatRange) -> bool:
    """True when ``number`` is inside the range's bounds (NaN is inside none)."""
    low = bounds.min is None or (number > bounds.min if bounds.min_open else number >= bounds.min)
    high = bounds.max is None or (number < bounds.max if bounds.max_open else number <= bounds.max)
    return bool(low and high)


POSITIVE = _WholeNumber(min=1, requirement="a positive number")
FOLDS = _WholeNumber(min=2, requirement="a number of folds (2 or more)")
COUNT = _WholeNumber(min=0, requirement="a count (0 or more)")
PORT = _WholeNumber(min=0, max=65535, requirement="a port (0 to 65535)")
SHARE = _Share()
PATH = click.Path(path_type=Path)


class _SchedulerAddress(click.ParamType):
    """``tcp://HOST:PORT`` or ``local:N`` (checked without importing Dask)."""

    name = "address"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from .tagging.document_jobs import parse_scheduler

        try:
            parse_scheduler(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return str(value)


class _SettingOption(click.Option):
    """An option backed by the settings object: ``PLANTHEME_<SETTING>`` is its environment variable
    and its help shows the setting's default, read from :class:`~plantheme.settings.Settings` when help
    is printed. Its own default stays None, so that the command asks the settings for the value."""

    def __init__(self, *args: Any, setting: str, show_setting_default: bool = True, **kwargs: Any) -> None:
        kwargs.update(envvar=setting_variable(setting), show_envvar=True)
        super().__init__(*args, **kwargs)
        self.setting = setting
        self.show_setting_default = show_setting_default

    def get_error_hint(self, ctx: click.Context | None) -> str:
        # Name the variable only when the bad value came from it (click names it always).
        if ctx is not None and self.name and ctx.get_parameter_source(self.name) is ParameterSource.ENVIRONMENT:
            return super().get_error_hint(ctx)
        return click.Parameter.get_error_hint(self, ctx)

    def get_help_extra(self, ctx: click.Context) -> Any:
        from .settings import Settings

        extra = super().get_help_extra(ctx)
        if self.show_setting_default:
            extra["default"] = str(Settings.model_fields[self.setting].default)
        return extra


class _Variadic(click.Option):
    """An option taking one or more values, ``--data a b`` (and repeatable, ``--data a --data b``):
    :meth:`_Command.parse_args` spreads the values, since click options take a fixed number."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(multiple=True)
        super().__init__(*args, **kwargs)


def _spread(args: list[str], variadic: set[str]) -> list[str]:
    """``--data a b --out c`` as ``--data a --data b --out c``: every value after a variadic option,
    up to the next option (or ``--``), gets the option's name before it."""
    spread: list[str] = []
    current: str | None = None  # the variadic option being read
    first = False  # its first value comes next, as for any option
    for index, arg in enumerate(args):
        if arg == "--":
            spread.extend(args[index:])
            break
        if arg.startswith("-") and arg != "-":
            name, equals, _ = arg.partition("=")
            current = name if name in variadic else None
            first = current is not None and not equals
            spread.append(arg)
        elif current is not None and not first:
            spread.extend((current, arg))
        else:
            first = False
            spread.append(arg)
    return spread


def _help_epilog() -> list[str]:
    """What every command shares: exit statuses, the files read, the PLANTHEME_* variables
    (from the readers' suffixes and the settings object, so the help cannot drift from them)."""
    from .readers.documents import SUPPORTED_SUFFIXES
    from .readers.folder_scan import RECORD_SUFFIXES
    from .settings import setting_variables

    variables = ", ".join(setting_variables())
    return [
        "exit status: 0 done; 1 an error, one line on stderr (for tag: also any file that failed,"
        " its outputs still written); 2 bad arguments, or an output folder another run is writing;"
        " 130 interrupted.",
        f"documents read (tag, extract, review): {' '.join(sorted(SUPPORTED_SUFFIXES))} (UTF-8, GBK/GB18030,"
        f" Big5, UTF-16 told apart), and files of records: {' '.join(sorted(RECORD_SUFFIXES))}.",
        f"environment: every limit and default is read from a variable: {variables}; see README, Limits.",
    ]


def _write_epilog(formatter: click.HelpFormatter) -> None:
    # Built when help is printed: it imports the readers and the settings, which a command may not need.
    for paragraph in _help_epilog():
        formatter.write_paragraph()
        formatter.write_text(paragraph)


class _Command(click.Command):
    """A subcommand: variadic options spread before parsing, the shared epilog in its help."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        variadic = {name for param in self.params if isinstance(param, _Variadic) for name in param.opts}
        return super().parse_args(ctx, _spread(args, variadic) if variadic else args)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _write_epilog(formatter)


# name -> the function building that command, in the order of work (how help lists them).
_COMMANDS: dict[str, Callable[[], click.Command]] = {}


def _lazy(name: str) -> Callable[[Callable[[], click.Command]], Callable[[], click.Command]]:
    """Register the function building command ``name``: a run builds only its own command (start-up)."""

    def register(build: Callable[[], click.Command]) -> Callable[[], click.Command]:
        _COMMANDS[name] = build
        return build

    return register


class _Group(click.Group):
    """The ``plantheme`` group: its commands built when asked for, listed in the order of work."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _COMMANDS:
            self.add_command(_COMMANDS[cmd_name](), cmd_name)
        return self.commands.get(cmd_name)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        _write_epilog(formatter)


def _model_option(name: str = "model_dir", help: str = "model folder", show_default: bool = True) -> Any:
    """``--model DIR``, as every command that loads a model takes it (PLANTHEME_MODEL_DIR)."""
    return click.option(
        "--model",
        name,
        cls=_SettingOption,
        setting="model_dir",
        type=PATH,
        default=None,
        metavar="DIR",
        show_setting_default=show_default,
        help=help,
    )


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True},
    help="Tag sentences of Chinese local-government plans with their policy theme.",
)
@click.version_option(
    __version__,
    "--version",
    prog_name="plantheme",
    message="%(prog)s %(version)s",
    help="print plantheme's version and exit",
)
def cli() -> None:
    """The group; each command does the work."""


@_lazy("train")
def _train_command() -> click.Command:
    @click.command(
        "train",
        cls=_Command,
        short_help="train a model on labelled sentences and documents (grouped CV report)",
        help="Train on every CSV/JSONL/XLSX file under --data (sentences: columns text, theme, optional source,"
        " default the file name; *.documents.jsonl are whole labelled documents for the context stage;"
        " *.spans.csv are span labels of documents under --span-root, read only with it)."
        " Never overwrites a model unasked: without --out it writes a new folder under models/; an existing"
        " --out needs --force.",
    )
    @click.option(
        "--data",
        cls=_Variadic,
        type=PATH,
        default=(DEFAULT_LABELS,),
        show_default=False,
        metavar="DIR...",
        help="folders or files of labelled CSV/JSONL/XLSX, one or more (default: the shipped labels/)",
    )
    @click.option(
        "--out",
        type=PATH,
        default=None,
        metavar="DIR",
        help="model folder to write (default: a new models/model-DATE-TIME)",
    )
    @click.option("--force", is_flag=True, help="replace the model folder --out if it exists")
    @click.option("--folds", type=FOLDS, default=5, metavar="N", help="grouped CV folds")
    @click.option(
        "--features",
        type=click.Choice(["word", "char", "union"]),
        default=None,
        help="only try this feature set (default: character n-grams, 1-2 and 1-3)",
    )
    @click.option("--no-context", is_flag=True, help="do not train the document context stage")
    @click.option("--jobs", type=POSITIVE, default=1, metavar="N", help="parallel CV folds")
    @click.option(
        "--show-errors", type=COUNT, default=0, metavar="N", help="also print the first N rows misclassified in CV"
    )
    @click.option(
        "--unlabelled",
        cls=_Variadic,
        type=PATH,
        default=(),
        show_default=False,
        metavar="DIR...",
        help="folders of unlabelled documents to self-train on: the first model tags them and its confident"
        " sentences become extra, down-weighted rows (default: none)",
    )
    @click.option(
        "--exclude",
        cls=_Variadic,
        type=PATH,
        default=(),
        show_default=False,
        metavar="FILE...",
        help="paths or globs (relative to each --unlabelled folder) not to self-train on, one per line, or"
        " span-label CSVs whose documents to leave out (keep a dev set honest)",
    )
    @click.option(
        "--span-root",
        type=PATH,
        default=None,
        metavar="DIR",
        help="folder the paths of *.spans.csv labels are relative to: their documents are read, each labelled"
        " span becomes a row and each document a whole document for the context stage (and is never"
        " self-trained on); without it those files are reported and not used",
    )
    @click.option(
        "--pseudo-threshold", type=SHARE, default=0.9, metavar="P", help="confidence a pseudo-label needs, in (0, 1]"
    )
    @click.option(
        "--pseudo-weight",
        type=SHARE,
        default=0.3,
        metavar="W",
        help="sample weight of a pseudo-label against a human label's 1, in (0, 1]",
    )
    def train(**options: Any) -> int:
        return _cmd_train(**options)

    return train


@_lazy("evaluate")
def _evaluate_command() -> click.Command:
    @click.command(
        "evaluate",
        cls=_Command,
        short_help="score a model on labelled sentences, or on span labels of whole documents",
        help="FILE is a CSV/JSONL/XLSX of sentences (fields text, theme), or a CSV of span labels (path, start, end,"
        " theme; optional genre, sha) pointing into documents under --root: those are tagged as `plantheme tag`"
        " tags them (context included) and each label is matched to the tagged sentence that covers it.",
    )
    @click.argument("file", type=PATH)
    @click.option(
        "--root", type=PATH, default=None, metavar="DIR", help="folder the span labels' paths are relative to"
    )
    @click.option("--by-document", is_flag=True, help="span labels: also a line per document")
    @click.option(
        "--show-errors",
        type=COUNT,
        default=0,
        metavar="N",
        help="also print the first N labels the model gets wrong, in file order (span labels: in document order),"
        " with the label's file:line and the sentence the model read",
    )
    @_model_option()
    @click.option("--json", "as_json", is_flag=True, help="print one JSON object")
    def evaluate(**options: Any) -> int:
        return _cmd_evaluate(**options)

    return evaluate


@_lazy("extract")
def _extract_command() -> click.Command:
    @click.command("extract", cls=_Command, help="print a document's text as plantheme reads it (spans index it)")
    @click.argument("file", type=PATH)
    @click.option("--normalized", is_flag=True, help="print the normalised text instead")
    def extract(**options: Any) -> int:
        return _cmd_extract(**options)

    return extract


@_lazy("predict")
def _predict_command() -> click.Command:
    @click.command(
        "predict",
        cls=_Command,
        short_help="predict the theme of texts (arguments or stdin lines)",
        help="predict the theme of texts (arguments or stdin lines); one JSON line per text,"
        " and per stdin line (an error object for an empty or unreadable one)",
    )
    @click.argument("texts", metavar="[TEXT]...", nargs=-1)
    @_model_option()
    @click.option("--evidence", type=COUNT, default=5, metavar="N", help="tokens of evidence per prediction")
    @click.option(
        "--jobs",
        type=POSITIVE,
        default=None,
        metavar="N",
        show_default="all cores",
        help="parallel processes for stdin (TEXT arguments are answered in one)",
    )
    def predict(**options: Any) -> int:
        return _cmd_predict(**options)

    return predict


@_lazy("tag")
def _tag_command() -> click.Command:
    @click.command("tag", cls=_Command, help="tag every sentence of every document in a folder")
    @click.argument("dir", type=PATH)
    @click.option(
        "--out", type=PATH, default=None, metavar="OUTDIR", help="output folder (default: DIR-tags beside DIR)"
    )
    @_model_option("model")
    @click.option(
        "--jobs", type=POSITIVE, default=None, metavar="N", show_default="all cores", help="parallel processes"
    )
    @click.option(
        "--scheduler",
        type=_SchedulerAddress(),
        default=None,
        metavar="ADDRESS",
        help="tag on a Dask cluster instead: tcp://HOST:PORT of its scheduler, or local:N for N local Dask"
        " worker processes (needs pip install 'plantheme[dask]')",
    )
    @click.option(
        "--glob",
        default=None,
        metavar="PATTERN",
        help="only files whose path relative to DIR matches PATTERN, e.g. '**/*.txt'",
    )
    @click.option("--quiet", is_flag=True, help="no progress bar")
    @click.option(
        "--follow-links", is_flag=True, help="also follow links to files outside DIR (default: only links inside it)"
    )
    @click.option(
        "--wait", is_flag=True, help="wait for another run writing to the same output folder (default: exit 2)"
    )
    @click.option(
        "--text-field",
        default=None,
        metavar="NAME",
        help="field of .jsonl records / column of .csv files holding a document's text (default for .jsonl:"
        " content, text or 正文; .csv files are read only with it)",
    )
    @click.option(
        "--id-field",
        default=None,
        metavar="NAME",
        help="field naming each record (default: its record number); documents are FILE#ID",
    )
    @click.option("--meta-fields", default=None, metavar="A,B", help="record fields carried into documents.csv columns")
    @click.option(
        "--meta",
        type=PATH,
        default=None,
        metavar="FILE.csv",
        help="metadata table: a 'path' column (relative to DIR, as in documents.csv) and one column per field"
        " (year, place, level ...)",
    )
    @click.option(
        "--meta-pattern",
        multiple=True,
        metavar="NAME=REGEX",
        help="a field from each document's path: NAME=REGEX (the first group, else the match), or a regex"
        " with named groups such as '(?P<year>20\\d\\d)'; repeatable",
    )
    def tag(**options: Any) -> int:
        """``plantheme tag DIR``: 0 (all tagged or skipped), 1 (any failed, or the run failed),
        2 (bad arguments, or the output folder is in use)."""
        return _cmd_tag(TagArguments(**options))

    return tag


@_lazy("review")
def _review_command() -> click.Command:
    @click.command(
        "review",
        cls=_Command,
        short_help="choose the sentences worth labelling and label them in a local page",
        help="Choose the sentences of a `plantheme tag` output the model is least sure of (diverse, balanced across"
        " predicted themes, no furniture or duplicates of labelled text) and serve a labelling page on"
        " 127.0.0.1; every answer is appended to DIR/review-labels.csv at once. Train on it with"
        " `plantheme train --data labels/ DIR`.",
    )
    @click.argument("out", type=PATH, required=False, default=None)
    @click.option("--labels", type=PATH, required=True, metavar="DIR", help="folder the answers are written to")
    @click.option(
        "--size",
        cls=_SettingOption,
        setting="review_size",
        type=POSITIVE,
        default=None,
        metavar="N",
        help="sentences in the queue",
    )
    @click.option(
        "--strategy",
        type=click.Choice(["margin", "entropy", "random"]),
        default="margin",
        help="uncertainty measure; random is the baseline",
    )
    @click.option(
        "--export", type=PATH, default=None, metavar="FILE", help="write the queue to FILE instead of serving it"
    )
    @click.option(
        "--format", type=click.Choice(["jsonl", "label-studio", "prodigy"]), default="jsonl", help="format of --export"
    )
    @click.option(
        "--import",
        "import_file",
        type=PATH,
        default=None,
        metavar="FILE",
        help="add the labels of a Label Studio JSON export (.json) or Prodigy answers (.jsonl)",
    )
    @click.option(
        "--port",
        cls=_SettingOption,
        setting="review_port",
        type=PORT,
        default=None,
        metavar="P",
        help="port on 127.0.0.1 (0: any free one)",
    )
    @click.option("--who", default=None, metavar="NAME", help="name written with each answer (default: the user name)")
    @_model_option("model", help="model for the guesses (default: the one that tagged OUT)", show_default=False)
    def review(**options: Any) -> int:
        return _cmd_review(ReviewArguments(**options))

    return review


@_lazy("compare")
def _compare_command() -> click.Command:
    @click.command(
        "compare",
        cls=_Command,
        short_help="two documents or groups of a tagged folder: each theme's share and difference",
        help="A and B are document paths as in documents.csv, or groups field=value (year=2024). Prints each theme's"
        " corrected share in A and B and A - B with its 95% bootstrap interval; a difference is clear when that"
        " interval excludes 0.",
    )
    @click.argument("out", type=PATH)
    @click.argument("a")
    @click.argument("b")
    @click.option("--json", "as_json", is_flag=True, help="print one JSON object")
    def compare(**options: Any) -> int:
        return _cmd_compare(**options)

    return compare


@_lazy("serve")
def _serve_command() -> click.Command:
    @click.command("serve", cls=_Command, help="start the HTTP prediction service")
    @click.option("--host", cls=_SettingOption, setting="host", default=None, metavar="HOST", help="address to bind")
    @click.option(
        "--port",
        cls=_SettingOption,
        setting="port",
        type=PORT,
        default=None,
        metavar="PORT",
        help="port (0: any free one, which the log names)",
    )
    @_model_option()
    @click.option(
        "--workers",
        cls=_SettingOption,
        setting="workers",
        type=POSITIVE,
        default=None,
        metavar="N",
        help="worker processes",
    )
    def serve(**options: Any) -> int:
        return _cmd_serve(**options)

    return serve


def _one_line(error: click.ClickException) -> str:
    """click's message for a bad command line, on one line, with where to read the usage."""
    message = " ".join(error.format_message().split()).rstrip(".")
    context = getattr(error, "ctx", None)
    return f"{message}; see '{context.command_path} --help'" if context is not None else message


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``plantheme`` console script: runs one command and returns its exit status
    (``--help`` and ``--version`` print and return 0; a bad command line prints one line and returns 2)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        with cli.make_context("plantheme", args) as ctx:
            return int(cli.invoke(ctx))
    except click.exceptions.Exit as done:  # --help, --version
        return done.exit_code
    except click.exceptions.NoArgsIsHelpError as no_command:  # plain `plantheme`: the help, as a usage error
        no_command.show()
        return no_command.exit_code
    except click.ClickException as bad:
        _say(f"plantheme: error: {_one_line(bad)}")
        return bad.exit_code
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
