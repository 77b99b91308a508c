"""Word tokens for the model: jieba segmentation with a shipped dictionary of policy terms.

Segmentation runs on rjieba, the binding of jieba's Rust port: on the seed
sentences it is about 100x faster than jieba's pure-Python ``lcut`` and gives the
same tokens (``tests/test_tokenize.py`` checks every labelled sentence against
jieba, which stays the reference implementation: :func:`tokenize_reference`).

:func:`tokenize` is a plain module-level function, so a fitted scikit-learn
pipeline that uses it pickles by reference (a lambda would not; scikit-learn
issue #6184). The segmenters are built on first use in each process.
"""

from __future__ import annotations

import re
from functools import lru_cache
from collections.abc import Callable, Iterable

from .normalize import HAN
from .package_data import package_text

__all__ = ["tokenize", "tokenize_reference", "load_policy_terms", "NUMBER_TOKEN"]

# Every number is one token: "7%" and "12.5亿元" should vote for "a target",
# not for the particular figure.
NUMBER_TOKEN = "<num>"
# Frequency given to every domain term: high enough that both segmenters keep
# the term whole against the frequencies in jieba's default dictionary.
TERM_FREQUENCY = 20_000

_NUMBER = re.compile(r"^[0-9０-９]+(?:[.．][0-9]+)?$")
_CONTENT = re.compile(r"[^\W_]", re.UNICODE)
_ASCII_RUN = re.compile(r"[0-9]+(?:\.[0-9]+)?|[^\W\d_]+")


def load_policy_terms() -> list[str]:
    """The domain dictionary shipped in ``plantheme/data/policy_terms.txt``."""
    text = package_text("data/policy_terms.txt")
    terms = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            terms.append(line.split()[0])
    return terms


def _clean(tokens: Iterable[str]) -> list[str]:
    """Drop whitespace and punctuation tokens; fold numbers into one token.

    A token without Chinese characters is re-split into its letter and digit
    runs: the two segmenters disagree on ASCII punctuation inside such runs
    (jieba-rs keeps ``2022-03-15`` whole, jieba cuts it at each ``-``).
    """
    out = []
    for token in tokens:
        if "\u4e00" <= token[0] <= "\u9fff":  # the common case: a Chinese word
            out.append(token)
            continue
        if not _CONTENT.search(token):
            continue
        pieces = [token] if HAN.search(token) else _ASCII_RUN.findall(token) or [token]
        for piece in pieces:
            out.append(NUMBER_TOKEN if _NUMBER.match(piece) else piece)
    return out


@lru_cache(maxsize=1)
def fast_cut() -> Callable[[str], list[str]]:
    """The raw rjieba segmenter with the policy terms (punctuation and numbers kept)."""
    # Importing rjieba builds its module's segmenter, dictionary and all; that one takes the
    # policy terms: a second rjieba.Jieba() loaded the dictionary again, about 0.18 s of the
    # start-up of every `plantheme predict` (benchmarks/startup.py).
    import rjieba

    for term in load_policy_terms():
        rjieba.add_word(term, TERM_FREQUENCY, None)
    return rjieba.cut


@lru_cache(maxsize=1)
def _reference_cut() -> Callable[[str], list[str]]:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    segmenter = jieba.Tokenizer()
    for term in load_policy_terms():
        segmenter.add_word(term, TERM_FREQUENCY)
    return segmenter.lcut


def tokenize(text: str) -> list[str]:
    """Word tokens of one normalised sentence (rjieba with the policy terms)."""
    return _clean(fast_cut()(text))


def tokenize_reference(text: str) -> list[str]:
    """The same tokens computed by jieba itself; slower, kept as the reference."""
    return _clean(_reference_cut()(text))
