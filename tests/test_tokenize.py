"""Tokenisation: domain terms stay whole, rjieba agrees with jieba, tokens are clean."""

from __future__ import annotations

import pickle

import pytest

from plantheme.training.labels import read_labelled_dir
from plantheme.text.normalize import normalize_sentence
from plantheme.settings import REPO_ROOT
from plantheme.text.tokenize import NUMBER_TOKEN, load_policy_terms, tokenize, tokenize_reference


@pytest.mark.parametrize("term", ["专精特新", "招商引资", "高标准农田", "河长制", "人居环境", "百千万工程", "智改数转"])
def test_policy_terms_stay_whole(term: str) -> None:
    sentence = f"持续推进{term}工作，力争取得新成效。"
    assert term in tokenize(sentence)
    assert term in tokenize_reference(sentence)


def test_every_shipped_term_survives_segmentation() -> None:
    for term in load_policy_terms():
        assert term in tokenize(f"推进{term}。"), term


def test_punctuation_dropped_and_numbers_folded() -> None:
    tokens = tokenize("全年开工项目30个、竣工11个，完成年度投资31.6亿元。")
    assert "，" not in tokens and "、" not in tokens and "。" not in tokens
    assert "30" not in tokens and "31.6" not in tokens
    assert tokens.count(NUMBER_TOKEN) == 3


def test_tokenize_is_picklable_by_reference() -> None:
    assert pickle.loads(pickle.dumps(tokenize)) is tokenize


@pytest.mark.slow
def test_rjieba_agrees_with_jieba_on_every_labelled_sentence() -> None:
    rows = read_labelled_dir(REPO_ROOT / "labels")
    disagreements = []
    for row in rows:
        text = normalize_sentence(row.text)
        if tokenize(text) != tokenize_reference(text):
            disagreements.append(text)
    assert not disagreements, f"{len(disagreements)} differ, e.g. {disagreements[:3]}"


def test_rjieba_agrees_with_jieba_on_a_sample() -> None:
    rows = read_labelled_dir(REPO_ROOT / "labels")[::25]
    for row in rows:
        text = normalize_sentence(row.text)
        assert tokenize(text) == tokenize_reference(text), text
