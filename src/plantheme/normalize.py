"""Normalise raw plan text into clean simplified Chinese, keeping a map to the original.

Every step edits the text through :class:`_Mapped`, which carries for each
output character the index of the input character it came from. Sentence spans
are given in normalised coordinates and can always be mapped back to the text as
the document had it (``NormalizedText.original_span``).

Decisions (each tested in ``tests/test_normalize.py``):

* Traditional characters become simplified (OpenCC ``t2s``).
* Pinyin annotations glued to a Han character, ``規(guī)劃``, are removed; a
  parenthesis holding anything but one pinyin syllable (``(一)``, ``(书面)``,
  ``(AI)``) stays.
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

import bisect
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import opencc

__all__ = ["NormalizedText", "normalize", "normalize_sentence", "is_han"]


@dataclass(frozen=True)
class NormalizedText:
    """Normalised text, the original it came from, and where it is garbled.

    ``offsets[i]`` is the index in ``original`` of the character ``text[i]``
    came from; ``offsets[len(text)]`` is ``len(original)``.
    """

    text: str
    original: str
    offsets: tuple[int, ...]
    garbled: tuple[tuple[int, int], ...] = ()

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of the normalised text to the span of the original it came from."""
        if end <= start:
            pos = self.offsets[start]
            return pos, pos
        return self.offsets[start], self.offsets[end - 1] + 1

    def original_text(self, start: int, end: int) -> str:
        """The original text behind a span of the normalised text."""
        o_start, o_end = self.original_span(start, end)
        return self.original[o_start:o_end]

    def is_garbled(self, start: int, end: int) -> bool:
        """True when a garbled run overlaps the span ``[start, end)``."""
        return any(g_start < end and start < g_end for g_start, g_end in self.garbled)


class _Mapped:
    """Text plus, per character, the index in the original it came from."""

    def __init__(self, text: str, offsets: list[int]) -> None:
        self.text = text
        self.offsets = offsets  # len(text) + 1 entries; the last is the end sentinel

    @classmethod
    def of(cls, text: str) -> "_Mapped":
        return cls(text, list(range(len(text) + 1)))

    def sub(self, pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str] | str) -> "_Mapped":
        """``re.sub`` that keeps the map: a same-length replacement maps char to char,
        any other maps every new character to the start of the match."""
        pieces: list[str] = []
        offsets: list[int] = []
        last = 0
        for match in pattern.finditer(self.text):
            start, end = match.span()
            pieces.append(self.text[last:start])
            offsets.extend(self.offsets[last:start])
            new = repl(match) if callable(repl) else match.expand(repl)
            pieces.append(new)
            if len(new) == end - start:
                offsets.extend(self.offsets[start:end])
            else:
                offsets.extend([self.offsets[start]] * len(new))
            last = end
        if last == 0 and not pieces:
            return self
        pieces.append(self.text[last:])
        offsets.extend(self.offsets[last:])  # includes the sentinel
        return _Mapped("".join(pieces), offsets)

    def translate_same_length(self, convert: Callable[[str], str]) -> "_Mapped":
        """Apply a mostly length-preserving conversion chunk by chunk, keeping the map."""
        converted = convert(self.text)
        if len(converted) == len(self.text):
            return _Mapped(converted, self.offsets)
        # A phrase conversion changed the length somewhere: redo it per chunk so
        # that only the chunk that changed loses its per-character map.
        pieces: list[str] = []
        offsets: list[int] = []
        for chunk in _CHUNK.finditer(self.text):
            start, end = chunk.span()
            new = convert(chunk.group())
            pieces.append(new)
            if len(new) == end - start:
                offsets.extend(self.offsets[start:end])
            else:
                offsets.extend([self.offsets[start]] * len(new))
        offsets.append(self.offsets[-1])
        return _Mapped("".join(pieces), offsets)


_CHUNK = re.compile(r"[^，。；！？,.;!?\n]*[，。；！？,.;!?\n]?")

# --- character classes -------------------------------------------------------

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_PUNCT = r"\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65“”‘’…—·"


def is_han(char: str) -> bool:
    """True for a Chinese (Han) character."""
    return bool(_HAN_RE.match(char))


_HAN_RE = re.compile(f"[{_HAN}]")

# --- pinyin annotations --------------------------------------------------------

_INITIALS = ("", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x",
             "zh", "ch", "sh", "r", "z", "c", "s", "y", "w")
_FINALS = ("a", "o", "e", "i", "u", "v", "ai", "ei", "ui", "ao", "ou", "iu", "ie", "ve", "ue",
           "er", "an", "en", "in", "un", "vn", "ang", "eng", "ing", "ong", "ia", "iao", "ian",
           "iang", "iong", "ua", "uo", "uai", "uan", "uang", "ueng", "van", "ng", "n", "m")
# Over-generates a little (e.g. "bve"); that only matters for a lowercase Latin
# word glued to a Han character inside parentheses, which plan text does not have.
_PINYIN_SYLLABLES = frozenset(i + f for i in _INITIALS for f in _FINALS)
_PINYIN_ANNOTATION = re.compile(
    f"(?<=[{_HAN}])[(（]([a-zA-Z\u00c0-\u024f\u0300-\u036f]{{1,7}}[1-5]?)[)）]"
)


def _strip_tone(syllable: str) -> str:
    decomposed = unicodedata.normalize("NFD", syllable.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.replace("ü", "v").rstrip("12345")


def _drop_pinyin(match: re.Match[str]) -> str:
    syllable = match.group(1)
    # Annotations are lowercase; "(AI)" or "(GDP)" after a Han character is content.
    if syllable.islower() and _strip_tone(syllable) in _PINYIN_SYLLABLES:
        return ""
    return match.group(0)


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
_QUESTION_IN_HAN = re.compile(f"(?<=[{_HAN}])\\?(?=[^\\s\"”’)）」』。，,.!！?？;；:：]|$)|\\?(?=[{_HAN}])")


def _find_garbled(text: str) -> list[tuple[int, int]]:
    """Spans of ``text`` that look like mojibake or carry replacement characters."""
    marks = [m.start() for m in _ALWAYS_GARBLED.finditer(text)]
    marks += [m.start() for m in _QUESTION_IN_HAN.finditer(text)]
    moji = [i for i, c in enumerate(text) if c in _MOJIBAKE]
    # A lone rare character is not evidence; two within a short window are.
    for a, b in zip(moji, moji[1:]):
        if b - a <= 4:
            marks += [a, b]
    if not marks:
        return []
    marks = sorted(set(marks))
    spans: list[tuple[int, int]] = []
    start = prev = marks[0]
    for pos in marks[1:]:
        if pos - prev > 6:
            spans.append((start, prev + 1))
            start = pos
        prev = pos
    spans.append((start, prev + 1))
    return spans


# --- markup, width and whitespace ---------------------------------------------

_MD_EMPHASIS = re.compile(r"\*\*|__|(?<![*\w])\*(?=\S)|(?<=\S)\*(?![*\w])")
_MD_LINE_START = re.compile(
    r"(?m)^[ \t]*(?:(?:#{1,6}|[-*+])[ \t]+|>[ \t]*|[•·●○▪▫◆◇■□►√]+[ \t]*)+(?=\S)"
)
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((?:https?://|/|\.)[^)\s]*\)")
_FULLWIDTH_ALNUM = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\uff05\uff0e\u3000]")
_TO_FULLWIDTH = {",": "，", ";": "；", ":": "：", "!": "！", "?": "？", "(": "（", ")": "）"}
# ASCII punctuation between ASCII alphanumerics (1,000 / 3:1 / a(b)) stays ASCII.
_ASCII_PUNCT = re.compile(r"(?<![A-Za-z0-9])[,;:!?()]|[,;:!?()](?![A-Za-z0-9])")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u3000]+")
_LINE_EDGE_SPACES = re.compile(r"(?m)^[ \t]+|[ \t]+$")
# Whitespace beside Chinese text (Han, Chinese punctuation, digits touching Han).
_CJK_ANY = f"{_HAN}{_CJK_PUNCT}"
_SPACE_IN_CJK = re.compile(
    f"(?<=[{_CJK_ANY}]) +(?=[{_CJK_ANY}0-9A-Za-z%])|(?<=[0-9A-Za-z%]) +(?=[{_CJK_ANY}])"
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
    offsets: list[int] = []
    last = 0
    for gap_start, gap_end in joins:
        pieces.append(text[last:gap_start])
        offsets.extend(mapped.offsets[last:gap_start])
        last = gap_end
    pieces.append(text[last:])
    offsets.extend(mapped.offsets[last:])
    return _Mapped("".join(pieces), offsets)


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


def _to_halfwidth(match: re.Match[str]) -> str:
    char = match.group()
    return " " if char == "\u3000" else chr(ord(char) - 0xFEE0)


def normalize(raw: str) -> NormalizedText:
    """Normalise a whole document (or any text) and report its garbled runs.

    See the module docstring for what changes and why. The result's ``text``
    is what sentence splitting, tokenisation and the model see.
    """
    mapped = _Mapped.of(raw)
    mapped = mapped.sub(re.compile("\ufeff|\r(?=\n)"), "")
    mapped = mapped.sub(re.compile("[\r\u2028\u2029\x0b\x0c\x85]"), "\n")
    garbled_original = [
        (mapped.offsets[s], mapped.offsets[e - 1] + 1) for s, e in _find_garbled(mapped.text)
    ]
    mapped = mapped.sub(_PINYIN_ANNOTATION, _drop_pinyin)
    mapped = mapped.translate_same_length(_t2s().convert)
    mapped = mapped.sub(_FULLWIDTH_ALNUM, _to_halfwidth)
    mapped = mapped.sub(_SPACES, " ")
    mapped = mapped.sub(_MD_LINK, r"\1")
    mapped = mapped.sub(_MD_EMPHASIS, "")
    mapped = mapped.sub(_MD_LINE_START, "")
    mapped = mapped.sub(_LINE_EDGE_SPACES, "")
    mapped = mapped.sub(_ASCII_PUNCT, _fullwidth_unless_garbled(mapped, garbled_original))
    mapped = _split_heading_lines(mapped)
    mapped = _join_broken_lines(mapped)
    mapped = mapped.sub(re.compile(r"\n{2,}"), "\n")
    mapped = mapped.sub(_SPACE_IN_CJK, "")
    mapped = mapped.sub(re.compile(r"^\s+|\s+$"), "")
    return NormalizedText(
        text=mapped.text,
        original=raw,
        offsets=tuple(mapped.offsets),
        garbled=_to_normalized_spans(mapped.offsets, garbled_original),
    )


def _fullwidth_unless_garbled(
    mapped: _Mapped, garbled_original: list[tuple[int, int]]
) -> Callable[[re.Match[str]], str]:
    def convert(match: re.Match[str]) -> str:
        char = match.group()
        if char == "?":
            origin = mapped.offsets[match.start()]
            if any(s <= origin < e for s, e in garbled_original):
                return char  # a lost byte, not a question: keep it out of the splitter
        return _TO_FULLWIDTH[char]

    return convert


def _to_normalized_spans(
    offsets: list[int], garbled_original: list[tuple[int, int]]
) -> tuple[tuple[int, int], ...]:
    spans = []
    body = offsets[:-1]
    for o_start, o_end in garbled_original:
        start = bisect.bisect_left(body, o_start)
        end = bisect.bisect_left(body, o_end)
        if end > start:
            spans.append((start, end))
    return tuple(spans)


def normalize_sentence(raw: str) -> str:
    """Normalise one sentence and return only the text (what the model's first step does)."""
    return normalize(raw).text
