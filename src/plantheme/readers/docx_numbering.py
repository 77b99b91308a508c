"""The list numbers Word draws before numbered paragraphs ("一、", "（二）", "3."), as text.

A paragraph Word numbers automatically holds no number in its text: the number
comes from ``word/numbering.xml`` (a ``w:num`` pointing at a ``w:abstractNum``
whose levels give the format and the pattern, such as ``%1、`` in
``chineseCounting``) and from the paragraph's own ``w:numPr`` or that of its
style. Headings numbered that way would otherwise lose the marker that makes
them headings, and an item list its numbers.

:class:`ListNumbering` renders them in document order, the way Word counts:
one counter per level of each list, a level's counter going on until a higher
level of the same list moves (then it starts again); a ``w:num`` that overrides
a level's start begins that level afresh the first time it is used. Bullets and
``none`` give no text (a bullet is no word). Formats Word draws with other
scripts (Japanese, Korean, Hindi…) fall back to decimal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from .wordml import attribute, is_on, w_child, w_children

__all__ = ["ListNumbering", "format_number"]

# Word has nine list levels, 0-8.
_LEVELS = 9
# A number's pattern is a few characters ("第%1章", "%1.%2.%3."); one far longer, repeated on
# every paragraph, would make a small file's text huge past the reader's XML budget.
_MAX_PATTERN_CHARS = 32
_MAX_LETTER_REPEATS = 10

_DIGITS = "零一二三四五六七八九"
_LEGAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_HEAVENLY_STEMS = "甲乙丙丁戊己庚辛壬癸"
_EARTHLY_BRANCHES = "子丑寅卯辰巳午未申酉戌亥"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_PARENTHESISED = "⑴⑵⑶⑷⑸⑹⑺⑻⑼⑽⑾⑿⒀⒁⒂⒃⒄⒅⒆⒇"
_FULL_STOPPED = "⒈⒉⒊⒋⒌⒍⒎⒏⒐⒑⒒⒓⒔⒕⒖⒗⒘⒙⒚⒛"
_FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")
_ROMAN = ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
          (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))  # fmt: skip


def _chinese(n: int, digits: str = _DIGITS, units: str = "十百千") -> str:
    """Chinese counting as Word writes it: 十, 十一, 二十, 一百〇五, 三千二百."""
    if n <= 0 or n >= 10_000:
        return str(n)
    if 10 <= n < 20 and digits is _DIGITS:
        return units[0] + (digits[n - 10] if n > 10 else "")
    out: list[str] = []
    zero = False
    for power, unit in ((1000, units[2]), (100, units[1]), (10, units[0]), (1, "")):
        digit, n = divmod(n, power)
        if digit:
            if zero and out:
                out.append("〇" if digits is _DIGITS else digits[0])
            out.append(digits[digit] + unit)
            zero = False
        elif out:
            zero = True
    return "".join(out)


def _roman(n: int) -> str:
    if n <= 0 or n >= 4000:
        return str(n)
    out = []
    for value, letters in _ROMAN:
        count, n = divmod(n, value)
        out.append(letters * count)
    return "".join(out)


def _letter(n: int) -> str:
    # Word repeats the letter past z: 27 is "aa", 53 "aaa". Past a few rounds the number is a
    # file's doing (a start of 10**9 would be 38 million letters), so it is given in decimal.
    if n <= 0 or n > 26 * _MAX_LETTER_REPEATS:
        return str(n)
    return chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)


def _full_width(n: int) -> str:
    return str(n).translate(_FULL_WIDTH_DIGITS)


def _digit_by_digit(n: int) -> str:
    # 一〇五 rather than 一百〇五.
    return "".join("〇" if d == "0" else _DIGITS[int(d)] for d in str(n)) if n >= 0 else str(n)


def _from(symbols: str, fallback: Callable[[int], str] = str) -> Callable[[int], str]:
    return lambda n: symbols[n - 1] if 1 <= n <= len(symbols) else fallback(n)


def _cycle(symbols: str) -> Callable[[int], str]:
    return lambda n: symbols[(n - 1) % len(symbols)] if n >= 1 else str(n)


_FORMATS: dict[str, Callable[[int], str]] = {
    "decimal": str,
    "decimalZero": lambda n: f"{n:02d}" if 0 <= n < 10 else str(n),
    "decimalFullWidth": _full_width,
    "decimalFullWidth2": _full_width,
    "decimalHalfWidth": str,
    "decimalEnclosedCircle": _from(_CIRCLED),
    "decimalEnclosedCircleChinese": _from(_CIRCLED),
    "decimalEnclosedParen": _from(_PARENTHESISED),
    "decimalEnclosedFullstop": _from(_FULL_STOPPED),
    "upperRoman": lambda n: _roman(n).upper(),
    "lowerRoman": _roman,
    "upperLetter": lambda n: _letter(n).upper(),
    "lowerLetter": _letter,
    "chineseCounting": _chinese,
    "chineseCountingThousand": _chinese,
    "taiwaneseCounting": _chinese,
    "taiwaneseCountingThousand": _chinese,
    "japaneseCounting": _chinese,
    "ideographDigital": _digit_by_digit,
    "taiwaneseDigital": _digit_by_digit,
    "chineseLegalSimplified": lambda n: _chinese(n, _LEGAL_DIGITS, "拾佰仟"),
    "ideographLegalTraditional": lambda n: _chinese(n, _LEGAL_DIGITS, "拾佰仟"),
    "ideographTraditional": _cycle(_HEAVENLY_STEMS),
    "ideographZodiac": _cycle(_EARTHLY_BRANCHES),
    "bullet": lambda n: "",
    "none": lambda n: "",
}


def format_number(n: int, fmt: str) -> str:
    """``n`` in Word's number format ``fmt`` (``decimal``, ``chineseCounting``, ``upperRoman``…);
    unknown formats as decimal, bullets and ``none`` as nothing."""
    return _FORMATS.get(fmt, str)(n)


@dataclass(frozen=True)
class _Level:
    fmt: str = "decimal"
    pattern: str = ""  # lvlText: "%1、", "（%2）", "%1.%2"
    start: int = 1
    legal: bool = False  # isLgl: every level's number in decimal
    suffix: str = "\t"


@dataclass
class _List:
    """One list being counted: its levels and where each level's counter stands."""

    levels: dict[int, _Level]
    counters: list[int | None] = field(default_factory=lambda: [None] * _LEVELS)

    def advance(self, ilvl: int, starts: dict[int, int]) -> str:
        level = self.levels.get(ilvl, _Level())
        current = self.counters[ilvl]
        self.counters[ilvl] = starts.get(ilvl, level.start) if current is None else current + 1
        for deeper in range(ilvl + 1, _LEVELS):
            self.counters[deeper] = None
        if level.fmt in ("bullet", "none") or not level.pattern:
            return ""
        return self._render(level, starts) + level.suffix

    def _render(self, level: _Level, starts: dict[int, int]) -> str:
        out: list[str] = []
        pattern = level.pattern
        i = 0
        while i < len(pattern):
            if pattern[i] == "%" and i + 1 < len(pattern) and pattern[i + 1] in "123456789":
                k = int(pattern[i + 1]) - 1
                shown = self.levels.get(k, _Level())
                value = self.counters[k]
                if value is None:  # a higher level never used: Word shows its start
                    value = starts.get(k, shown.start)
                out.append(format_number(value, "decimal" if level.legal else shown.fmt))
                i += 2
            else:
                out.append(pattern[i])
                i += 1
        return "".join(out)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _value(element: etree._Element | None, name: str) -> str | None:
    """The ``w:val`` of ``element``'s child ``name``, None when either is absent."""
    child = w_child(element, name)
    return attribute(child, "val") if child is not None else None


def _level(lvl: etree._Element) -> _Level:
    return _Level(
        fmt=_value(lvl, "numFmt") or "decimal",
        pattern=(_value(lvl, "lvlText") or "")[:_MAX_PATTERN_CHARS],
        start=_int(_value(lvl, "start"), 1),
        legal=is_on(w_child(lvl, "isLgl")),
        suffix={"space": " ", "nothing": ""}.get(_value(lvl, "suff") or "tab", "\t"),
    )


def _num_pr(ppr: etree._Element | None) -> tuple[str | None, int | None]:
    """(numId, ilvl) of a ``w:pPr``'s ``w:numPr``, each None when absent."""
    num_pr = w_child(ppr, "numPr")
    if num_pr is None:
        return None, None
    ilvl = _value(num_pr, "ilvl")
    return _value(num_pr, "numId"), (_int(ilvl, 0) if ilvl is not None else None)


class ListNumbering:
    """Counts numbered paragraphs in document order and gives each its number's text.

    Built from the package's ``numbering.xml`` and ``styles.xml`` roots (either may be
    None: a document without lists). Malformed or missing definitions give no number
    rather than an error: the paragraph's own text is what matters.
    """

    def __init__(self, numbering: etree._Element | None, styles: etree._Element | None) -> None:
        abstract: dict[str, dict[int, _Level]] = {}
        style_links: dict[str, str] = {}
        for definition in w_children(numbering, "abstractNum"):
            key = attribute(definition, "abstractNumId") or ""
            abstract[key] = {_int(attribute(lvl, "ilvl"), 0): _level(lvl) for lvl in w_children(definition, "lvl")}
            link = _value(definition, "numStyleLink")
            if link:
                style_links[key] = link
        # Paragraph styles' numbering, following basedOn (a heading style numbered in the template).
        self._style_num: dict[str, tuple[str | None, int | None]] = {}
        based_on: dict[str, str] = {}
        for style in w_children(styles, "style"):
            style_id = attribute(style, "styleId") or ""
            self._style_num[style_id] = _num_pr(w_child(style, "pPr"))
            parent = _value(style, "basedOn")
            if parent:
                based_on[style_id] = parent
        self._based_on = based_on
        self._nums: dict[str, tuple[str, dict[int, int], dict[int, _Level]]] = {}
        for num in w_children(numbering, "num"):
            abstract_id = _value(num, "abstractNumId")
            if abstract_id is None:
                continue
            starts: dict[int, int] = {}
            overridden: dict[int, _Level] = {}
            for override in w_children(num, "lvlOverride"):
                ilvl = _int(attribute(override, "ilvl"), 0)
                start = _value(override, "startOverride")
                if start is not None:
                    starts[ilvl] = _int(start, 1)
                lvl = w_child(override, "lvl")
                if lvl is not None:
                    overridden[ilvl] = _level(lvl)
            self._nums[attribute(num, "numId") or ""] = (abstract_id, starts, overridden)
        self._abstract = abstract
        self._style_links = style_links
        self._lists: dict[str, _List] = {}

    def _style_numbering(self, style_id: str | None) -> tuple[str | None, int | None]:
        seen: set[str] = set()
        while style_id and style_id not in seen:
            seen.add(style_id)
            num_id, ilvl = self._style_num.get(style_id, (None, None))
            if num_id is not None:
                return num_id, ilvl
            style_id = self._based_on.get(style_id)
        return None, None

    def _levels(self, abstract_id: str) -> dict[int, _Level]:
        # An abstractNum that only links to a numbering style takes the levels of the list that style uses.
        link = self._style_links.get(abstract_id)
        if link and not self._abstract.get(abstract_id):
            num_id, _ = self._style_numbering(link)
            target = self._nums.get(num_id or "")
            if target is not None and target[0] != abstract_id:
                return self._abstract.get(target[0], {})
        return self._abstract.get(abstract_id, {})

    def number(self, ppr: etree._Element | None) -> str:
        """The number text of the paragraph whose ``w:pPr`` is ``ppr`` ('' when it has none), counting it."""
        num_id, ilvl = _num_pr(ppr)
        if num_id is None or ilvl is None:  # the rest comes from the paragraph's style
            style_num, style_ilvl = self._style_numbering(_value(ppr, "pStyle"))
            num_id = style_num if num_id is None else num_id
            ilvl = style_ilvl if ilvl is None else ilvl
        if ilvl is None:
            ilvl = 0
        if num_id is None or num_id == "0" or num_id not in self._nums or not 0 <= ilvl < _LEVELS:
            return ""
        abstract_id, starts, overridden = self._nums[num_id]
        # A num that restarts a level (startOverride) is a list of its own; the others share
        # their abstract list's counters, as Word continues one list across them.
        key = f"num:{num_id}" if starts else f"abstract:{abstract_id}"
        current = self._lists.get(key)
        if current is None:
            current = self._lists[key] = _List({**self._levels(abstract_id), **overridden})
        return current.advance(ilvl, starts)
