"""Choosing the sentences to label: uncertainty order, balance, duplicates, furniture, the tag output read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from plantheme.model.persistence import load_model, load_predictor
from plantheme.review.queue import (
    Candidate,
    CandidatePool,
    build_queue,
    choose_rows,
    dedup_key,
    eligible_rows,
    read_candidates,
    read_tag_output,
    uncertainty,
)
from plantheme.themes import THEME_IDS

N = len(THEME_IDS)


def _proba(rows: list[tuple[int, float, int]]) -> np.ndarray:
    """One row per (best theme, its probability p >= 0.5, second theme): the second gets nearly all the rest."""
    out = np.full((len(rows), N), 0.001)
    for i, (best, p, second) in enumerate(rows):
        out[i, best] = p
        out[i, second] = 1.0 - p - 0.001 * (N - 2)
    return out


def _distinct(n: int) -> sp.csr_matrix:
    """Rows that are all unlike each other (cosine 0)."""
    return sp.identity(n, format="csr")


@pytest.mark.parametrize(
    ("proba", "strategy", "expected"),
    [
        ([[0.5, 0.5] + [0.0] * 6], "margin", 1.0),
        ([[1.0] + [0.0] * 7], "margin", 0.0),
        ([[0.7, 0.2, 0.1] + [0.0] * 5], "margin", 0.5),
        ([[1 / 8] * 8], "entropy", 1.0),
        ([[1.0] + [0.0] * 7], "entropy", 0.0),
    ],
)
def test_uncertainty(proba: list[list[float]], strategy: str, expected: float) -> None:
    assert uncertainty(np.array(proba), strategy)[0] == pytest.approx(expected, abs=1e-6)


def test_most_uncertain_first_within_a_theme() -> None:
    proba = _proba([(0, 0.9, 1), (0, 0.55, 1), (0, 0.7, 1), (0, 0.52, 1), (0, 0.99, 1)])
    chosen = choose_rows(proba, _distinct(5), np.ones(5, dtype=bool), 3)
    assert [c.row for c in chosen] == [3, 1, 2]
    assert "industry 0.52" in chosen[0].reason


def test_predicted_themes_take_turns() -> None:
    # Six very uncertain industry rows and three surer ecology rows: four picks are two and two.
    proba = _proba([(0, 0.51, 1)] * 6 + [(4, 0.8, 5)] * 3)
    chosen = choose_rows(proba, _distinct(9), np.ones(9, dtype=bool), 4)
    themes = [THEME_IDS[int(proba[c.row].argmax())] for c in chosen]
    assert themes.count("industry") == 2 and themes.count("ecology") == 2


def test_near_duplicates_of_a_chosen_row_are_not_chosen() -> None:
    features = sp.csr_matrix(np.array([[1.0, 0.0, 0.0], [1.0, 0.01, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]))
    proba = _proba([(0, 0.51, 1), (0, 0.52, 1), (0, 0.8, 1), (0, 0.9, 1)])
    chosen = [c.row for c in choose_rows(proba, features, np.ones(4, dtype=bool), 3)]
    assert chosen[0] == 0 and 1 not in chosen and sorted(chosen) == [0, 2, 3]


def test_near_duplicates_of_labelled_text_and_ineligible_rows_are_not_chosen() -> None:
    features = _distinct(4)
    proba = _proba([(0, 0.6, 1)] * 4)
    labelled = sp.csr_matrix(features[0].toarray() * 3)  # the same direction: cosine 1
    eligible = np.array([True, True, False, True])
    chosen = {c.row for c in choose_rows(proba, features, eligible, 4, labelled=labelled)}
    assert chosen == {1, 3}


def test_random_strategy_is_seeded() -> None:
    proba = _proba([(j % N, 0.6, (j + 1) % N) for j in range(40)])
    first = [c.row for c in choose_rows(proba, _distinct(40), np.ones(40, dtype=bool), 10, strategy="random", seed=1)]
    again = [c.row for c in choose_rows(proba, _distinct(40), np.ones(40, dtype=bool), 10, strategy="random", seed=1)]
    other = [c.row for c in choose_rows(proba, _distinct(40), np.ones(40, dtype=bool), 10, strategy="random", seed=2)]
    assert first == again and first != other and len(set(first)) == 10


def _candidate(text: str, flags: tuple[str, ...] = (), start: int = 0) -> Candidate:
    return Candidate(
        doc="d.txt",
        index=start,
        start=start,
        end=start + len(text),
        text=text,
        normalized=text,
        flags=flags,
        title="",
        heading="",
        before="",
        after="",
    )


def test_furniture_garbled_short_duplicate_and_answered_sentences_are_not_offered() -> None:
    candidates = (
        _candidate("推进河长制，治理水环境。", start=0),
        _candidate("责任单位：县发改局", ("boilerplate",), start=20),
        _candidate("鎺ㄥ姩鍙戝睍锛屽疄鏂", ("garbled",), start=40),
        _candidate("一、", start=60),
        _candidate("新建幼儿园 2 所。", start=70),  # a labelled text, but for spaces and punctuation
        _candidate("加快长者食堂建设。", start=90),
        _candidate("加快长者食堂建设！", start=110),  # the same text as the one before
        _candidate("完善供水管网配套。", start=130),  # answered already
    )
    pool = CandidatePool(candidates, np.zeros((len(candidates), N)), _distinct(len(candidates)), "m")
    eligible = eligible_rows(pool, ["新建幼儿园2所"], {"130:139:d.txt"}, min_chars=4)
    assert [c.text for c, ok in zip(candidates, eligible) if ok] == ["推进河长制，治理水环境。", "加快长者食堂建设。"]


@pytest.mark.parametrize(
    ("a", "b"), [("新建幼儿园2所。", "新建幼儿园 2 所；"), ("推進河長制", "推进河长制"), ("ＡＩ赋能。", "ai赋能")]
)
def test_dedup_key_ignores_form(a: str, b: str) -> None:
    assert dedup_key(a) == dedup_key(b)


def test_queue_from_a_tag_output(review_tag_output: Path, tiny_char_model_dir: Path) -> None:
    model, _ = load_model(tiny_char_model_dir)
    output = read_tag_output(review_tag_output)
    assert output.model_id == model.model_id and output.folder is not None and output.folder.is_dir()
    pool = read_candidates(output, model, max_chars=100_000)
    items = build_queue(pool, model, 6)
    assert len(items) == 6
    assert len({item.key for item in items}) == 6
    by_text = {c.text: c for c in pool.candidates}
    assert "责任单位：县发改局" not in {item.text for item in items}  # furniture
    for item in items:
        assert abs(sum(item.scores.values()) - 1.0) < 1e-3 and item.guess == max(item.scores, key=item.scores.get)
        assert item.title in ("XX县2024年工作计划", "XX镇2024年工作要点")
        assert item.reason
    heading = by_text["全面落实河长制，推进流域水环境综合治理。"].heading
    assert heading == "二、生态环境"
    # The queue leaves out what is labelled already and what was answered.
    labelled = [items[0].text]
    again = build_queue(pool, model, 6, labelled_texts=labelled, answered={items[1].key})
    assert items[0].text not in {i.text for i in again} and items[1].key not in {i.key for i in again}


def test_the_arrays_choose_the_same_queue_as_the_pickle(review_tag_output: Path, tiny_char_model_dir: Path) -> None:
    # What `plantheme review` loads (model.npz, no scikit-learn) against the pipeline it was compiled from.
    compiled, _ = load_predictor(tiny_char_model_dir)
    full, _ = load_model(tiny_char_model_dir)
    assert type(compiled).__name__ == "CompiledModel"
    output = read_tag_output(review_tag_output)
    pools = [read_candidates(output, model, max_chars=100_000) for model in (compiled, full)]
    assert np.array_equal(pools[0].proba, pools[1].proba)
    assert (pools[0].features != pools[1].features).nnz == 0
    labelled = [pools[0].candidates[0].text]
    assert build_queue(pools[0], compiled, 6, labelled_texts=labelled) == build_queue(
        pools[1], full, 6, labelled_texts=labelled
    )


def test_queue_without_the_documents_uses_the_sentences_alone(
    review_tag_output: Path, tiny_char_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "tags"
    shutil.copytree(review_tag_output, out, symlinks=True)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["folder"] = str(tmp_path / "moved-away")
    (out / "manifest.json").unlink()  # a link into the generation: replaced by a file
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with (out / "sentences.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"doc": "x.txt", "index": 0}\nnot json\n')
    model, _ = load_model(tiny_char_model_dir)
    output = read_tag_output(out)
    assert [p.split(": ", 1)[1] for p in output.problems] == [
        "missing field 'start'",
        "not valid JSON (Expecting value)",
    ]
    pool = read_candidates(output, model, max_chars=100_000)
    by_text = {c.text: c for c in pool.candidates}
    assert by_text["全面落实河长制，推进流域水环境综合治理。"].heading == "二、生态环境"  # numbered: still a heading
    assert len(build_queue(pool, model, 4)) == 4


def test_not_a_tag_output_is_one_message(tmp_path: Path) -> None:
    from plantheme.errors import PlanthemeError

    with pytest.raises(PlanthemeError, match="not a `plantheme tag` output folder"):
        read_tag_output(tmp_path)
