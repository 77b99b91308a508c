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
* Garbled runs (UTF-8 read as GBK, ``?`` / U+FFFD replacement characters) are
  kept and reported in ``NormalizedText.garbled``, never an error.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import opencc

__all__ = ["NormalizedText", "normalize", "normalize_sentence", "is_han", "to_simplified", "HAN"]


@dataclass(frozen=True, eq=False)
class NormalizedText:
    """Normalised text, the original it came from, and where it is garbled.

    ``offsets[i]`` is the index in ``original`` of the character ``text[i]``
    came from; ``offsets[len(text)]`` is ``len(original)``. It is a read-only
    NumPy array: a document's map is one compact block, not a Python int per
    character.
    """

    text: str
    original: str
    offsets: np.ndarray
    garbled: tuple[tuple[int, int], ...] = ()

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
        """True when a garbled run overlaps the span ``[start, end)``."""
        return any(g_start < end and start < g_end for g_start, g_end in self.garbled)


class _Mapped:
    """Text plus, per character, the index in the original it came from.

    With ``offsets`` None the map is not kept: the same edits run as plain
    ``re.sub`` calls, which is what per-sentence normalisation in the model
    needs (three times faster, same text).
    """

    def __init__(self, text: str, offsets: np.ndarray | None) -> None:
        self.text = text
        self.offsets = offsets  # len(text) + 1 entries; the last is the end sentinel

    @classmethod
    def of(cls, text: str, track: bool = True) -> "_Mapped":
        return cls(text, np.arange(len(text) + 1, dtype=np.int64) if track else None)

    def sub(
        self, pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str] | str,
        when: str = "", same_length: bool = False,
    ) -> "_Mapped":
        """``re.sub`` that keeps the map: a same-length replacement maps char to char,
        any other maps every new character to the start of the match.

        ``when`` lists characters every match contains: without any of them in
        the text the pattern cannot match, and the scan is skipped (a sentence
        normalised for the model runs fourteen of these steps). ``in`` tests
        are used, not a character class: they are several times faster.
        """
        if when and not any(char in self.text for char in when):
            return self
        if self.offsets is None:
            return _Mapped(pattern.sub(repl, self.text), None)
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

    def translate_same_length(self, convert: Callable[[str], str]) -> "_Mapped":
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

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_PUNCT = r"\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65“”‘’…—·"


# One Chinese (Han) character: the one definition every module uses.
HAN = re.compile(f"[{_HAN}]")


def is_han(char: str) -> bool:
    """True for a Chinese (Han) character."""
    return bool(HAN.match(char))

# --- pinyin annotations --------------------------------------------------------

_INITIALS = ("", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x",
             "zh", "ch", "sh", "r", "z", "c", "s", "y", "w")
_FINALS = ("a", "o", "e", "i", "u", "v", "ai", "ei", "ui", "ao", "ou", "iu", "ie", "ve", "ue",
           "er", "an", "en", "in", "un", "vn", "ang", "eng", "ing", "ong", "ia", "iao", "ian",
           "iang", "iong", "ua", "uo", "uai", "uan", "uang", "ueng", "van", "ng", "n", "m")
# Over-generates a little (e.g. "bve"); that only matters for a lowercase Latin
# word glued to a Han character inside parentheses, which plan text does not have.
_PINYIN_SYLLABLES = frozenset(i + f for i in _INITIALS for f in _FINALS)
# The bracket comes first so the scan tests one character per position before
# the lookbehind (as in the patterns below).
_SYLLABLE = "[a-zA-Z\u00c0-\u024f\u0300-\u036f]{1,7}[1-5]?"
_ONE_ANNOTATION = re.compile(f"[(（]({_SYLLABLE})[)）]")
# A run of bracketed syllables right after a Han character: "规(guī)(huà)" has
# two, and removing only the first would glue the second to the character.
_PINYIN_ANNOTATION = re.compile(
    f"[(（](?<=[{_HAN}][(（]){_SYLLABLE}[)）](?:[(（]{_SYLLABLE}[)）])*"
)


def _strip_tone(syllable: str) -> str:
    decomposed = unicodedata.normalize("NFD", syllable.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.replace("ü", "v").rstrip("12345")


def _drop_pinyin(match: re.Match[str]) -> str:
    """Drop the leading pinyin annotations of a run; keep the run from its first non-pinyin one."""
    run = match.group(0)
    for annotation in _ONE_ANNOTATION.finditer(run):
        syllable = annotation.group(1)
        # Annotations are lowercase; "(AI)" or "(GDP)" after a Han character is content.
        if not (syllable.islower() and _strip_tone(syllable) in _PINYIN_SYLLABLES):
            return run[annotation.start():]
    return ""


# --- garbled runs ----------------------------------------------------------------


def _mojibake_chars() -> frozenset[str]:
    # A UTF-8 Han character is a lead byte E4-E9 and continuations 80-BF; read
    # as GBK, a lead byte with its first continuation decodes to one of these
    # rare characters. Genuine text, simplified or traditional, has almost none
    # (1 of 10,213 Han characters in the seed documents); mojibake has one in three.
    chars = set()
    for lead in range(0xE4, 0xEA):
        for trail in range(0x80, 0xC0):
            try:
                chars.add(bytes([lead, trail]).decode("gbk"))
            except UnicodeDecodeError:
                pass
    return frozenset(chars)


_MOJIBAKE = _mojibake_chars()
_ALWAYS_GARBLED = re.compile("[\ufffd\ue000-\uf8ff\u3100-\u312f]")
# A "?" between two letters or characters ("飯?zhí") is a replacement mark, not
# punctuation; alone it is weak evidence (someone typed "吗?我们"), so it needs company.
_QUESTION_INSIDE = re.compile(r"(?<=\w)\?(?=\w)")
_MOJIBAKE_RE = re.compile("[" + "".join(sorted(_MOJIBAKE)) + "]")
# One character class rather than an alternation: scanned a character at a time.
_ANY_SUSPECT = re.compile(f"[{_ALWAYS_GARBLED.pattern[1:-1]}?{_MOJIBAKE_RE.pattern[1:-1]}]")
_CLUSTER_GAP = 6


def _find_garbled(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` that look like mojibake or carry replacement characters.

    Strong marks (U+FFFD, private-use, bopomofo) make a span alone; weak
    marks (a mojibake character, a "?" inside a word) need a second mark
    within a few characters.
    """
    if not _ANY_SUSPECT.search(text):
        return []
    marks = [(m.start(), True) for m in _ALWAYS_GARBLED.finditer(text)]
    marks += [(m.start(), False) for m in _QUESTION_INSIDE.finditer(text)]
    marks += [(m.start(), False) for m in _MOJIBAKE_RE.finditer(text)]
    if not marks:
        return []
    marks.sort()
    spans: list[tuple[int, int]] = []
    cluster = [marks[0]]
    for mark in marks[1:] + [(len(text) + _CLUSTER_GAP + 1, False)]:
        if mark[0] - cluster[-1][0] > _CLUSTER_GAP:
            if len(cluster) >= 2 or cluster[0][1]:
                spans.append((cluster[0][0], cluster[-1][0] + 1))
            cluster = [mark]
        else:
            cluster.append(mark)
    return spans


# --- markup, width and whitespace ---------------------------------------------

# "**", "__" and any "*" not between ASCII letters or digits ("3*4" stays):
# in plan text a star is markdown or a footnote mark, never content.
_MD_EMPHASIS = re.compile(r"\*\*|__|\*(?<![A-Za-z0-9]\*)|\*(?![A-Za-z0-9])")
_MD_LINE_MARKS = "#-*+>•·●○▪▫◆◇■□►√"
_MD_LINE_START = re.compile(
    r"(?m)^[ \t]*(?:(?:#{1,6}|[-*+])[ \t]+|>[ \t]*|[•·●○▪▫◆◇■□►√]+[ \t]*)+(?=\S)"
)
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
_SPACE_IN_CJK = re.compile(
    f" (?<=[{_CJK_ANY}] )(?=[{_CJK_ANY}0-9A-Za-z%])| (?<=[0-9A-Za-z%] )(?=[{_CJK_ANY}])"
)

# --- line joining -------------------------------------------------------------

HEADING_MARKER = re.compile(
    r"^(?:[（(][一二三四五六七八九十百]+[)）]|[一二三四五六七八九十百]+[、.．]|第[一二三四五六七八九十百]+[章节部分条项]"
    r"|[（(]\d{1,2}[)）]|\d{1,2}[、.．](?!\d)|[①-⑳⑴-⒇]|[一二三四五六七八九十]是)"
)
_TERMINAL = "。！？；：!?;:…"
_CLOSERS = "”’」』）)》】\"'"
_CONTINUATION_START = re.compile(r"^[，、。；：！？）》”’,;:!?)]")


def _ends_sentence(line: str) -> bool:
    stripped = line.rstrip(_CLOSERS + " ")
    return bool(stripped) and stripped[-1] in _TERMINAL


def _wrap_width(lines: list[str]) -> int | None:
    """The fixed line width of hard-wrapped text (PDF extraction), if it has one."""
    lengths = [
        len(line) for line in lines
        if line and not _ends_sentence(line) and not HEADING_MARKER.match(line)
    ]
    if len(lengths) < 2:
        return None
    counts: dict[int, int] = {}
    for n in lengths:
        counts[n] = counts.get(n, 0) + 1
    # Hard-wrapped lines cluster within a couple of characters of one width.
    best = max(counts, key=lambda w: sum(counts.get(w + d, 0) for d in (-2, -1, 0, 1, 2)))
    near = sum(counts.get(best + d, 0) for d in (-2, -1, 0, 1, 2))
    return best if near >= 2 and near >= len(lengths) / 2 and best >= 15 else None


def _should_join(prev: str, nxt: str, wrap: int | None) -> bool:
    """Whether the line break between ``prev`` and ``nxt`` falls inside a sentence."""
    if not prev or not nxt or _ends_sentence(prev):
        return False
    if HEADING_MARKER.match(nxt):
        return False
    if _CONTINUATION_START.match(nxt) or prev[-1] in "，、（(“《—":
        return True
    if HEADING_MARKER.match(prev) and len(prev) <= 60:
        return False
    if wrap is not None:
        return len(prev) >= wrap - 2
    # Paragraph-per-line text: a line this long with no closing mark is no
    # title or heading; it was cut mid-sentence.
    return len(prev) > 40


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
    joins: list[tuple[int, int]] = []
    for (a_start, a_end), (b_start, b_end) in zip(spans, spans[1:]):
        if _should_join(text[a_start:a_end].strip(), text[b_start:b_end].strip(), wrap):
            joins.append((a_end, b_start))
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
    return _Mapped("".join(pieces),
                   _edit_offsets(mapped.offsets, [(start, end, 0) for start, end in joins]))


_HEADING_LINE_GAP = re.compile(
    r"(?m)^(?=" + HEADING_MARKER.pattern[1:] + f")(\\S{{5,}}?[{_HAN}]) +(?=[{_HAN}])"
)


def _split_heading_gap(match: re.Match[str]) -> str:
    # In a numbered heading line the first inner gap ends the heading: PDF text
    # glues "(一)…产业质量与效益 筑牢实体经济支撑。" onto one line.
    head = match.group(1)
    if any(c in _TERMINAL for c in head):
        return match.group(0)
    return head + "\n"


def _split_heading_lines(mapped: _Mapped) -> _Mapped:
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


# A "?" inside a garbled run is a lost byte, not a question mark: it is parked
# as this noncharacter while the punctuation is unified, then put back.
_LOST_BYTE = "\ufdd0"


def _apply_steps(mapped: _Mapped, garbled: list[tuple[int, int]]) -> _Mapped:
    """The normalisation edits, in order, on tracked or untracked text."""
    if garbled:
        chars = list(mapped.text)
        for start, end in garbled:
            for i in range(start, end):
                if chars[i] == "?":
                    chars[i] = _LOST_BYTE
        mapped = _Mapped("".join(chars), mapped.offsets)
    mapped = mapped.translate_same_length(_t2s().convert)
    mapped = mapped.sub(_FULLWIDTH_ALNUM, _to_halfwidth, same_length=True)
    mapped = mapped.sub(_MD_LINK, r"\1", when="[")
    mapped = mapped.sub(_MD_EMPHASIS, "", when="*_")
    mapped = mapped.sub(_MD_LINE_START, "", when=_MD_LINE_MARKS)
    mapped = mapped.sub(_SPACES, " ")
    mapped = mapped.sub(_LINE_EDGE_SPACES, "", when=" \t")
    mapped = mapped.sub(_ASCII_PUNCT, _to_fullwidth, when=",;:!?()", same_length=True)
    if " " in mapped.text:
        mapped = _split_heading_lines(mapped)
    mapped = _join_broken_lines(mapped)
    mapped = mapped.sub(_BLANK_LINES, "\n", when="\n")
    mapped = mapped.sub(_SPACE_IN_CJK, "", when=" ")
    # Annotations last: removing markup, spaces and line breaks can glue one
    # to its character ("划*(a)"), and normalising twice must change nothing.
    mapped = mapped.sub(_PINYIN_ANNOTATION, _drop_pinyin, when="(（")
    mapped = _strip_outer(mapped)
    if garbled:
        mapped = mapped.sub(_LOST_BYTE_RE, "?", same_length=True)
    return mapped


_PREPARE = re.compile("\ufeff|\r(?=\n)|\ufdd0")
_LINE_BREAKS = re.compile("[\r\u2028\u2029\x0b\x0c\x85]")
_PREPARE_CHARS = "\ufeff\r\ufdd0"
_LINE_BREAK_CHARS = "\r\u2028\u2029\x0b\x0c\x85"


def _prepare(mapped: _Mapped) -> _Mapped:
    """Drop byte-order marks and the CR of CRLF; every other line break becomes LF."""
    return (mapped.sub(_PREPARE, "", when=_PREPARE_CHARS)
            .sub(_LINE_BREAKS, "\n", when=_LINE_BREAK_CHARS))


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
_LOST_BYTE_RE = re.compile(_LOST_BYTE)


def _to_fullwidth(match: re.Match[str]) -> str:
    return _TO_FULLWIDTH[match.group()]


def normalize(raw: str) -> NormalizedText:
    """Normalise a whole document (or any text) and report its garbled runs.

    See the module docstring for what changes and why. The result's ``text``
    is what sentence splitting, tokenisation and the model see.
    """
    mapped = _prepare(_Mapped.of(raw))
    garbled = _find_garbled(mapped.text)
    assert mapped.offsets is not None
    garbled_original = [(int(mapped.offsets[s]), int(mapped.offsets[e - 1]) + 1) for s, e in garbled]
    mapped = _apply_steps(mapped, garbled)
    offsets = mapped.offsets
    assert offsets is not None
    offsets.flags.writeable = False
    return NormalizedText(
        text=mapped.text,
        original=raw,
        offsets=offsets,
        garbled=_to_normalized_spans(offsets, garbled_original),
    )


def _to_normalized_spans(
    offsets: np.ndarray, garbled_original: list[tuple[int, int]]
) -> tuple[tuple[int, int], ...]:
    spans = []
    body = offsets[:-1]
    for o_start, o_end in garbled_original:
        start = int(np.searchsorted(body, o_start, side="left"))
        end = int(np.searchsorted(body, o_end, side="left"))
        if end > start:
            spans.append((start, end))
    return tuple(spans)


def normalize_sentence(raw: str) -> str:
    """Normalise one sentence and return only the text (what the model's first step does).

    Same text as ``normalize(raw).text``, without building the offset map.
    """
    mapped = _prepare(_Mapped.of(raw, track=False))
    return _apply_steps(mapped, _find_garbled(mapped.text)).text
