"""Context-stage variants against the shipped design, by grouped CV over the labelled documents.

What ``plantheme train`` does for its context stage, with the labels it ships
(``labels/`` and the span labels into ``../shared/corpus``): out-of-fold
sentence-model probabilities of every labelled document (5 folds grouped by
document, the shipped model's settings), the context stage's inputs
(:func:`plantheme.model.context.context_features`), then each variant's stage
fitted and scored by a second CV grouped by document. Printed per variant:
macro-F1 over the real documents and per genre of them, over the written
documents, and on the dev set's tuning part (``devset/tune.csv``, the shipped
sentence model's probabilities, the variant's stage fitted on all the
out-of-fold rows; scored unit by unit, furniture ``other``). The rarely-seen
part is not read.

Variants (all aimed at the DOCX genres, where the stage helps least):

* ``shipped``: the design ``plantheme train`` fits;
* ``subject``: the title's probabilities replaced by those of its subject
  (``《Y》`` of "X关于印发《Y》的通知", or what stands between 关于 and 的通知/意见…);
* ``subject+title``: the subject's probabilities as eight more inputs;
* ``reports 1 : others W``: the stage's rows of real documents that are not work
  reports weighted W;
* ``genre-specific``: the context inputs again, multiplied by "is a work report"
  (the genre taken from the labels: an upper bound for any detector);
* ``gate T``: the shipped stage, but the sentence model's theme kept wherever its
  confidence is at least T;
* ``x confidence``: the context inputs again, multiplied by the sentence model's
  confidence (a learned, soft gate: context may count less where the sentence is sure);
* ``x document entropy``: the context inputs again, multiplied by the entropy of the
  document mean (a genre signal the document itself gives: a work report spreads over
  the themes, a single-topic plan does not);
* ``no sentence titles``: no title inputs for a document whose "title" (its first line
  alone) is a sentence or a clause (``现在，我代表……提出意见。``), as an outline that
  refused such titles would give;
* with ``--sentence-weights``, ``sentence model, others W``: the sentence model itself
  fitted with the real non-report rows weighted W (six more fits: slow).

    python benchmarks/context_variants.py [--corpus ../shared/corpus] [--jobs 2]
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold

from plantheme.model.context import ContextModel, context_features
from plantheme.model.model import ThemeModel, build_pipeline
from plantheme.model.persistence import load_model
from plantheme.settings import DEFAULT_MODEL_DIR, REPO_ROOT, load_settings
from plantheme.text.normalize import normalize_sentence
from plantheme.text.structure import Outline
from plantheme.themes import THEME_IDS
from plantheme.training.labels import (
    LabelledDocument,
    document_rows,
    read_documents_dir,
    read_labelled_dir,
    read_span_documents,
    span_files,
)
from plantheme.training.train import _prepare

CORPUS = REPO_ROOT.parent / "shared" / "corpus"
GENRES = ("work_report", "implementation_plan", "notice", "departmental_plan", "task_breakdown")
# Column blocks of context_features: the sentence's log-probabilities, then title … document mean.
_N = len(THEME_IDS)
_TITLE = slice(_N, 2 * _N)
_CONTEXT = slice(_N, 7 * _N)
_MEAN = slice(6 * _N, 7 * _N)
_HAS_TITLE = 7 * _N

# How a sentence or a clause ends: a line ending so is no title.
_SENTENCE_ENDS = "。！？；，：,;:"
_QUOTED = re.compile(r"《([^《》]{4,})》")
_WRAPPER_END = re.compile(r"的(?:通知|意见|报告|函|决定|批复|通报|公告|通告)")
_VERB = re.compile(r"^(?:印发|转发|发布|公布)了?")


def title_subject(title: str) -> str:
    """What a wrapper title is about: ``Y`` of "X关于印发《Y》的通知"; the title itself otherwise."""
    text = title.strip()
    if "，" in text or text.endswith("。"):  # a sentence taken for the title
        return title
    quoted = _QUOTED.search(text)
    if quoted:
        return quoted.group(1)
    at = max(text.rfind("关于"), text.rfind("关千"))  # 关千: the OCR misreading in several DOCX
    if at >= 0:
        inner = text[at + 2 :]
        end = _WRAPPER_END.search(inner)
        inner = _VERB.sub("", inner[: end.start()] if end else inner)
        if len(inner) >= 4:
            return inner
    return title


@dataclass
class Units:
    """Context inputs of labelled units, one row each, and what the variants need besides."""

    X: np.ndarray
    subject: np.ndarray  # the sentence model's probabilities of the title's subject (zeros: no title)
    gold: np.ndarray
    document: np.ndarray
    genre: np.ndarray
    real: np.ndarray
    furniture: np.ndarray
    sentence_title: np.ndarray  # the document's title is a sentence ("现在，我代表……提出意见。")


@dataclass
class Document:
    """One labelled document's context inputs for all its units, and which of them are scored."""

    name: str
    genre: str
    real: bool
    X: np.ndarray  # the context inputs of every unit
    outline: Outline
    furniture: np.ndarray  # of every unit
    keep: np.ndarray  # the labelled units scored (furniture left out, unless kept)
    gold: np.ndarray  # their themes
    subject: np.ndarray  # the sentence model's probabilities of the title's subject (zeros: none asked, no title)
    sentence_title: bool = False  # the line taken for the title ends as a sentence or a clause does


def documents_of(
    documents: Sequence[LabelledDocument],
    model_of: Mapping[str, ThemeModel],
    *,
    keep_furniture: bool,
    with_subject: bool = False,
) -> list[Document]:
    """``documents`` classified by the model ``model_of`` maps each to (a document it does not map is left out)."""
    out = []
    for item in _prepare(documents):
        model = model_of.get(item.doc.doc)
        if model is None:
            continue
        prepared = item.prepared
        outline = prepared.outline
        proba = model.classify(prepared.texts, normalized=True).proba
        title = (
            "".join(prepared.texts[i].strip() for i in (outline.title_units or (outline.title,)))
            if outline.title >= 0
            else ""
        )
        subject = (
            model.classify([title_subject(title)], normalized=True).proba[0] if with_subject and title else np.zeros(_N)
        )
        furniture = np.array(prepared.boilerplate, dtype=bool)
        keep = [i for i, gold in enumerate(item.gold) if gold is not None and (keep_furniture or not furniture[i])]
        out.append(
            Document(
                name=item.doc.doc,
                genre=item.doc.genre,
                real=item.doc.source == "spans",
                X=context_features(proba, outline, prepared.boilerplate),
                outline=outline,
                furniture=furniture,
                keep=np.array(keep, dtype=np.int64),
                gold=np.array([item.gold[i] for i in keep], dtype=object),
                subject=subject,
                sentence_title=bool(title) and title[-1] in _SENTENCE_ENDS,
            )
        )
    return out


def units_of(docs: Sequence[Document]) -> Units:
    """The scored units of ``docs``, one row each, in document order."""
    counts = [len(d.keep) for d in docs]
    return Units(
        X=np.vstack([d.X[d.keep] for d in docs]),
        subject=np.repeat(np.array([d.subject for d in docs]), counts, axis=0),
        gold=np.concatenate([d.gold for d in docs]).astype(str),
        document=np.repeat(np.array([d.name for d in docs]), counts),
        genre=np.repeat(np.array([d.genre for d in docs]), counts),
        real=np.repeat(np.array([d.real for d in docs], dtype=bool), counts),
        furniture=np.concatenate([d.furniture[d.keep] for d in docs]),
        sentence_title=np.repeat(np.array([d.sentence_title for d in docs], dtype=bool), counts),
    )


def document_units(
    documents: Sequence[LabelledDocument],
    model_of: Mapping[str, ThemeModel],
    *,
    keep_furniture: bool,
) -> Units:
    """Every labelled unit of ``documents``, classified by the model ``model_of`` maps its document to
    (a document it does not map is left out), with its title's subject."""
    return units_of(documents_of(documents, model_of, keep_furniture=keep_furniture, with_subject=True))


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    return float(f1_score(list(truth), list(predicted), average="macro")) if len(truth) else float("nan")


def cv_scores(units: Units, predicted: np.ndarray) -> list[float]:
    """Macro-F1 over the real documents, the written ones, and the real ones of each genre."""
    y, real = units.gold, units.real
    scores = [macro_f1(y[real], predicted[real]), macro_f1(y[~real], predicted[~real])]
    return scores + [macro_f1(y[real & (units.genre == g)], predicted[real & (units.genre == g)]) for g in GENRES]


@dataclass(frozen=True)
class Variant:
    name: str
    inputs: Callable[[Units], np.ndarray]
    weights: Callable[[Units], np.ndarray | None] = lambda units: None
    gate: float | None = None


def with_subject(units: Units) -> np.ndarray:
    X = units.X.copy()
    titled = X[:, _HAS_TITLE] > 0
    X[titled, _TITLE] = units.subject[titled]
    return X


def without_sentence_titles(units: Units) -> np.ndarray:
    """The inputs a document gets when a sentence taken for its title is no title: none at all."""
    X = units.X.copy()
    X[units.sentence_title, _TITLE] = 0.0
    X[units.sentence_title, _HAS_TITLE] = 0.0
    return X


def confidence(X: np.ndarray) -> np.ndarray:
    """The sentence model's top probability (the first block holds log-probabilities)."""
    return np.exp(X[:, :_N]).max(axis=1)


def mean_entropy(X: np.ndarray) -> np.ndarray:
    """The entropy of the document mean block, in units of its maximum (1: all themes alike)."""
    mean = np.clip(X[:, _MEAN], 1e-9, 1.0)
    return -(mean * np.log(mean)).sum(axis=1) / np.log(_N)


def per_genre_context(units: Units) -> list[np.ndarray]:
    """The context inputs again for each genre of the labels, zero outside it (an upper bound for a
    genre detector: the stage may weigh context differently in every genre)."""
    return [units.X[:, _CONTEXT] * (units.genre == g)[:, None] for g in sorted(set(units.genre))]


VARIANTS = (
    Variant("shipped", lambda u: u.X),
    Variant("subject", with_subject),
    Variant("subject+title", lambda u: np.hstack([u.X, u.subject])),
    *(
        Variant(
            f"reports 1 : others {w:g}",
            lambda u: u.X,
            lambda u, w=w: np.where(u.real & (u.genre != "work_report"), w, 1.0),
        )
        for w in (3.0, 10.0)
    ),
    Variant("genre-specific", lambda u: np.hstack([u.X, u.X[:, _CONTEXT] * (u.genre == "work_report")[:, None]])),
    Variant("genre-specific, every genre", lambda u: np.hstack([u.X, *per_genre_context(u)])),
    *(Variant(f"gate {t:g}", lambda u: u.X, gate=t) for t in (0.95, 0.9, 0.8)),
    Variant("x confidence", lambda u: np.hstack([u.X, u.X[:, _CONTEXT] * confidence(u.X)[:, None]])),
    Variant("x document entropy", lambda u: np.hstack([u.X, u.X[:, _CONTEXT] * mean_entropy(u.X)[:, None]])),
    Variant("no sentence titles", without_sentence_titles),
)


def themes_of(stage: ContextModel, X: np.ndarray, gate: float | None) -> np.ndarray:
    predicted = np.array(stage.predict(X), dtype=object)
    if gate is not None:
        alone = np.exp(X[:, :_N])  # the sentence's log-probabilities (+ a tiny epsilon)
        sure = alone.max(axis=1) >= gate
        predicted[sure] = np.array(THEME_IDS, dtype=object)[alone[sure].argmax(axis=1)]
    return predicted


def score_variant(variant: Variant, units: Units, tune: Units, folds: int) -> str:
    X, y, weight = variant.inputs(units), units.gold, variant.weights(units)
    predicted = np.empty(len(y), dtype=object)
    for train, test in GroupKFold(n_splits=folds).split(X, y, units.document):
        stage = ContextModel(C=1.0).fit(X[train], y[train], None if weight is None else weight[train])
        predicted[test] = themes_of(stage, X[test], variant.gate)
    stage = ContextModel(C=1.0).fit(X, y, weight)
    on_tune = themes_of(stage, variant.inputs(tune), variant.gate)
    on_tune[tune.furniture] = "other"
    cells = [*cv_scores(units, predicted), macro_f1(tune.gold, on_tune)]
    return f"{variant.name:<28}" + "".join(f"{c:>10.3f}" for c in cells)


def fit_sentence_models(
    params: dict, rows: list, groups: list[str], folds: int, jobs: int, other_weight: float
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[ThemeModel]]:
    """The fold models and the model on every row, balanced classes, real non-report rows weighted."""
    texts = [normalize_sentence(row.text) for row in rows]
    themes = np.array([row.theme for row in rows])
    counts = Counter(themes.tolist())
    weight = np.array([len(themes) / (len(counts) * counts[t]) for t in themes])
    weight *= np.array([other_weight if r.source == "spans" and r.genre != "work_report" else 1.0 for r in rows])
    splits = list(GroupKFold(n_splits=folds).split(texts, themes, groups))

    def fit(index: np.ndarray) -> ThemeModel:
        pipeline = build_pipeline(**{**params, "class_weight": None})[1:]  # texts are normalised already
        pipeline.fit([texts[i] for i in index], themes[index], clf__sample_weight=weight[index])
        return ThemeModel(pipeline=pipeline)

    models = Parallel(n_jobs=jobs)(delayed(fit)(index) for index in [t for t, _ in splits] + [np.arange(len(texts))])
    return splits, models


@dataclass
class LabelledData:
    """The shipped labels as ``plantheme train`` reads them, the shipped model and the dev set's tuning part."""

    rows: list
    documents: list[LabelledDocument]
    groups: list[str]
    shipped: ThemeModel
    params: dict
    tune: list[LabelledDocument]


def labelled_data(corpus: Path) -> LabelledData:
    labels = REPO_ROOT / "labels"
    settings = load_settings()
    spans = read_span_documents(span_files(labels), corpus, max_chars=settings.max_document_chars)
    rows = read_labelled_dir(labels) + document_rows(spans)
    shipped, card = load_model(DEFAULT_MODEL_DIR)
    return LabelledData(
        rows=rows,
        documents=read_documents_dir(labels) + spans,
        groups=[row.group for row in rows],
        shipped=shipped,
        params={k: v for k, v in card.params.items() if k != "pipeline"},
        tune=read_span_documents([REPO_ROOT / "devset" / "tune.csv"], corpus, max_chars=settings.max_document_chars),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--sentence-weights", type=float, nargs="*", default=[], metavar="W")
    parser.add_argument("--only", nargs="*", default=[], metavar="NAME", help="score these variants (and shipped) only")
    args = parser.parse_args()
    started = time.perf_counter()
    data = labelled_data(args.corpus)
    header = f"{'variant':<28}" + "".join(f"{c:>10}" for c in ("real", "written", *(g[:8] for g in GENRES), "tuning"))

    for other_weight in (1.0, *args.sentence_weights):
        splits, models = fit_sentence_models(data.params, data.rows, data.groups, args.folds, args.jobs, other_weight)
        # Each document classified by the model of the fold that held it out.
        held_out = {data.groups[i]: models[k] for k, (_, test) in enumerate(splits) for i in test}
        units = document_units(data.documents, held_out, keep_furniture=False)
        final = data.shipped if other_weight == 1.0 else models[-1]
        tune = document_units(data.tune, {doc.doc: final for doc in data.tune}, keep_furniture=True)
        print(
            f"sentence model: {data.params}, real non-report rows weighted {other_weight:g};"
            f" {len(set(units.document))} documents, {len(units.gold)} units out of fold;"
            f" tuning part {len(tune.gold)} units ({time.perf_counter() - started:.0f} s)"
        )
        alone = np.array(THEME_IDS, dtype=object)[units.X[:, :_N].argmax(axis=1)]
        print(header)
        cells = cv_scores(units, alone)
        print(f"{'sentence model alone':<28}" + "".join(f"{c:>10.3f}" for c in cells))
        variants = VARIANTS if other_weight == 1.0 else VARIANTS[:1]
        if args.only:
            variants = tuple(v for v in variants if v.name == "shipped" or v.name in args.only)
        for line in Parallel(n_jobs=args.jobs)(delayed(score_variant)(v, units, tune, args.folds) for v in variants):
            print(line, flush=True)


if __name__ == "__main__":
    main()
