"""Normalise raw plan text into clean simplified Chinese, keeping a map to the original.

Every step edits the text through :class:`_Mapped`, which carries for each
output character the index of the input character it came from. Sentence spans
are given in normalised coordinates and can always be mapped back to the text as
the document had it (``NormalizedText.original_span``).

Decisions (each tested in ``tests/test_normalize.py``):

* Traditional characters become simplified (OpenCC ``t2s``).
* Pinyin annotations glued to a Han character, ``規(guī)劃``, are removed, also
  when markup or spaces stood between them (the step runs after those are
  removed, so normalising twice changes nothing); a parenthesis holding
  anything but one pinyin syllable (``(一)``, ``(书面)``, ``(AI)``) stays.
* Width: full-width letters, digits and the ideographic space become ASCII, so
  ``２０２４`` and ``2024`` are one token. ASCII ``,;:!?()`` next to Chinese
  text become the full-width Chinese forms, so ``,`` and ``，`` are one token
  and the sentence splitter has one set of marks; between ASCII letters or
  digits (``1,000``, ``3:1``) they stay ASCII.
* Whitespace between Chinese characters, or between Chinese and digits, is a
  typesetting or PDF artefact (``新培 育``) and is removed; between Latin words it
  is kept, collapsed to one space.
* Lines broken inside a sentence by PDF extraction are rejoined (see
  :func:`_join_broken_lines`); markdown emphasis, headings and list bullets are
  stripped.
* Look-alikes from PDF text (Kangxi radicals, CJK radicals supplement,
  compatibility ideographs: ``全⾯落实河⻓制``) become the unified characters;
  control characters other than tab and line end are removed.
* Mojibake is found by what it is made of (see "garbled runs" below): UTF-8
  read as GBK or Big5 (rare characters, odd symbols, ``?`` / U+FFFD for lost
  bytes) and UTF-8 read as Latin-1 / cp1252 (``Ã©``, ``â€™``). A run whose bytes
  survive is re-read as the UTF-8 it was and reported in
  ``NormalizedText.repaired``; the rest is kept, reported in
  ``NormalizedText.garbled`` (never an error), not converted to simplified,
  its lost bytes written as U+FFFD and its stray "。！；…" as look-alikes that
  end no sentence. The original text is never changed.
* Lines are rejoined where a PDF wrap or a web page's inline element broke a
  sentence; titles, headings, header fields (``标题：``) and table cells stay
  lines (see :func:`_should_join`). A PDF's wrap is told by its page width,
  digits and Latin letters counting half a character (:class:`_Wrap`).
"""

from __future__ import annotations

import bisect
import html
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import opencc

from .package_data import package_text

__all__ = ["HAN", "NormalizedText", "is_han", "normalize", "normalize_sentence", "normalize_sentences", "to_simplified"]


@dataclass(frozen=True, eq=False)
class NormalizedText:
    """Normalised text, the original it came from, and where it is garbled or was repaired.

    ``offsets[i]`` is the index in ``original`` of the character ``text[i]``
    came from; ``offsets[len(text)]`` is ``len(original)``. It is a read-only
    NumPy array: a document's map is one compact block, not a Python int per
    character. ``garbled`` and ``repaired`` are spans of ``text``, in order and
    not overlapping: mojibake left as it is, and mojibake re-read as the text
    it was (its characters all map to the start of the original run).
    """

    text: str
    original: str
    offsets: np.ndarray
    garbled: tuple[tuple[int, int], ...] = ()
    repaired: tuple[tuple[int, int], ...] = ()

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of the normalised text to the span of the original it came from."""
        if end <= start:
            pos = int(self.offsets[start])
            return pos, pos
        return int(self.offsets[start]), int(self.offsets[end - 1]) + 1

    def original_spans(self, starts: list[int], ends: list[int]) -> tuple[list[int], list[int]]:
        """:meth:`original_span` of many non-empty spans at once (one array lookup each side)."""
        return self.offsets[starts].tolist(), (self.offsets[[end - 1 for end in ends]] + 1).tolist()

    def original_text(self, start: int, end: int) -> str:
        """The original text behind a span of the normalised text."""
        o_start, o_end = self.original_span(start, end)
        return self.original[o_start:o_end]

    def is_garbled(self, start: int, end: int) -> bool:
        """True when a garbled run overlaps the span ``[start, end)`` (a binary search)."""
        return _overlaps(self.garbled, start, end)

    def is_repaired(self, start: int, end: int) -> bool:
        """True when a repaired run overlaps the span ``[start, end)``."""
        return _overlaps(self.repaired, start, end)

    def span_flags(self, starts: list[int], ends: list[int]) -> tuple[list[bool], list[bool]]:
        """For many spans at once: which overlap a garbled run, and which a repaired run.

        Linear in the text and the number of spans (one prefix count per kind),
        however many runs there are.
        """
        return (
            _overlap_flags(self.garbled, len(self.text), starts, ends),
            _overlap_flags(self.repaired, len(self.text), starts, ends),
        )


def _overlaps(runs: tuple[tuple[int, int], ...], start: int, end: int) -> bool:
    # Runs are in order and do not overlap: of those starting before ``end``,
    # only the last can reach past ``start``.
    i = bisect.bisect_left(runs, (end, -1))
    return i > 0 and runs[i - 1][1] > start


def _overlap_flags(runs: tuple[tuple[int, int], ...], length: int, starts: list[int], ends: list[int]) -> list[bool]:
    if not runs or not starts:
        return [False] * len(starts)
    # Count the run characters before each position; a span overlaps a run
    # when the count grows inside it.
    marks = np.zeros(length + 1, dtype=np.int32)
    run_array = np.asarray(runs, dtype=np.int64)
    np.add.at(marks, run_array[:, 0], 1)
    np.add.at(marks, run_array[:, 1], -1)
    inside = np.cumsum(marks)[:-1] > 0
    before = np.concatenate(([0], np.cumsum(inside)))
    return (before[np.asarray(ends)] > before[np.asarray(starts)]).tolist()


@lru_cache(maxsize=64)
def _char_set(chars: str) -> frozenset[str]:
    return frozenset(chars)


class _Mapped:
    """Text plus, per character, the index in the original it came from.

    With ``offsets`` None the map is not kept: the same edits run as plain
    ``re.sub`` calls, which is what per-sentence normalisation in the model
    needs (three times faster, same text).
    """

    def __init__(self, text: str, offsets: np.ndarray | None) -> None:
        self.text = text
        self.offsets = offsets  # len(text) + 1 entries; the last is the end sentinel
        self._chars: frozenset[str] | None = None

    def has_any(self, chars: frozenset[str]) -> bool:
        """Whether the text holds any of ``chars`` (its character set is built once per text)."""
        if self._chars is None:
            self._chars = frozenset(self.text)
        return not chars.isdisjoint(self._chars)

    @classmethod
    def of(cls, text: str, track: bool = True) -> _Mapped:
        return cls(text, np.arange(len(text) + 1, dtype=np.int64) if track else None)

    def sub(
        self,
        pattern: re.Pattern[str],
        repl: Callable[[re.Match[str]], str] | str,
        when: str = "",
        same_length: bool = False,
    ) -> _Mapped:
        """``re.sub`` that keeps the map: a same-length replacement maps char to char,
        any other maps every new character to the start of the match.

        ``when`` lists characters every match contains: without any of them in
        the text the pattern cannot match, and the scan is skipped (a sentence
        normalised for the model runs fourteen of these steps). A set test, not
        a character class or one ``in`` per character: the text's character set is
        built once and serves every step until an edit changes the text.
        """
        if when and not self.has_any(_char_set(when)):
            return self
        if self.offsets is None:
            new_text = pattern.sub(repl, self.text)
            return self if new_text == self.text else _Mapped(new_text, None)
        if same_length:
            # Each match becomes as many characters as it had: the map stands.
            return _Mapped(pattern.sub(repl, self.text), self.offsets)
        pieces: list[str] = []
        edits: list[tuple[int, int, int]] = []
        last = 0
        for match in pattern.finditer(self.text):
            start, end = match.span()
            new = repl(match) if callable(repl) else match.expand(repl)
            pieces.append(self.text[last:start])
            pieces.append(new)
            if len(new) != end - start:
                edits.append((start, end, len(new)))
            last = end
        if not pieces:
            return self
        pieces.append(self.text[last:])
        return _Mapped("".join(pieces), _edit_offsets(self.offsets, edits))

    def translate_same_length(self, convert: Callable[[str], str]) -> _Mapped:
        """Apply a mostly length-preserving conversion chunk by chunk, keeping the map."""
        converted = convert(self.text)
        if self.offsets is None or len(converted) == len(self.text):
            return _Mapped(converted, self.offsets)
        # A phrase conversion changed the length somewhere: redo it per chunk so
        # that only the chunk that changed loses its per-character map.
        pieces: list[str] = []
        edits: list[tuple[int, int, int]] = []
        for chunk in _CHUNK.finditer(self.text):
            start, end = chunk.span()
            new = convert(chunk.group())
            pieces.append(new)
            if len(new) != end - start:
                edits.append((start, end, len(new)))
        return _Mapped("".join(pieces), _edit_offsets(self.offsets, edits))


def _edit_offsets(offsets: np.ndarray, edits: list[tuple[int, int, int]]) -> np.ndarray:
    """The map after replacing each span ``[start, end)`` by ``length`` new characters.

    Every new character maps to the start of the span it replaced; the map
    between the edits stands. ``edits`` are in order and do not overlap.
    """
    if not edits:
        return offsets
    segments = []
    last = 0
    for start, end, length in edits:
        segments.append(offsets[last:start])
        if length:
            segments.append(np.full(length, offsets[start]))
        last = end
    segments.append(offsets[last:])  # includes the sentinel
    return np.concatenate(segments)


_CHUNK = re.compile(r"[^，。；！？,.;!?\n]*[，。；！？,.;!?\n]?")

# --- character classes -------------------------------------------------------

# The Han blocks: CJK extension A, unified ideographs, compatibility ideographs.
_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
_HAN = "".join(f"\\u{lo:04x}-\\u{hi:04x}" for lo, hi in _HAN_RANGES)
_CJK_PUNCT = r"\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65“”‘’…—·"


# One Chinese (Han) character: the one definition every module uses.
HAN = re.compile(f"[{_HAN}]")


def is_han(char: str) -> bool:
    """True for a Chinese (Han) character."""
    return bool(HAN.match(char))


# --- pinyin annotations --------------------------------------------------------

_INITIALS = (
    "",
    "b",
    "p",
    "m",
    "f",
    "d",
    "t",
    "n",
    "l",
    "g",
    "k",
    "h",
    "j",
    "q",
    "x",
    "zh",
    "ch",
    "sh",
    "r",
    "z",
    "c",
    "s",
    "y",
    "w",
)
_FINALS = (
    "a",
    "o",
    "e",
    "i",
    "u",
    "v",
    "ai",
    "ei",
    "ui",
    "ao",
    "ou",
    "iu",
    "ie",
    "ve",
    "ue",
    "er",
    "an",
    "en",
    "in",
    "un",
    "vn",
    "ang",
    "eng",
    "ing",
    "ong",
    "ia",
    "iao",
    "ian",
    "iang",
    "iong",
    "ua",
    "uo",
    "uai",
    "uan",
    "uang",
    "ueng",
    "van",
    "ng",
    "n",
    "m",
)
# Over-generates a little (e.g. "bve"); that only matters for a lowercase Latin
# word glued to a Han character inside parentheses, which plan text does not have.
_PINYIN_SYLLABLES = frozenset(i + f for i in _INITIALS for f in _FINALS)
# The bracket comes first so the scan tests one character per position before
# the lookbehind (as in the patterns below).
_SYLLABLE_CHARS = "[a-zA-Z\u00c0-\u024f\u0300-\u036f]"
_SYLLABLE_CHAR = re.compile(_SYLLABLE_CHARS)
# One syllable, or a word's syllables ("fāzhǎn", "guī huà"): _is_pinyin tells which is pinyin.
_SYLLABLE = _SYLLABLE_CHARS + "{1,7}[1-5]?(?: ?" + _SYLLABLE_CHARS + "{1,7}[1-5]?){0,5}"
_ONE_ANNOTATION = re.compile(f"[(（]({_SYLLABLE})[)）]")
# A run of bracketed syllables right after a Han character: "规(guī)(huà)" has
# two, and removing only the first would glue the second to the character.
_PINYIN_ANNOTATION = re.compile(f"[(（](?<=[{_HAN}][(（]){_SYLLABLE}[)）](?:[(（]{_SYLLABLE}[)）])*")


def _strip_tone(syllable: str) -> str:
    decomposed = unicodedata.normalize("NFD", syllable.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.replace("ü", "v").rstrip("12345")


def _spells_syllables(letters: str) -> bool:
    """Whether ``letters`` (toneless, lowercase) is a run of pinyin syllables ("fazhan")."""
    ends = [True] + [False] * len(letters)
    for end in range(1, len(letters) + 1):
        ends[end] = any(
            ends[start] and letters[start:end] in _PINYIN_SYLLABLES for start in range(max(0, end - 6), end)
        )
    return ends[-1]


def _is_pinyin(annotation: str) -> bool:
    """Whether a bracketed annotation is pinyin: one syllable ("guī", "gui"), or a word's
    syllables with tones ("fāzhǎn", "guī huà", "fa1zhan3"). Annotations are lowercase: "(AI)"
    or "(GDP)" after a Han character is content, and so is an untoned word ("(in)", "(gui hua)")."""
    if not annotation.islower():
        return False
    if _strip_tone(annotation) in _PINYIN_SYLLABLES:
        return True
    toned = any(c.isdigit() for c in annotation) or any(
        unicodedata.combining(c) for c in unicodedata.normalize("NFD", annotation)
    )
    return toned and all(
        _spells_syllables("".join(c for c in _strip_tone(part) if not c.isdigit())) for part in annotation.split(" ")
    )


def _drop_pinyin(match: re.Match[str]) -> str:
    """Drop the leading pinyin annotations of a run; keep the run from its first non-pinyin one."""
    run = match.group(0)
    for annotation in _ONE_ANNOTATION.finditer(run):
        if not _is_pinyin(annotation.group(1)):
            return run[annotation.start() :]
    return ""


# --- garbled runs ----------------------------------------------------------------
#
# Mojibake is found by what it is made of, not by a list of known bad strings.
# UTF-8 Chinese read as GBK turns each 3-byte character into one and a half
# GBK characters: a lead byte E4-E9 with a continuation byte gives a rare
# character (GB 2312 level 2 or GBK's extension areas), a continuation byte
# leading gives a rare character, a kana, Greek, Cyrillic, box-drawing,
# bopomofo or private-use character, and a lost byte shows as "?" or U+FFFD.
# Genuine text, simplified or traditional, is almost all GB 2312 level-1
# characters once converted to simplified. Each character gets a score (rare
# and odd characters positive, common ones negative), and a run is a stretch
# of a line whose scores add up to at least _RUN_SCORE (the maximal-segment
# scan of :func:`_scored_runs`).

# Scores, in half points so that they stay small integers.
_COMMON, _LEVEL2, _RARE = -2, 2, 4
_LOST_MARK = 3  # ASCII "?": a lost byte when it sits among rare characters
_ODD_SYMBOL = 6  # kana, Greek, Cyrillic, box drawing, vertical and small forms
_STRONG = 8  # U+FFFD, private use, bopomofo: never in clean Chinese text
_RUN_SCORE = 8
# A stretch scoring this much is a run only if it repairs: two mojibake
# characters of a two-character word ("鍖婚櫌", 医院) score less than a run.
_REPAIR_SCORE = 4
_BARRIER = -128  # a run never crosses a line end or a Chinese punctuation mark


def _gb2312_levels() -> dict[str, int]:
    """Each GB 2312 Han character and its level (1: the 3,755 common ones, 2: the next 3,008)."""
    levels = {}
    trails = range(0xA1, 0xFF)
    for lead in range(0xB0, 0xF8):
        level = 1 if lead < 0xD8 else 2
        try:
            # A whole row in one call (a pair per character): decoding pair by pair took
            # 0.01 s of every process's first normalisation; a row with a gap goes pair by pair.
            row = bytes(b for trail in trails for b in (lead, trail)).decode("gb2312")
        except UnicodeDecodeError:
            row = ""
        if len(row) == len(trails):
            levels.update(dict.fromkeys(row, level))
            continue
        for trail in trails:
            try:
                levels[bytes([lead, trail]).decode("gb2312")] = level
            except UnicodeDecodeError:
                pass
    return levels


@lru_cache(maxsize=1)
def _char_scores() -> np.ndarray:
    """The garbled-run score of every BMP code point (see the section comment).

    A Han character is scored by its simplified form, so traditional text
    scores like simplified text. Built once per process (about 0.02 s, most of it OpenCC's).
    """
    scores = np.zeros(0x10000, dtype=np.int16)
    levels = _gb2312_levels()
    # The characters HAN matches, from its ranges (a search of the whole BMP took 0.02 s).
    han = [chr(point) for lo, hi in _HAN_RANGES for point in range(lo, hi + 1)]
    # One conversion of all of them, one per line: OpenCC keeps the lines.
    simplified = to_simplified("\n".join(han)).split("\n")
    if len(simplified) != len(han):  # pragma: no cover - OpenCC keeps line count
        simplified = [to_simplified(c) for c in han]
    # Each character's level is that of the first character of its simplified form (none: 0).
    level_of = np.zeros(0x10000, dtype=np.int8)
    for char, level in levels.items():
        level_of[ord(char)] = level
    firsts = [simple[:1] or "\0" for simple in simplified]
    first_points = np.frombuffer("".join(firsts).encode("utf-32-le"), dtype=np.uint32)
    han_levels = np.where(first_points <= 0xFFFF, level_of[np.minimum(first_points, 0xFFFF)], 0)
    han_points = np.frombuffer("".join(han).encode("utf-32-le"), dtype=np.uint32)
    scores[han_points] = np.where(han_levels == 1, _COMMON, np.where(han_levels == 2, _LEVEL2, _RARE))
    # Private use is odd, not strong: web pages use it alone for icon fonts.
    for first, last in (
        (0x3040, 0x30FF),
        (0x0391, 0x03C9),
        (0x0401, 0x0451),
        (0x2502, 0x257F),
        (0xFE30, 0xFE6B),
        (0xE000, 0xF8FF),
    ):
        scores[first : last + 1] = _ODD_SYMBOL
    scores[0x3100:0x3130] = _STRONG
    scores[0xFFFD] = _STRONG
    scores[ord("?")] = _LOST_MARK
    # A run stops at a line end, and at Chinese punctuation: GBK pairs decode
    # to these almost never, and without the stop a run would bridge the
    # clean clause between two runs.
    # ASCII too: beside Chinese they become full-width; NEL becomes a line end.
    for char in "\n\x85。，、；：！？…,;:!":
        scores[ord(char)] = _BARRIER
    return scores


def _scores_of(text: str) -> np.ndarray:
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    # Characters beyond the BMP (CJK extension B and up) are rare Han or emoji: rare.
    scores = _char_scores()[np.minimum(points, 0xFFFF)]
    if len(points) and int(points.max()) > 0xFFFF:
        scores[points > 0xFFFF] = _RARE
    return scores


def _scored_runs(text: str, scores: np.ndarray | None = None) -> list[tuple[int, int, bool]]:
    """Stretches of ``text`` whose character scores add up to at least ``_REPAIR_SCORE``,
    each with whether it reaches ``_RUN_SCORE`` (a run even when it cannot be repaired).

    A maximal-scoring segment starts and ends on a positive score, so only the
    stretches between positive characters close enough together to add up
    are scanned: clean text costs one vectorised lookup.
    """
    if not text:
        return []
    if scores is None:
        scores = _scores_of(text)
    positive = np.flatnonzero(scores > 0)
    if not len(positive):
        return []
    # A cluster ends where the next positive is further than the largest score
    # could carry over common characters, or on another line.
    lines = np.cumsum(scores == _BARRIER)
    gaps = np.diff(positive)
    cut = np.flatnonzero((gaps > _STRONG // -_COMMON + 2) | (lines[positive[1:]] != lines[positive[:-1]]))
    bounds = zip(np.concatenate(([0], cut + 1)), np.concatenate((cut, [len(positive) - 1])))
    runs: list[tuple[int, int, bool]] = []
    for first, last in bounds:
        lo, hi = int(positive[first]), int(positive[last]) + 1
        if hi - lo == 1:  # one character: a run only if it is strong alone
            if scores[lo] >= _REPAIR_SCORE:
                runs.append((lo, hi, bool(scores[lo] >= _RUN_SCORE)))
            continue
        _max_segments(scores[lo:hi].tolist(), lo, runs)
    return runs


def _max_segments(scores: list[int], offset: int, out: list[tuple[int, int, bool]]) -> None:
    """Append the segments of ``scores`` whose sums reach ``_REPAIR_SCORE`` (linear scan)."""
    total = best = 0
    start = best_end = 0
    for i, score in enumerate(scores):
        if total <= 0:
            if score <= 0:
                continue
            total, best, start, best_end = 0, 0, i, i
        total += score
        if total > best:
            best, best_end = total, i + 1
        if total <= 0:
            if best >= _REPAIR_SCORE:
                out.append((offset + start, offset + best_end, best >= _RUN_SCORE))
            total = best = 0
    if best >= _REPAIR_SCORE:
        out.append((offset + start, offset + best_end, best >= _RUN_SCORE))


# UTF-8 read as Latin-1 or cp1252: a lead byte C2-F4 shown as "Â"-"ô", then
# continuation bytes 80-BF shown as Latin-1 or cp1252 characters ("Ã©", "â€™",
# "æŽ¨è¿›"); "?" and U+FFFD stand for the bytes cp1252 has no character for.
_CP1252_HIGH = "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
_LATIN_CONT = f"[\u0080-\u00bf{_CP1252_HIGH}?\ufffd]"
_LATIN_MOJIBAKE = re.compile(f"[\u00c2-\u00f4](?:[\u00c2-\u00f4]|{_LATIN_CONT})*{_LATIN_CONT}(?<=[^?])")


_LATIN_LEAD = re.compile("[\u00c2-\u00f4]")


def _latin_runs(text: str) -> list[tuple[int, int, bool]]:
    """Runs of UTF-8 read as Latin-1 / cp1252 (``Ã©``, ``â€™``)."""
    if not _LATIN_LEAD.search(text):
        return []
    runs = []
    for match in _LATIN_MOJIBAKE.finditer(text):
        run = match.group()
        # Only what decodes counts: an accented letter before a symbol (a
        # name, "é»") is text, and a run that decodes nowhere would not be
        # found again once its "?" became "？".
        if _unlatin(run) is not None:
            runs.append((match.start(), match.end(), True))
    return runs


def _latin_byte(char: str) -> int:
    """The byte a character of UTF-8 read as cp1252 or Latin-1 stands for, or -1."""
    point = ord(char)
    if point <= 0xFF:
        return point
    try:
        return char.encode("cp1252")[0]
    except UnicodeEncodeError:
        return -1


def _unlatin(run: str) -> tuple[str, bool] | None:
    """``run`` read back as the UTF-8 it was, sequence by sequence.

    Returns the text, with every character that is part of a valid UTF-8
    sequence decoded and the others left as they are (a C1 control left over,
    a byte cp1252 has no character for, becomes U+FFFD: a lost byte, not a
    control to remove, so that nothing left can form a sequence later; so
    does a "?", so that the run is found again on a second pass), and
    whether all of it decoded. None when nothing plausible decodes.
    """
    codes = [_latin_byte(char) for char in run]
    pieces: list[str] = []
    decoded: list[str] = []
    complete = True
    i = 0
    while i < len(codes):
        lead = codes[i]
        need = 2 if 0xC2 <= lead <= 0xDF else 3 if 0xE0 <= lead <= 0xEF else 4 if 0xF0 <= lead <= 0xF4 else 0
        if need and i + need <= len(codes) and all(0x80 <= b <= 0xBF for b in codes[i + 1 : i + need]):
            try:
                char = bytes(codes[i : i + need]).decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                pieces.append(char)
                decoded.append(char)
                i += need
                continue
        char = run[i]
        if char >= "\u0080" or char == "?":
            complete = False
        pieces.append("\ufffd" if "\u0080" <= char <= "\u009f" or char == "?" else char)
        i += 1
    if not decoded or not _plausible("".join(decoded)):
        return None
    return "".join(pieces), complete


# What a repair may give besides Han characters: letters and punctuation of
# Latin-1 and Latin Extended-A, general and CJK punctuation, letterlike
# symbols and number forms, enclosed numbers, full-width forms.
_REPAIRED_OTHER = re.compile(
    "[^\x00-\x7f\u00a0-\u017f\u2000-\u206f\u2100-\u218f\u2460-\u24ff\u3000-\u303f\uff00-\uffef]"
)


def _plausible(fixed: str) -> bool:
    """Whether a repair gave real text: no lost bytes or odd symbols, and common Han characters."""
    if not fixed or all(c < "\u0080" for c in fixed):
        return False
    scores = _scores_of(fixed)
    han = scores[(scores == _COMMON) | (scores == _LEVEL2) | (scores == _RARE)]
    if len(han) != sum(1 for _ in HAN.finditer(fixed)):
        return False  # a character beyond the BMP
    if _REPAIRED_OTHER.search(HAN.sub("", fixed)):
        return False
    return not len(han) or float((han == _COMMON).mean()) >= 0.8


_TO_ASCII_PUNCT = str.maketrans("，；：！？（）", ",;:!?()")


def _clause_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The stretch around a run up to line ends and Chinese punctuation (ASCII or full-width).

    Repair candidates stay inside it: a second pass, which sees the marks
    full-width, must try the same text.
    """
    line_start = start
    while line_start > 0 and text[line_start - 1] not in _CLEAN_MARKS:
        line_start -= 1
    line_end = end
    while line_end < len(text) and text[line_end] not in _CLEAN_MARKS:
        line_end += 1
    return line_start, line_end


def _candidate_region(text: str, start: int, end: int) -> tuple[int, int]:
    """All the text the repair candidates of a run look at (see :func:`_repair_wrong_codec`)."""
    line_start, line_end = _clause_around(text, start, end)
    if line_end - line_start <= 4 * (end - start) + 8:
        return line_start, line_end
    return max(line_start, start - 2), min(line_end, end + 2)


def _repair_wrong_codec(text: str, start: int, end: int) -> tuple[int, int, str] | None:
    """Re-read a run as the UTF-8 bytes it was (it was read as GBK or Big5), if that works.

    The run as scored may stop short of its first or last mojibake character (a
    common one), so the whole line and small widenings are tried too.
    """
    line_start, line_end = _clause_around(text, start, end)
    candidates = [(line_start, line_end)] if line_end - line_start <= 4 * (end - start) + 8 else []
    candidates += [
        (max(line_start, start - left), min(line_end, end + right)) for left in (0, 1, 2) for right in (0, 1, 2)
    ]
    for lo, hi in candidates:
        # Without spaces: between Chinese characters they go anyway, and a
        # second pass sees the run without them.
        # Full-width punctuation as ASCII: normalisation turns "(" beside Chinese into "（".
        run = text[lo:hi].replace(" ", "").translate(_TO_ASCII_PUNCT)
        for codec in ("gbk", "big5"):
            try:
                fixed = run.encode(codec).decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
            if len(fixed) < len(run) and _plausible(fixed):
                # ASCII at either end reads the same in both codecs: not part of the repair.
                while fixed and lo < hi and fixed[0] == text[lo] and fixed[0] < "\u0080":
                    fixed, lo = fixed[1:], lo + 1
                while fixed and lo < hi and fixed[-1] == text[hi - 1] and fixed[-1] < "\u0080":
                    fixed, hi = fixed[:-1], hi - 1
                return lo, hi, fixed
    return None


_MAX_RUN_GAP = 16
# Marks of clean text: mojibake has a line end's byte intact, but GBK pairs
# almost never decode to these.
_CLEAN_MARKS = frozenset("\n\x85。，、；：！？…“”,;:!")


def _widen(text: str, scores: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """Widen a run to the rare characters just outside it, up to clean text.

    The scan starts a run where the scores start to add up, so a run's first
    mojibake characters are left out when they happen to be common ones
    ("寤鸿?炬咕鍖虹..." scores from "鍖"). On each side, up to ``_MAX_RUN_GAP``
    characters, the run takes in the outermost positive character before a
    line end, a clean punctuation mark or three common Han characters in a row.
    """
    for step in (-1, 1):
        i = start - 1 if step < 0 else end
        limit = max(-1, start - 1 - _MAX_RUN_GAP) if step < 0 else min(len(text), end + _MAX_RUN_GAP)
        common_row = 0
        reach = None
        while i != limit and text[i] not in _CLEAN_MARKS:
            score = int(scores[i])
            common_row = common_row + 1 if score == _COMMON else 0 if score else common_row
            if common_row >= 3:
                break
            if score > 0:
                reach = i
            i += step
        if reach is not None:
            if step < 0:
                start = reach
            else:
                end = reach + 1
    return start, end


def _split_clean(text: str, scores: np.ndarray, run: tuple[int, int, bool]) -> list[tuple[int, int, bool]]:
    """A strong run cut where three common Han characters in a row stand (trimmed to positives)."""
    start, end, strong = run
    if not strong or end - start < 5:
        return [run]
    # Characters scoring 0 (spaces, digits, Latin letters) neither make nor break a row:
    # spaces between Chinese characters go in normalisation.
    scored = np.flatnonzero(scores[start:end] != 0)
    common = (scores[start:end][scored] == _COMMON).astype(np.int8)
    if len(common) < 3:
        return [run]
    rows = np.flatnonzero(np.convolve(common, np.ones(3, dtype=np.int8), "valid") == 3)
    if not len(rows):
        return [run]
    pieces = []
    last = start
    for row in rows.tolist():
        cut = start + int(scored[row])
        if cut > last:
            pieces.append((last, cut))
        last = max(last, start + int(scored[row + 2]) + 1)
    pieces.append((last, end))
    out = []
    for lo, hi in pieces:
        positive = np.flatnonzero(scores[lo:hi] > 0)
        if len(positive):
            lo, hi = lo + int(positive[0]), lo + int(positive[-1]) + 1
            if int(scores[lo:hi].sum()) >= _RUN_SCORE or int(scores[lo:hi].max()) >= _RUN_SCORE:
                out.append((lo, hi, True))
    return out


def _clean_gap(gap: str) -> bool:
    """Whether the text between two runs holds clean text: a line end, or three common Han in a row."""
    if any(char in _CLEAN_MARKS for char in gap):
        return True
    scores = _scores_of(gap)
    common = (scores[scores != 0] == _COMMON).astype(np.int8)  # as in _split_clean
    return len(common) >= 3 and int(np.convolve(common, np.ones(3, dtype=np.int8), "valid").max()) >= 3


@dataclass(frozen=True)
class _Runs:
    """Garbled runs found in a text and the repairs made, in the coordinates of the repaired text."""

    garbled: list[tuple[int, int]]
    repaired: list[tuple[int, int]]
    # Where the simplified conversion must not go: the garbled runs and the
    # text their failed repairs looked at (converted, it could repair on a
    # second pass).
    frozen: list[tuple[int, int]]


def _find_and_repair(mapped: _Mapped) -> tuple[_Mapped, _Runs]:
    """Find mojibake runs; repair those whose bytes survive, report the rest as garbled.

    Latin-1 / cp1252 runs first, then, in the text they left, runs of UTF-8
    read as GBK or Big5: a second pass over the result must find the same runs,
    so the two kinds are never merged into one run.
    """
    mapped, latin_garbled, latin_repaired = _repair_latin(mapped)
    mapped, garbled, repaired, edits, regions = _repair_wrong_codecs(mapped)
    garbled = list(_union(tuple(_move_spans(latin_garbled, edits) + garbled)))
    return mapped, _Runs(
        garbled=garbled,
        repaired=list(_union(tuple(_move_spans(latin_repaired, edits) + repaired))),
        frozen=list(_union(tuple(garbled + regions))),
    )


_Edit = tuple[int, int, str]  # replace [start, end) by the text


def _apply_edits(mapped: _Mapped, edits: list[_Edit]) -> _Mapped:
    """The text with ``edits`` (in order, not overlapping) made; new characters map to each edit's start."""
    if not edits:
        return mapped
    text = mapped.text
    pieces: list[str] = []
    last = 0
    for start, end, new in edits:
        pieces.append(text[last:start])
        pieces.append(new)
        last = end
    pieces.append(text[last:])
    offsets = (
        None
        if mapped.offsets is None
        else _edit_offsets(mapped.offsets, [(start, end, len(new)) for start, end, new in edits])
    )
    return _Mapped("".join(pieces), offsets)


def _edited_spans(edits: list[_Edit]) -> list[tuple[int, int]]:
    """Where each edit's new text lies after all the edits."""
    spans = []
    shift = 0
    for start, end, new in edits:
        spans.append((start + shift, start + shift + len(new)))
        shift += len(new) - (end - start)
    return spans


def _move_spans(spans: list[tuple[int, int]], edits: list[_Edit]) -> list[tuple[int, int]]:
    """Spans of the text before ``edits`` in the text after them (an edit a span touches joins it)."""
    if not edits:
        return list(spans)
    starts = [start for start, _, _ in edits]
    new_spans = _edited_spans(edits)
    shifts = [0]
    for start, end, new in edits:
        shifts.append(shifts[-1] + len(new) - (end - start))

    def move(pos: int, is_end: bool) -> int:
        i = bisect.bisect_right(starts, pos) - 1  # the last edit starting at or before pos
        if i >= 0 and pos < edits[i][1] and (pos > edits[i][0] or is_end):
            return new_spans[i][1] if is_end else new_spans[i][0]
        if i >= 0 and pos >= edits[i][1]:
            return pos + shifts[i + 1]
        return pos + shifts[max(i, 0)] if i >= 0 else pos

    return [(move(start, False), move(end, True)) for start, end in spans]


def _repair_latin(mapped: _Mapped) -> tuple[_Mapped, list[tuple[int, int]], list[tuple[int, int]]]:
    """Repair UTF-8 read as Latin-1 / cp1252; return the text, the runs left garbled, the runs repaired."""
    text = mapped.text
    edits: list[_Edit] = []
    complete: list[bool] = []
    for start, end, _ in _latin_runs(text):
        latin = _unlatin(text[start:end])
        # Again while it decodes: text encoded twice ("Ã£Â€Â‚"), and a repair
        # must leave nothing a second pass would repair.
        if latin is None:
            continue
        for _ in range(3):
            again = _unlatin(latin[0])
            if again is None or again[0] == latin[0]:
                break
            latin = again
        fixed = _clean_repair(latin[0])
        # A run left with lost bytes is garbled, so the simplified conversion
        # will pass it by: convert what was repaired of it now.
        edits.append((start, end, fixed if latin[1] else to_simplified(fixed)))
        complete.append(latin[1])
    spans = _edited_spans(edits)
    return (
        _apply_edits(mapped, edits),
        [span for span, done in zip(spans, complete) if not done],
        [span for span, done in zip(spans, complete) if done],
    )


def _clean_repair(fixed: str) -> str:
    """What _prepare did to the rest of the text, done to a repair's text."""
    return _unify_lookalikes(fixed).translate(_REPAIR_CLEANUP)


def _repair_wrong_codecs(
    mapped: _Mapped,
) -> tuple[_Mapped, list[tuple[int, int]], list[tuple[int, int]], list[_Edit], list[tuple[int, int]]]:
    """Find runs of UTF-8 read as GBK or Big5; repair those whose bytes survive.

    Returns the text, the garbled runs and the repaired runs (both in the new
    text), the edits made, and the text the failed repairs looked at.
    """
    text = mapped.text
    scores = _scores_of(text) if text else np.zeros(0, dtype=np.int16)
    runs = _scored_runs(text, scores)
    if not runs:
        return mapped, [], [], [], []
    runs = [(*_widen(text, scores, start, end), strong) for start, end, strong in runs]
    # Runs a few characters apart on one line are one run unless clean text
    # stands between them: pinyin left between mojibake ("鍫?(t谩ng)寤鸿")
    # scores below zero, but it is no sentence of its own.
    # A weak run (one that counts only if it repairs) stands alone; a strong
    # run is cut where three common characters in a row show clean text, so
    # that the same runs come out however the scan grouped its characters.
    merged: list[list[int]] = []  # start, end, strong (0 or 1)
    strong: bool | int
    for start, end, strong in sorted(run for part in runs for run in _split_clean(text, scores, part)):
        if (
            strong
            and merged
            and merged[-1][2]
            and start <= merged[-1][1] + _MAX_RUN_GAP
            and not _clean_gap(text[merged[-1][1] : start])
        ):
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, int(strong)])
    edits: list[_Edit] = []
    kept: list[tuple[int, int]] = []
    for start, end, strong in merged:
        if edits and start < edits[-1][1]:
            continue  # inside the line a repair already covered
        repair = _repair_wrong_codec(text, start, end)
        if repair is not None and (not edits or repair[0] >= edits[-1][1]):
            edits.append((repair[0], repair[1], _clean_repair(repair[2])))
            while kept and kept[-1][1] > repair[0]:  # runs the widened repair took in
                kept.pop()
        elif strong:
            kept.append((start, end))
    regions = [_candidate_region(text, start, end) for start, end in kept]
    return (
        _apply_edits(mapped, edits),
        _move_spans(kept, edits),
        _edited_spans(edits),
        edits,
        _move_spans(regions, edits),
    )


# --- markup, width and whitespace ---------------------------------------------

# "**", "__" and any "*" not between ASCII letters or digits ("3*4" stays):
# in plan text a star is markdown or a footnote mark, never content.
_MD_EMPHASIS = re.compile(r"\*\*|__|\*(?<![A-Za-z0-9]\*)|\*(?![A-Za-z0-9])")
# Bullets of markdown, word processors and web pages that open a line.
_BULLETS = "•·●○▪▫◆◇■□►√➢➤❖★☆▶▷◎◉✓✔"
_MD_LINE_MARKS = "#-*+>" + _BULLETS
_MD_LINE_START = re.compile(rf"(?m)^[ \t]*(?:(?:#{{1,6}}|[-*+])[ \t]+|>[ \t]*|[{_BULLETS}]+[ \t]*)+(?=\S)")
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((?:https?://|/|\.)[^)\s]*\)")
_FULLWIDTH_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff05\uff0e\u3000]")
_TO_FULLWIDTH = {",": "，", ";": "；", ":": "：", "!": "！", "?": "？", "(": "（", ")": "）"}
# ASCII punctuation between ASCII alphanumerics (1,000 / 3:1 / a(b)) stays ASCII.
# The mark comes first in each branch so the scan tests one character per position.
_ASCII_PUNCT = re.compile(r"[,;:!?()](?<![A-Za-z0-9][,;:!?()])|[,;:!?()](?![A-Za-z0-9])")
# Runs of blanks other than one plain space (which needs no change).
# Every pattern here starts with one character or class, outside any group or
# lookaround, so that the regex engine scans for it before trying the rest:
# ten to twenty times faster than a pattern that opens with a lookaround or an
# alternation.
_BLANK = r"[ \t\u00a0\u2000-\u200b\u3000]"
_SPACES = re.compile(f"{_BLANK}(?:(?<=[^ ]){_BLANK}*|{_BLANK}+)")
# Spaces at the end or the start of a line.
_LINE_EDGE_SPACES = re.compile(r" (?: *(?=\n|\Z)|(?<=(?m:^) ) *)")
# Whitespace beside Chinese text (Han, Chinese punctuation, digits touching Han).
_CJK_ANY = f"{_HAN}{_CJK_PUNCT}"
# Blank runs are single spaces by now; the space comes first in each branch so
# the scan tests one character per position before any lookaround.
_SPACE_IN_CJK = re.compile(f" (?<=[{_CJK_ANY}] )(?=[{_CJK_ANY}0-9A-Za-z%])| (?<=[0-9A-Za-z%] )(?=[{_CJK_ANY}])")

# --- line joining -------------------------------------------------------------

HEADING_MARKER = re.compile(
    r"^(?:[（(][一二三四五六七八九十百]+[)）]|[一二三四五六七八九十百]+[、.．]|第[一二三四五六七八九十百]+[章节部分条项，]"
    r"|[（(]\d{1,2}[)）]|\d{1,2}[、.．](?!\d)|[①-⑳⑴-⒇]|[一二三四五六七八九十]是)"
)
_TERMINAL = "。！？；：!?;:…"
_CLOSERS = "”’」』）)》】\"'"
_CONTINUATION_MARKS = frozenset("，、。；：！？）》”’,;:!?)")


# A line ending in lost bytes or in a garbled run's parked marks: its end was
# garbled with it, so nothing tells that the sentence goes on.
_GARBLED_END = "\ufffd\ufdd0\ufdd1\ufdd2\ufdd3\ufdd4"
_LATIN_END = re.compile(f"[\u00c2-\u00f4]{_LATIN_CONT}{{1,3}}$")


# A note in brackets after a sentence's end ("…给予奖励。（牵头责任部门：商务局）", "…。（陈家宝同志牵头，
# 市劳动局具体实施）"): the paragraph ends with it. Not a numbering ("。（二）"), which opens what follows.
_NOTE_TAIL = re.compile(
    r"[。！？；!?;][”’」』]?\s*[（(](?![一二三四五六七八九十百\d]{1,3}[）)])"
    r"[^（）()]*(?:[（(][^（）()]*[）)][^（）()]*)*[）)]$"
)
_NOTE_CHARS = 120
# A numbered item of a long list ("123.实施……"): HEADING_MARKER's numbers go to 99, a task list's further.
_NUMBERED_ITEM = re.compile(f"^\\d{{1,3}}[、.．](?=[{_HAN}“《])")


def _ends_sentence(line: str) -> bool:
    # Lines come stripped. The tail alone: a note is short, and a search from every stop of a
    # long line would cost.
    if line.endswith(("）", ")")) and _NOTE_TAIL.search(line[-_NOTE_CHARS:]):
        return True
    stripped = line.rstrip(_CLOSERS + " ")
    if not stripped:
        return False
    last = stripped[-1]
    return (
        last in _TERMINAL
        or last in _GARBLED_END
        or ("\u0080" <= last <= "\u00bf" or last in _CP1252_HIGH)
        and bool(_LATIN_END.search(stripped))
    )


def _display_width(line: str) -> int:
    """The width ``line`` takes on a page, in full-width characters: ASCII (digits, Latin) counts half.

    A PDF wraps at a width, not a character count: a line with "2050.3亿元" or
    "7+20+N" in it holds a few characters more than one of Chinese alone.
    """
    narrow = len(line.encode("ascii", "ignore"))  # the ASCII characters, counted in C
    return len(line) - narrow // 2


@dataclass(frozen=True)
class _Wrap:
    """The line width a hard-wrapped text was cut at, measured two ways.

    ``page``: the width on the page (:func:`_display_width`, ASCII counting half),
    as a PDF wraps, seen on three lines at least: two lines of one width are a
    coincidence as often as not (a title and a date line). ``chars``: the number
    of characters, as fixed-width text wraps, seen on ``chars_lines`` lines (two
    wrapped lines of a short plan already count). None: no such width.
    """

    page: int | None
    chars: int | None
    chars_lines: int = 0

    def holds(self, line: str) -> bool:
        """Whether ``line`` is as wide as the wrapped lines (so it was cut, not ended)."""
        return self._on_page(line) or (self.chars is not None and self.chars - 2 <= len(line) <= self.chars + 4)

    def holds_firmly(self, line: str) -> bool:
        """:meth:`holds`, by a width seen on three lines or more (enough to rejoin even a heading-led line)."""
        return self._on_page(line) or (self.chars_lines >= 3 and self.holds(line))

    def _on_page(self, line: str) -> bool:
        return self.page is not None and self.page - 2 <= _display_width(line) <= self.page + 4


def _common_width(lengths: list[int], at_least: int) -> tuple[int, int] | None:
    """The width most ``lengths`` cluster at (within two) and how many do, if ``at_least`` and half do."""
    if len(lengths) < 2:
        return None
    counts: dict[int, int] = {}
    for n in lengths:
        counts[n] = counts.get(n, 0) + 1
    best = max(counts, key=lambda w: sum(counts.get(w + d, 0) for d in (-2, -1, 0, 1, 2)))
    near = sum(counts.get(best + d, 0) for d in (-2, -1, 0, 1, 2))
    return (best, near) if near >= at_least and near >= len(lengths) / 2 and best >= 15 else None


# Share of the lines that may run past a wrap width (by more than its tolerance): a PDF's
# wrapped text has a few (a line of digits, a table row), paragraph-per-line text many.
_MAX_PAST_WIDTH = 0.2


def _past_width(widths: list[int], width: int) -> bool:
    """Whether too many of ``widths`` exceed ``width`` for it to be the text's wrap width."""
    past = sum(1 for w in widths if w > width + 4)
    return past > _MAX_PAST_WIDTH * len(widths)


def _wrap_width(lines: list[str]) -> _Wrap | None:
    """The fixed line width of hard-wrapped text (PDF extraction), if it has one.

    Most lines that do not end a sentence must share a width (within two
    characters); header fields of a saved web page (``标题：…``) do not count.
    """
    candidates = [
        line
        for line in lines
        if line and not _ends_sentence(line) and not HEADING_MARKER.match(line) and not _FIELD_LINE.match(line)
    ]
    page = _common_width([_display_width(line) for line in candidates], at_least=3)
    chars = _common_width([len(line) for line in candidates], at_least=2)
    # A wrap width bounds the text: hardly a line runs past it. Paragraph-per-line text (DOCX,
    # web pages) has a few unfinished lines of one length by chance (a 17-character title, a
    # 17-character document number) among paragraphs far longer; that is no wrap.
    if page is not None and _past_width([_display_width(line) for line in lines if line], page[0]):
        page = None
    if chars is not None and _past_width([len(line) for line in lines if line], chars[0]):
        chars = None
    if page is None and chars is None:
        return None
    return _Wrap(
        page=None if page is None else page[0],
        chars=None if chars is None else chars[0],
        chars_lines=0 if chars is None else chars[1],
    )


# Header fields of documents saved from government sites: each is a line of its own.
_FIELD_LINE = re.compile(
    r"^(?:标题|发文单位|发文机关|发文时间|发文字号|发布机构|发布日期|成文日期|报告人|来源|来源URL|原文链接|"
    r"索引号|主题分类|文号|信息来源|作者|正文)[：:]"
)
# A task's responsibility note closing its paragraph ("…给予补贴。（责任单位：市商务局）"):
# the paragraph ends there, whatever comes on the next line.
_RESPONSIBILITY_KEY = r"(?:主要)?(?:责任|牵头|配合|协办)(?:单位|部门|领导)\s*[：:]"
_RESPONSIBILITY_TAIL = re.compile(rf"[（(]\s*{_RESPONSIBILITY_KEY}[^（）()]*[）)]$")
# The same note unbracketed after the task's last sentence ("…投入使用。牵头单位：区教育局").
_RESPONSIBILITY_AFTER_SENTENCE = re.compile(rf"[。；;]\s*{_RESPONSIBILITY_KEY}[^。，；：,;:]*$")
# A document number closing a line ("…的通知 杭卫计办〔2015〕22号"): the head of a document, which
# the addressee line below it does not continue.
_DOC_NUMBER_TAIL = re.compile(r"[〔\[（(【]\s*(?:19|20)\d{2}\s*[〕\]）)】]\s*第?\d{1,4}\s*号$")
# A clause of at most three characters before a comma or stop: the tail of a
# sentence cut by the line end ("法制\n建设。"), unless it is a word that opens
# sentences ("今年，", "同时，", "第三，").
_TINY_CLAUSE = re.compile(r"^([^，。；：！？、,;:!?\s]{1,3})[，。；：！？、,;:!?]")
_OPENERS = frozenset(
    [
        "今年",
        "去年",
        "明年",
        "现在",
        "同时",
        "为此",
        "其中",
        "目前",
        "此外",
        "另外",
        "总之",
        "首先",
        "其次",
        "再次",
        "最后",
        "因此",
        "所以",
        "但是",
        "然而",
        "当前",
        "过去",
        "未来",
        "全年",
        "对此",
        "据此",
        "近年来",
        "五年来",
        "一年来",
        "这些",
        "我们",
        "总的看",
        "同志们",
        "各位",
        "综上",
    ]
)
_ORDINAL_OPENER = re.compile(r"^(?:第[一二三四五六七八九十]+|[一二三四五六七八九十]是|其[一二三四五六])$")
_SENTENCE_END_INSIDE = re.compile("[。！？]")
_PUNCT_ANY = re.compile("[，。；：！？、,.;:!?（）()“”]")


def _tiny_tail(line: str) -> bool:
    """Whether ``line`` starts with a clause too short to open a sentence."""
    # Without spaces: they go later (between Chinese), and a second pass must decide alike.
    match = _TINY_CLAUSE.match(line.replace(" ", ""))
    if not match:
        return False
    word = match.group(1)
    return word not in _OPENERS and not _ORDINAL_OPENER.match(word)


def _kept_apart(prev: str, nxt: str) -> bool:
    """Whether the break between ``prev`` and ``nxt`` stays whatever else is known."""
    return (
        not prev
        or not nxt
        or _ends_sentence(prev)
        or bool(HEADING_MARKER.match(nxt))
        or bool(_NUMBERED_ITEM.match(nxt))
        or bool(_FIELD_LINE.match(nxt))
        or bool(_FIELD_LINE.match(prev))
        or bool(_RESPONSIBILITY_TAIL.search(prev))
        or bool(_RESPONSIBILITY_AFTER_SENTENCE.search(prev))
        or bool(_DOC_NUMBER_TAIL.search(prev))
    )


def _opens_continuation(prev: str, nxt: str) -> bool:
    """Whether ``nxt`` opens with a mark that continues a sentence, or ``prev`` ends with one
    that opens the rest (both non-empty)."""
    return nxt[0] in _CONTINUATION_MARKS or prev[-1] in "，、（(“《—"


def _continues(prev: str, nxt: str) -> bool:
    """Whether ``nxt`` joins ``prev`` whatever came before ``prev``."""
    return bool(prev) and bool(nxt) and _opens_continuation(prev, nxt) and not _kept_apart(prev, nxt)


def _should_join(prev: str, nxt: str, wrap: _Wrap | None, logical: int, running: bool, after: str) -> bool:
    """Whether the line break between ``prev`` and ``nxt`` falls inside a sentence.

    ``logical`` is the length of the line ``prev`` ends once the breaks before
    it are joined, ``running`` whether that line has a comma or enumeration
    mark (a sentence under way); ``after`` is the line after ``nxt``.
    """
    if _kept_apart(prev, nxt):
        return False
    if _opens_continuation(prev, nxt):
        return True
    # A sentence already running ("第三，切实加强民主", "5、民主") goes on in a
    # line that starts with a clause too short to be a sentence ("建设。"), or
    # in a short fragment followed by one ("法制" then "建设，"): a web page's
    # inline links put their text on lines of its own.
    # A numbered line with a sentence ended in it is no heading line but a run-in heading and
    # its paragraph ("14. 推进……发展。以空港……编制发展规" / "划。"), which goes on like any other.
    heading = HEADING_MARKER.match(prev) and len(prev) <= 60 and not _SENTENCE_END_INSIDE.search(prev)
    if running:
        # After a heading line only a fragment may follow ("5、民主" "法制"
        # "建设，"): "四、加强政府自身建设" then "新起点、…" is a new paragraph.
        if _tiny_tail(nxt) and not heading:
            return True
        if len(nxt.replace(" ", "")) <= 8 and not _PUNCT_ANY.search(nxt) and _tiny_tail(after):
            return True
    if wrap is not None and heading and wrap.holds_firmly(prev):
        # A heading-led paragraph the PDF wrapped: "（一）贯彻新发展观要求，……提高可持续" /
        # "发展能力和经济社会发展承载力。" (a heading that short would have ended on its line).
        return True
    if heading:
        return False
    if wrap is not None and wrap.holds(prev):
        return True
    # Paragraph-per-line text: a line this long with no closing mark is no
    # title or heading; it was cut mid-sentence (a web page's inline link or
    # a word split by the line end, "尽快完善国有\n企业业\n绩考核体系").
    if len(prev) > 40:
        return True
    # A word split over several lines ("…尽快完善国有\n企业业\n绩考核体系，…。"): a fragment of a
    # few characters continuing a long joined line, then the rest of the sentence. Judged on the
    # physical line otherwise: a table's cells ("财政部", "持续实施", "3") each stand alone, however
    # long the line they follow.
    return logical > 40 and len(prev) <= 4 and _ends_sentence(nxt)


def _lines_ahead(lines: list[str]) -> list[tuple[str, str]]:
    """For each line: it together with the lines that will join it whatever came before
    (:func:`_continues`), and the line after those."""
    ahead: list[tuple[str, str]] = [("", "")] * len(lines)
    for i in range(len(lines) - 1, -1, -1):
        if i + 1 == len(lines):
            ahead[i] = (lines[i], "")
        elif _continues(lines[i], lines[i + 1]):
            ahead[i] = (lines[i] + ahead[i + 1][0], ahead[i + 1][1])
        else:
            ahead[i] = (lines[i], ahead[i + 1][0])
    return ahead


def _join_broken_lines(mapped: _Mapped) -> _Mapped:
    text = mapped.text
    if "\n" not in text:
        return mapped
    lines = text.split("\n")
    wrap = _wrap_width([line.strip() for line in lines])
    # Index the non-empty lines, then decide for each gap between two of them.
    spans: list[tuple[int, int]] = []
    pos = 0
    for line in lines:
        if line.strip():
            spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    stripped = [text[start:end].strip() for start, end in spans]
    # Lines that open with a continuation mark join whatever came before: judge each break
    # against the next line as it will be once those are joined, as a second pass would see it
    # ("，1" "1" "：" must decide "1：", not "1", or normalising twice would join more).
    ahead = _lines_ahead(stripped)
    joins: list[tuple[int, int]] = []
    logical = 0
    running = False
    for i in range(len(spans) - 1):
        prev = stripped[i]
        logical += len(prev) - prev.count(" ")
        # "in" tests: several times faster than a search, on every line of a document.
        running = running or "，" in prev or "、" in prev or "；" in prev or "," in prev or ";" in prev
        nxt, after = ahead[i + 1]
        if _should_join(prev, nxt, wrap, logical, running, after):
            joins.append((spans[i][1], spans[i + 1][0]))
        else:
            logical = 0
            running = False
    if not joins:
        return mapped
    pieces: list[str] = []
    last = 0
    for gap_start, gap_end in joins:
        pieces.append(text[last:gap_start])
        last = gap_end
    pieces.append(text[last:])
    if mapped.offsets is None:
        return _Mapped("".join(pieces), None)
    return _Mapped("".join(pieces), _edit_offsets(mapped.offsets, [(start, end, 0) for start, end in joins]))


_HEADING_LINE_GAP = re.compile(r"(?m)^(?=" + HEADING_MARKER.pattern[1:] + f")(\\S{{5,}}?[{_HAN}]) +(?=[{_HAN}])")


def _split_heading_gap(match: re.Match[str]) -> str:
    # In a numbered heading line the first inner gap ends the heading: PDF text
    # glues "(一)…产业质量与效益 筑牢实体经济支撑。" onto one line.
    head = match.group(1)
    if any(c in _TERMINAL for c in head):
        return match.group(0)
    return head + "\n"


# A space between two Chinese characters: in PDF text, a lost line break or a stray space.
_HAN_GAP = re.compile(f"[{_HAN}] +[{_HAN}]")
# More gaps than this per character of text, besides those after headings: spaces are
# scattered through the words (a converter's artefact), so the one after a heading no more
# ends it than any other ("一、2024年工 作回顾").
_SCATTERED_GAPS = 1 / 50


def _split_heading_lines(mapped: _Mapped) -> _Mapped:
    text = mapped.text
    headings = len(_HEADING_LINE_GAP.findall(text))
    if not headings:
        return mapped
    if len(_HAN_GAP.findall(text)) - headings > _SCATTERED_GAPS * len(text):
        return mapped
    return mapped.sub(_HEADING_LINE_GAP, _split_heading_gap)


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional characters to simplified (OpenCC ``t2s``), nothing else."""
    return _t2s().convert(text)


def _to_halfwidth(match: re.Match[str]) -> str:
    char = match.group()
    return " " if char == "\u3000" else chr(ord(char) - 0xFEE0)


# Inside a garbled run a "?" is a lost byte, and "。" "！" "；" "…" are
# byte pairs that happen to decode to punctuation: none ends a sentence. They
# are parked as noncharacters while the other steps run, then written as marks
# the sentence splitter does not cut at: a lost byte as U+FFFD (the one mark
# for it, as "，" is the one comma), the others as look-alikes.
_PARK = {
    "?": "\ufdd0",
    "？": "\ufdd0",
    "。": "\ufdd1",
    "！": "\ufdd2",
    "!": "\ufdd2",
    "；": "\ufdd3",
    ";": "\ufdd3",
    "…": "\ufdd4",
}
_UNPARK = {"\ufdd0": "\ufffd", "\ufdd1": "\uff61", "\ufdd2": "\u01c3", "\ufdd3": "\u037e", "\ufdd4": "\u22ef"}
_PARKED = re.compile("[\ufdd0-\ufdd4]")


def _unpark(match: re.Match[str]) -> str:
    return _UNPARK[match.group()]


def _simplify_outside(mapped: _Mapped, garbled: list[tuple[int, int]]) -> _Mapped:
    """Traditional to simplified everywhere but in the garbled runs."""
    convert = _t2s().convert
    if not garbled:
        return mapped.translate_same_length(convert)
    text, offsets = mapped.text, mapped.offsets
    texts: list[str] = []
    maps: list[np.ndarray] = []
    last = 0
    for start, end in [*garbled, (len(text), len(text))]:
        if start > last:
            part = _Mapped(text[last:start], None if offsets is None else offsets[last : start + 1])
            part = part.translate_same_length(convert)
            texts.append(part.text)
            if part.offsets is not None:
                maps.append(part.offsets[:-1])
        texts.append(text[start:end])
        if offsets is not None:
            maps.append(offsets[start:end])
        last = end
    if offsets is None:
        return _Mapped("".join(texts), None)
    return _Mapped("".join(texts), np.concatenate([*maps, offsets[-1:]]))


def _apply_steps(
    mapped: _Mapped, garbled: list[tuple[int, int]], frozen: list[tuple[int, int]] | None = None
) -> _Mapped:
    """The normalisation edits after garbled runs were found and repaired, in order."""
    if garbled:
        chars = list(mapped.text)
        for start, end in garbled:
            for i in range(start, end):
                chars[i] = _PARK.get(chars[i], chars[i])
        mapped = _Mapped("".join(chars), mapped.offsets)
    # Garbled runs are not converted to simplified: their characters are no
    # traditional text, and a converted run could turn repairable on a second pass.
    mapped = _simplify_outside(mapped, garbled if frozen is None else frozen)
    mapped = _edit_steps(mapped)
    if garbled:
        mapped = mapped.sub(_PARKED, _unpark, same_length=True)
    return mapped


# Web text saved as plain text keeps HTML's entities and some of its tags ("推进&nbsp;河长制",
# "&ldquo;两不管&rdquo;", "<p>…</p>"): the ";" of an entity would end a sentence, and a tag
# would read as words. Entities become their characters; the tags of text and tables go,
# those that break a line becoming one. Only these names: "<35" or "a<b" is no tag.
_HTML_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_HTML_BLOCK_TAGS = "p|br|div|tr|li|h[1-6]|table|tbody|thead|ul|ol|section|article|blockquote|hr"
_HTML_TAG = re.compile(
    rf"</?(?:({_HTML_BLOCK_TAGS})|td|th|span|strong|b|em|i|u|font|a|img|sup|sub)(?:\s[^<>]{{0,300}})?/?>",
    re.IGNORECASE,
)


def _unescape_entity(match: re.Match[str]) -> str:
    char = html.unescape(match.group())
    # "&#65279;" or "&#8203;": what _prepare drops as a character goes as an entity too.
    return "" if len(char) == 1 and unicodedata.category(char) in ("Cc", "Cf") and char not in "\t\n" else char


def _drop_html_markup(mapped: _Mapped) -> _Mapped:
    """HTML entities as their characters, HTML tags gone (a line break for those that break one)."""
    # Until nothing changes: "&amp;nbsp;" is "&nbsp;" once, and normalising twice must change nothing.
    for _ in range(3):
        before = mapped.text
        mapped = mapped.sub(_HTML_ENTITY, _unescape_entity, when="&")
        mapped = mapped.sub(_HTML_TAG, lambda m: "\n" if m.group(1) else "", when="<")
        if mapped.text == before:
            break
    return mapped


def _edit_steps(mapped: _Mapped) -> _Mapped:
    """The normalisation edits after the conversion to simplified, in order.

    Apart from :func:`_apply_steps` so that the light path of
    :func:`normalize_sentences` runs the very same edits (see
    :func:`_finish_light` for when it may skip them).
    """
    # NEL and C1 controls only now: inside a Latin-1 mojibake run they were bytes to repair.
    mapped = mapped.sub(_NEL, "\n", when="\x85", same_length=True)
    mapped = mapped.sub(_C1_CONTROLS, "", when=_C1_CONTROL_CHARS)
    mapped = _drop_html_markup(mapped)
    mapped = mapped.sub(_FULLWIDTH_ALNUM, _to_halfwidth, same_length=True)
    mapped = mapped.sub(_MD_LINK, r"\1", when="[")
    mapped = mapped.sub(_MD_EMPHASIS, "", when="*_")
    mapped = mapped.sub(_MD_LINE_START, "", when=_MD_LINE_MARKS)
    mapped = mapped.sub(_SPACES, " ")
    mapped = mapped.sub(_LINE_EDGE_SPACES, "", when=" \t")
    mapped = mapped.sub(_ASCII_PUNCT, _to_fullwidth, when=",;:!?()", same_length=True)
    if " " in mapped.text:
        mapped = _split_heading_lines(mapped)
    # Spaces inside Chinese text go before lines are joined: the join reads line lengths,
    # and they must be the lengths a second normalisation would see.
    mapped = mapped.sub(_SPACE_IN_CJK, "", when=" ")
    mapped = _join_broken_lines(mapped)
    mapped = mapped.sub(_BLANK_LINES, "\n", when="\n")
    mapped = mapped.sub(_SPACE_IN_CJK, "", when=" ")
    # Annotations last: removing markup, spaces and line breaks can glue one
    # to its character ("划*(a)"), and normalising twice must change nothing.
    mapped = mapped.sub(_PINYIN_ANNOTATION, _drop_pinyin, when="(（")
    return _strip_outer(mapped)


# Invisible format characters web pages and word processors leave inside words: zero-width
# (non-)joiners, direction marks and embeddings, word joiners. They would cut a word's
# character n-grams ("推进\u200d河长制"). (The soft hyphen U+00AD is left: it is also a
# continuation byte of Latin-1 mojibake, which is repaired later.)
_INVISIBLE_CHARS = (
    "\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069"
)
_PREPARE = re.compile(f"\ufeff|\r(?=\n)|[\ufdd0-\ufdd4{_INVISIBLE_CHARS}]")
# NEL (U+0085) becomes a line break only after mojibake repair: in UTF-8 read
# as Latin-1 it is the byte 85 of a character.
_LINE_BREAKS = re.compile("[\r\u2028\u2029\x0b\x0c]")
_NEL = re.compile("\x85")
_PREPARE_CHARS = "\ufeff\r\ufdd0\ufdd1\ufdd2\ufdd3\ufdd4" + _INVISIBLE_CHARS
_LINE_BREAK_CHARS = "\r\u2028\u2029\x0b\x0c"
# Control characters other than tab and line end carry no text (NUL from a
# bad extraction, form feeds between PDF pages are line breaks by now).
_C0_CONTROL_CHARS = "".join(chr(c) for c in [*range(0x09), *range(0x0E, 0x20), 0x7F])
_C0_CONTROLS = re.compile(f"[{re.escape(_C0_CONTROL_CHARS)}]+")
_C1_CONTROL_CHARS = "".join(chr(c) for c in range(0x80, 0xA0) if c != 0x85)
_C1_CONTROLS = re.compile(f"[{_C1_CONTROL_CHARS}]+")


def _lookalike_table() -> dict[int, int]:
    """Kangxi radicals, CJK radicals and compatibility ideographs -> the unified ideograph.

    PDF text printed by Chromium carries these in place of ordinary characters
    (``全⾯落实河⻓制``): they look the same and are different code points, so
    the model would not know them. NFKC maps the Kangxi radicals and
    compatibility ideographs; the radicals supplement needs Unicode's table
    (``data/cjk_radicals_supplement.txt``).
    """
    table: dict[int, int] = {}
    for point in [*range(0x2F00, 0x2FE0), *range(0xF900, 0xFB00)]:
        mapped = unicodedata.normalize("NFKC", chr(point))
        if len(mapped) == 1 and mapped != chr(point):
            table[point] = ord(mapped)
    for line in package_text("data/cjk_radicals_supplement.txt").splitlines():
        if line and not line.startswith("#"):
            radical, ideograph = line.split()
            table[int(radical, 16)] = int(ideograph, 16)
    return table


_LOOKALIKES = _lookalike_table()
# _prepare's edits, for the text a repair puts in: line breaks, controls, BOMs.
_REPAIR_CLEANUP: dict[int, str | None] = {
    **{ord(c): "\n" for c in "\r\u2028\u2029\x0b\x0c\x85"},
    **{ord(c): None for c in "\ufeff\ufdd0\ufdd1\ufdd2\ufdd3\ufdd4" + _INVISIBLE_CHARS},
    **{c: None for c in [*range(0x09), *range(0x0E, 0x20), 0x7F, *range(0x80, 0x85), *range(0x86, 0xA0)]},
}
# CJK radicals supplement, Kangxi radicals, compatibility ideographs: where the look-alikes live.
_LOOKALIKE_RANGES = ((0x2E80, 0x2EFF), (0x2F00, 0x2FDF), (0xF900, 0xFAFF))
_LOOKALIKE_RE = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _LOOKALIKE_RANGES) + "]")


def _unify_lookalikes(text: str) -> str:
    return text.translate(_LOOKALIKES)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _prepare(mapped: _Mapped) -> _Mapped:
    """Drop byte-order marks, the CR of CRLF and control characters; every other line break
    becomes LF; look-alike radicals become the characters they stand for."""
    mapped = (
        mapped.sub(_PREPARE, "", when=_PREPARE_CHARS)
        .sub(_LINE_BREAKS, "\n", when=_LINE_BREAK_CHARS)
        .sub(_C0_CONTROLS, "", when=_C0_CONTROL_CHARS)
    )
    if _SURROGATE.search(mapped.text):
        # A lone surrogate (JSON "\ud800", a file name decoded with surrogateescape) is a
        # lost character: OpenCC cannot even encode it. It reads as U+FFFD, which marks garbling.
        mapped = mapped.sub(_SURROGATE, "\ufffd", same_length=True)
    if _LOOKALIKE_RE.search(mapped.text):
        mapped = _Mapped(_unify_lookalikes(mapped.text), mapped.offsets)
    return mapped


_BLANK_LINES = re.compile(r"\n\n+")


def _strip_outer(mapped: _Mapped) -> _Mapped:
    text = mapped.text
    start = len(text) - len(text.lstrip())
    end = len(text.rstrip())
    if start == 0 and end == len(text):
        return mapped
    end = max(end, start)
    offsets = None if mapped.offsets is None else np.concatenate((mapped.offsets[start:end], mapped.offsets[-1:]))
    return _Mapped(text[start:end], offsets)


def _to_fullwidth(match: re.Match[str]) -> str:
    return _TO_FULLWIDTH[match.group()]


def normalize(raw: str) -> NormalizedText:
    """Normalise a whole document (or any text), repair what mojibake it can, report the rest.

    See the module docstring for what changes and why. The result's ``text``
    is what sentence splitting, tokenisation and the model see.
    """
    doc = _normalize_once(raw)
    # Removing markup, spaces or line ends can bring the bytes of a Latin-1
    # mojibake sequence together ("Ã*¨"): normalise the result again (rarely
    # needed, checked cheaply) so that normalising twice changes nothing.
    for _ in range(2):
        if not _latin_repair_left(doc.text):
            break
        again = _normalize_once(doc.text)
        inner = again.offsets[:-1]
        carried = [
            tuple((int(np.searchsorted(inner, s)), int(np.searchsorted(inner, e))) for s, e in spans)
            for spans in (doc.garbled, doc.repaired)
        ]
        offsets = doc.offsets[again.offsets]
        offsets.flags.writeable = False
        doc = NormalizedText(
            text=again.text,
            original=raw,
            offsets=offsets,
            garbled=_union(carried[0] + again.garbled),
            repaired=_union(carried[1] + again.repaired),
        )
    return doc


def _latin_repair_left(text: str) -> bool:
    return bool(_LATIN_LEAD.search(text)) and any(
        _unlatin(text[start:end]) is not None for start, end, _ in _latin_runs(text)
    )


def _union(spans: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _normalize_once(raw: str) -> NormalizedText:
    mapped = _prepare(_Mapped.of(raw))
    mapped, runs = _find_and_repair(mapped)
    assert mapped.offsets is not None
    garbled_original = _original_spans(mapped.offsets, runs.garbled)
    repaired_original = _original_spans(mapped.offsets, runs.repaired)
    mapped = _apply_steps(mapped, runs.garbled, runs.frozen)
    offsets = mapped.offsets
    assert offsets is not None
    offsets.flags.writeable = False
    return NormalizedText(
        text=mapped.text,
        original=raw,
        offsets=offsets,
        garbled=_to_normalized_spans(offsets, garbled_original),
        repaired=_to_normalized_spans(offsets, repaired_original),
    )


def _original_spans(offsets: np.ndarray, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    # A repaired run's characters all map to its first original character, so
    # its end is where the next character came from.
    return [(int(offsets[s]), int(offsets[e])) for s, e in spans if e > s]


def _to_normalized_spans(offsets: np.ndarray, spans_original: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    spans = []
    body = offsets[:-1]
    for o_start, o_end in spans_original:
        start = int(np.searchsorted(body, o_start, side="left"))
        end = int(np.searchsorted(body, o_end, side="left"))
        if end > start:
            spans.append((start, end))
    return tuple(spans)


# Characters on which every normalisation step but the conversion to simplified is a no-op:
# common Han (garbled-run score below zero, so no run can start), Chinese punctuation that
# no step rewrites, ASCII digits, "." and "%". No space, line break, Latin letter, ASCII
# bracket or markdown mark: those are what the other steps look for.
_PLAIN_PUNCTUATION = "。，、；：！？…“”‘’《》（）【】—%.0123456789"


@lru_cache(maxsize=1)
def _plain_sentence() -> re.Pattern[str]:
    """A sentence made only of characters on which normalisation is just OpenCC's conversion."""
    # The class as runs of consecutive code points ("一-丁"): the same set in about a third of
    # the items, which the regex compiler parses one by one (0.011 s as single characters).
    points = sorted(map(ord, _plain_chars()))
    starts = [p for i, p in enumerate(points) if i == 0 or points[i - 1] != p - 1]
    ends = [p for i, p in enumerate(points) if i == len(points) - 1 or points[i + 1] != p + 1]
    runs = (re.escape(chr(lo)) + ("-" + re.escape(chr(hi)) if hi > lo else "") for lo, hi in zip(starts, ends))
    return re.compile("[" + "".join(runs) + "]+")


@lru_cache(maxsize=1)
def _plain_chars() -> frozenset[str]:
    """The characters :func:`_plain_sentence` accepts."""
    # Look-alikes are rewritten by _prepare even where they score common.
    common = _char_scores() == _COMMON
    for lo, hi in _LOOKALIKE_RANGES:
        common[lo : hi + 1] = False
    return frozenset("".join(map(chr, np.flatnonzero(common).tolist())) + _PLAIN_PUNCTUATION)


# --- the light path ------------------------------------------------------------------
#
# A sentence that is not plain still skips most of the full normaliser when the two stages
# before the conversion to simplified leave it as it is: ``_prepare`` and ``_find_and_repair``.
# Then ``_normalize_text_once(raw)`` is ``_apply_steps(raw, [], [])``, that is the conversion to
# simplified followed by ``_edit_steps`` (the same function); and when the converted text holds
# no character any edit step looks for, that is the converted text itself. Each condition is
# a necessary one for the stage to do anything, so the text is the full normaliser's whatever
# the sentence (tested on every sentence of the corpus and on each kind of character):
#
# * ``_prepare`` edits only byte-order marks, CR, the noncharacters U+FDD0-FDD4, line breaks
#   other than LF, C0 controls, lone surrogates and look-alike radicals: none of them, no edit.
# * ``_repair_latin`` starts only from a Latin-1 lead character (U+00C2-00F4): none, no run.
# * ``_repair_wrong_codecs`` does nothing without a stretch whose scores add up to
#   ``_REPAIR_SCORE`` (``_scored_runs`` empty). A stretch's sum is at most the sum of the
#   positive scores in it, so positive scores adding up to less than that over the whole
#   sentence (one level-2 character such as 圳 or 涿 scores 2, a "?" 3) can form no stretch;
#   otherwise ``_scored_runs`` itself decides, on the same text the full path gives it.
#   Plain characters score zero or less (tested), so only the others need looking up.
# * Without those runs nothing is garbled, repaired or frozen: the whole text is converted.
# * ``_edit_steps`` changes nothing unless one of its steps matches, and each step needs a
#   character of its own in the text: NEL and C1 controls; "&" or "<" for HTML markup; a
#   full-width letter, digit, "％", "．" or ideographic space; "[" for a link; "*" or "_" for
#   emphasis; a list or heading mark (``_MD_LINE_MARKS``) at a line start (without whitespace,
#   only first: see ``_light_tables``); a blank for runs of blanks; a space for line-edge
#   spaces, the gap after a heading and spaces in Chinese text; ",;:!?()" for the width of punctuation; a line
#   end for joining lines and blank lines; a bracket and a pinyin letter for annotations; and
#   whitespace at an end for the final strip. A step that does not match hands the next one
#   the same text, so without any of those characters in the converted text (looked for
#   there, after the conversion) the text is the converted text.
# * The loop of ``_latin_repair_left`` after it is the full path's own.


def _prepare_triggers() -> frozenset[str]:
    """Characters on which ``_prepare`` may edit (with the Latin-1 leads of a mojibake run)."""
    chars = set(_PREPARE_CHARS + _LINE_BREAK_CHARS + _C0_CONTROL_CHARS)
    chars.update(map(chr, range(0xD800, 0xE000)))  # lone surrogates
    for lo, hi in _LOOKALIKE_RANGES:
        chars.update(map(chr, range(lo, hi + 1)))
    chars.update(map(chr, range(0xC2, 0xF5)))  # _LATIN_LEAD
    return frozenset(chars)


@lru_cache(maxsize=1)
def _light_tables() -> tuple[frozenset[str], list[int], re.Pattern[str], frozenset[str]]:
    """What the light path looks up: the characters that send a sentence to the full path,
    the garbled-run score of each BMP code point, a character some edit step looks for, and
    the list and heading marks, which an edit step looks for at the start of a line only."""
    # Each step's pattern needs one of these to match (the characters of its first class, or
    # of its ``when``; the classes as the patterns write them). ``\\s`` is what ``str.isspace``
    # and so ``str.strip`` take as whitespace: ``_strip_outer``, and lines for the join.
    step_char = re.compile(
        "[\\s\x85" + _C1_CONTROL_CHARS + re.escape("&<[*_,;:!?()") + _FULLWIDTH_ALNUM.pattern[1:-1] + _BLANK[1:-1] + "]"
    )
    # A list or heading mark matters only first: its step matches at a line start after blanks
    # only, and without whitespace (all in the class) the text is one line starting at 0; the
    # steps before it need a character of the class, so they hand it the converted text as it
    # is, and no later step looks for a mark. That spares the edit steps (about 12 µs) to
    # "7+20+N" or "中国·东盟" (about 950 of the corpus's 40,000 sentences). A test of the first
    # character rather than "^[...]" in the pattern: the alternation would cost the scan its
    # search for one class (0.07 → 0.19 µs a sentence).
    return _prepare_triggers(), _char_scores().tolist(), step_char, frozenset(_MD_LINE_MARKS)


def _is_light(raw: str) -> bool:
    """Whether ``_prepare`` and ``_find_and_repair`` leave ``raw`` as it is (see above)."""
    triggers, scores, _, _ = _light_tables()
    odd = _plain_sentence().sub("", raw)  # the characters that are not plain, as often as they occur
    if not triggers.isdisjoint(odd):
        return False
    positive = 0
    for char in odd:
        point = ord(char)
        if point > 0xFFFF:  # scored rare: let the full path judge
            return False
        score = scores[point]
        if score > 0:
            positive += score
    # Every stretch _scored_runs reports adds up to _REPAIR_SCORE at least, so below it the
    # largest sum of any stretch rules them out: a loop over the sentence costs about a quarter
    # of that function's NumPy calls (10 against 42 µs), and rules out 447 of the 618 corpus
    # sentences that get this far.
    return positive < _REPAIR_SCORE or _largest_stretch(raw, scores) < _REPAIR_SCORE or not _scored_runs(raw)


def _largest_stretch(text: str, scores: list[int]) -> int:
    """The largest sum of the scores of consecutive characters of ``text`` (BMP only), 0 at least."""
    best = total = 0
    for point in map(ord, text):
        total += scores[point]
        if total < 0:
            total = 0
        elif total > best:
            best = total
    return best


def _finish_light(converted: str) -> str:
    """The full normaliser's text for a light sentence, given its conversion to simplified."""
    text = converted
    # Without any character a step looks for, no step matches, so none changes the text that
    # the next one sees. The pinyin step needs a bracket and a letter: "（" is plain.
    _, _, step_char, line_marks = _light_tables()
    if (
        step_char.search(converted)
        or converted[:1] in line_marks
        or ("（" in converted and _SYLLABLE_CHAR.search(converted))
    ):
        text = _edit_steps(_Mapped(converted, None)).text
    for _ in range(2):  # as in _normalize_sentence_fully
        if not _latin_repair_left(text):
            break
        text = _normalize_text_once(text)
    return text


def normalize_sentence(raw: str) -> str:
    """Normalise one sentence and return only the text (what the model's first step does).

    Same text as ``normalize(raw).text``, without building the offset map. Most
    sentences of real documents are plain (common characters, Chinese
    punctuation, digits): for them only the conversion to simplified can change
    anything, and that is all that runs (several times faster; tested equal).
    Most of the others hold no mojibake and nothing ``_prepare`` edits: for them
    the conversion and the edit steps run (the light path above).
    """
    # One place decides between the plain, light and full paths: the batch function.
    return normalize_sentences((raw,))[0]


def normalize_sentences(raws: Sequence[str]) -> list[str]:
    """:func:`normalize_sentence` of each text, converted to simplified in one OpenCC call.

    A call per sentence cost about 1 µs more per sentence than one call for a
    batch's sentences joined by line breaks: no entry of OpenCC's dictionaries
    spans one, so each sentence converts as it does alone (tested equal). The
    plain ones and the light ones without a line break of their own go in that
    call; the light ones then get the rest of the light path.
    """
    plain = _plain_sentence().fullmatch
    out: list[str] = []
    at: list[int] = []  # where the sentences converted in one call are
    light: list[int] = []  # those of them that take the light path
    for i, raw in enumerate(raws):
        if plain(raw):
            at.append(i)
            out.append(raw)
        elif _is_light(raw):
            if "\n" in raw:
                out.append(_finish_light(_t2s().convert(raw)))
            else:
                at.append(i)
                light.append(i)
                out.append(raw)
        else:
            out.append(_normalize_sentence_fully(raw))
    if at:
        converted = _t2s().convert("\n".join([raws[i] for i in at])).split("\n")
        if len(converted) != len(at):  # never seen; one call each, rather than a sentence misplaced
            converted = [_t2s().convert(raws[i]) for i in at]
        for i, text in zip(at, converted):
            out[i] = text
        for i in light:
            out[i] = _finish_light(out[i])
    return out


def _normalize_sentence_fully(raw: str) -> str:
    text = _normalize_text_once(raw)
    for _ in range(2):  # as in normalize()
        if not _latin_repair_left(text):
            break
        text = _normalize_text_once(text)
    return text


def _normalize_text_once(raw: str) -> str:
    mapped, runs = _find_and_repair(_prepare(_Mapped.of(raw, track=False)))
    return _apply_steps(mapped, runs.garbled, runs.frozen).text
