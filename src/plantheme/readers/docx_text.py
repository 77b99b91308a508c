"""The text of a .docx file, read from its WordprocessingML with safety and size limits.

:func:`docx_text` opens the zip package itself and walks the XML in document
order, instead of using python-docx: python-docx's table API raises on real
files (``<w:vMerge w:val="continue"/>`` in a first row, ``<w:gridSpan
w:val="abc"/>``) and never reads text boxes. What is read, one paragraph per
line:

* Body paragraphs and tables (every cell's paragraphs, nested tables too). A
  merged cell is one ``w:tc`` element in the XML, so its text comes out once;
  continuation cells of a vertical merge are read too (normally empty: Word
  shows only the first cell's text, but nothing written in the file is dropped).
* Text boxes (``w:txbxContent``), where converted plans put body text: their
  paragraphs follow the paragraph that anchors them. A text box is stored twice
  in ``mc:AlternateContent`` (DrawingML in ``mc:Choice``, a VML copy in
  ``mc:Fallback``): only the first ``mc:Choice`` is read (the ``mc:Fallback``
  when there is no choice), so its text comes out once.
* Content controls (``w:sdt``), hyperlinks, smart tags, inserted and moved-to
  text, field results; not deleted or moved-from text, nor field codes
  (``w:instrText``).
* Footnotes, then endnotes, after the body: first those the body refers to, in
  the order of their first reference, then any others in the order of the file.
  (After the body rather than at the reference: a note is its own sentence and
  would otherwise split the sentence that refers to it.)
* Automatic list numbers ("一、", "（二）", "3."), which Word draws from
  ``numbering.xml`` and which are not in the paragraph's text, are put before it
  as Word shows them (:mod:`plantheme.readers.docx_numbering`), followed by the
  level's separator (``\\t`` by default); bullets are not text.
* Within a paragraph, ``w:tab`` is ``\\t``, ``w:br`` and ``w:cr`` a line break.
  Ruby (phonetic guide) text is left out, its base characters are read, and so
  is hidden text (``w:vanish``), which Word does not show.

Not read: headers and footers (page numbers, running titles), comments,
charts and SmartArt (separate parts), embedded objects. Paragraphs holding only
whitespace are left out.

Safety: the XML is parsed without entity resolution, network or DTD (a part with
a DTD fails); each part is decompressed in chunks and reading stops once the
parts read so far pass :func:`xml_byte_limit` (so a small zip that inflates to
hundreds of megabytes fails fast in little memory); a package with more than
:data:`MAX_MEMBERS` members fails before it is opened. Every failure is a
:class:`DocxError` with a one-line reason.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Iterator

from lxml import etree

from .docx_numbering import ListNumbering
from .wordml import W_NAMESPACES, attribute, is_on, local_name, w_child

__all__ = ["DocxError", "MAX_MEMBERS", "XML_BYTES_PER_CHAR", "XML_BYTES_ALLOWANCE", "xml_byte_limit", "docx_text"]

# A Word file has 10-50 members, a few hundred with many images.
MAX_MEMBERS = 10_000
# The XML read for one document may take this many bytes per character of the
# document limit, plus a fixed allowance. On the 89 readable files of the
# gov-docx corpus document.xml takes 19 bytes per character of text (median)
# and at most 115 (benchmarks/docx_extraction.py): the allowance covers small
# documents with heavy markup.
XML_BYTES_PER_CHAR = 20
XML_BYTES_ALLOWANCE = 8 * 1024 * 1024
_CHUNK = 64 * 1024

_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_MATH = "http://schemas.openxmlformats.org/officeDocument/2006/math"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
# Elements whose content is not text a reader sees: properties, deleted and
# moved-away text, field codes, the footnote number mark inside a note.
_SKIPPED = frozenset(
    {
        "pPr",
        "rPr",
        "sectPr",
        "tblPr",
        "tblGrid",
        "trPr",
        "tcPr",
        "sdtPr",
        "sdtEndPr",
        "tblPrEx",
        "del",
        "moveFrom",
        "delText",
        "instrText",
        "delInstrText",
        "footnoteRef",
        "endnoteRef",
        "annotationRef",
        "commentReference",
        "rt",  # ruby text: the pronunciation printed above the characters (``w:rubyBase``), not text
    }
)
_NOTE_SEPARATORS = frozenset({"separator", "continuationSeparator", "continuationNotice"})


class DocxError(Exception):
    """A .docx whose text cannot be read; ``reason`` is a one-line explanation."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def xml_byte_limit(max_chars: int) -> int:
    """How many bytes of XML one document may inflate to, for a document limit of ``max_chars``."""
    return XML_BYTES_PER_CHAR * max_chars + XML_BYTES_ALLOWANCE


# --- the zip package -------------------------------------------------------------


def _declared_member_count(data: bytes) -> int | None:
    """The member count the end-of-central-directory record states, read before zipfile
    builds an object per member (None when the record is not found: zipfile then fails)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 22 > len(data):
        return None
    count = int.from_bytes(data[end + 10 : end + 12], "little")
    if count == 0xFFFF and end >= 20 and data[end - 20 : end - 16] == b"PK\x06\x07":
        # ZIP64: the locator before the record points at the ZIP64 record holding the count.
        offset = int.from_bytes(data[end - 12 : end - 4], "little")
        if data[offset : offset + 4] == b"PK\x06\x06":
            count = int.from_bytes(data[offset + 32 : offset + 40], "little")
    return count


class _Package:
    """The members of a .docx zip, read with a shared budget of inflated bytes."""

    def __init__(self, data: bytes, budget: int) -> None:
        declared = _declared_member_count(data)
        if declared is not None and declared > MAX_MEMBERS:
            raise DocxError(
                f"not a readable .docx file (zip of {declared:,} members; at most {MAX_MEMBERS:,} are read)"
            )
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
        except zipfile.BadZipFile as exc:
            raise DocxError(f"not a readable .docx file (not a zip archive: {exc})") from None
        names = self._zip.namelist()
        if len(names) > MAX_MEMBERS:
            raise DocxError(
                f"not a readable .docx file (zip of {len(names):,} members; at most {MAX_MEMBERS:,} are read)"
            )
        self._names = {name.lower(): name for name in names}
        self._budget = budget
        self._limit = budget

    def has(self, name: str) -> bool:
        return name.lower() in self._names

    def read(self, name: str) -> bytes:
        """The inflated bytes of member ``name``, stopping once the budget is spent."""
        member = self._names[name.lower()]
        info = self._zip.getinfo(member)
        if info.file_size > self._budget:
            raise DocxError(self._too_big(member))
        chunks: list[bytes] = []
        try:
            with self._zip.open(info) as stream:
                while chunk := stream.read(_CHUNK):
                    self._budget -= len(chunk)
                    if self._budget < 0:
                        raise DocxError(self._too_big(member))
                    chunks.append(chunk)
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
            # zlib.error is not an OSError: it is caught by the caller's catch-all.
            raise DocxError(f"not a readable .docx file ({member}: {type(exc).__name__}: {exc})") from None
        return b"".join(chunks)

    def _too_big(self, member: str) -> str:
        return (
            f"{member} inflates past {self._limit:,} bytes of XML (the limit for"
            " PLANTHEME_MAX_DOCUMENT_CHARS); a zip bomb or an oversized document"
        )

    def relationships(self, part: str) -> list[tuple[str, str]]:
        """(type, target member name) of the internal relationships of ``part`` ('' for the package)."""
        folder, base = posixpath.split(part)
        rels = posixpath.join(folder, "_rels", base + ".rels") if part else "_rels/.rels"
        if not self.has(rels):
            return []
        found = []
        for rel in _parse(self.read(rels), rels).iter(f"{{{_RELATIONSHIPS}}}Relationship"):
            target = rel.get("Target") or ""
            if rel.get("TargetMode") == "External" or not target:
                continue
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
            found.append((rel.get("Type") or "", posixpath.normpath(path)))
        return found


def _parse(xml: bytes, name: str) -> etree._Element:
    """Parse one part without entities, network or DTD; a part with a DTD fails."""
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise DocxError(f"not a readable .docx file ({name} is not well-formed XML: {exc})") from None
    if root.getroottree().docinfo.doctype:
        raise DocxError(f"not a readable .docx file ({name} declares a DTD, which Word never writes)")
    return root


def _part(package: _Package, rel_type: str, source: str, default: str) -> str | None:
    """The member a relationship of ``rel_type`` from ``source`` points at, else ``default`` if present."""
    for kind, target in package.relationships(source):
        if kind.endswith("/" + rel_type) and package.has(target):
            return target
    return default if package.has(default) else None


# --- the text --------------------------------------------------------------------


def _choice(alternate: etree._Element) -> etree._Element | None:
    """The one branch of ``mc:AlternateContent`` that is read: the first choice, else the fallback."""
    fallback = None
    for child in alternate:
        namespace, name = local_name(child)
        if namespace == _MC and name == "Choice":
            return child
        if namespace == _MC and name == "Fallback":
            fallback = child
    return fallback


class _Walker:
    """Collects lines of text from WordprocessingML elements in document order."""

    def __init__(self, numbering: ListNumbering | None = None) -> None:
        self.numbering = numbering
        self.lines: list[str] = []
        self.note_refs: dict[str, list[str]] = {"footnote": [], "endnote": []}

    def block(self, element: etree._Element) -> None:
        """A block-level element: a paragraph, a table, or anything holding them."""
        namespace, name = local_name(element)
        if namespace in W_NAMESPACES:
            if name in _SKIPPED:
                return
            if name == "p":
                self.paragraph(element)
                return
        elif namespace == _MC and name == "AlternateContent":
            chosen = _choice(element)
            if chosen is not None:
                self.block(chosen)
            return
        # Tables, rows, cells, content controls, text box content: their paragraphs in order.
        for child in element:
            self.block(child)

    def paragraph(self, paragraph: etree._Element) -> None:
        number = self._number(paragraph)
        parts: list[str] = []
        boxes: list[etree._Element] = []
        self.inline(paragraph, parts, boxes)
        text = "".join(parts)
        # A number before an empty paragraph is no line of text.
        self.lines.append(number + text if text.strip() else "")
        for box in boxes:
            self.block(box)

    def _number(self, paragraph: etree._Element) -> str:
        """The list number Word draws before ``paragraph`` ('' for none), counted even when
        the paragraph is empty, as Word counts it."""
        if self.numbering is None:
            return ""
        properties = w_child(paragraph, "pPr")
        return self.numbering.number(properties) if properties is not None else ""

    def inline(self, element: etree._Element, parts: list[str], boxes: list[etree._Element]) -> None:
        """The text inside a paragraph; text boxes and stray blocks go to ``boxes``, read after it."""
        for child in element:
            namespace, name = local_name(child)
            if namespace in W_NAMESPACES:
                if name in _SKIPPED or (name == "r" and _hidden(child)):
                    continue
                if name == "t":
                    parts.append(child.text or "")
                elif name in ("tab", "ptab"):
                    parts.append("\t")
                elif name in ("br", "cr"):
                    parts.append("\n")
                elif name == "noBreakHyphen":
                    parts.append("-")
                elif name == "sym":
                    parts.append(_symbol(child))
                elif name in ("footnoteReference", "endnoteReference"):
                    note_id = attribute(child, "id")
                    if note_id is not None:
                        self.note_refs[name[: -len("Reference")]].append(note_id)
                elif name in ("txbxContent", "p", "tbl"):
                    boxes.append(child)
                else:
                    self.inline(child, parts, boxes)
            elif namespace == _MC and name == "AlternateContent":
                chosen = _choice(child)
                if chosen is not None:
                    self.inline(chosen, parts, boxes)
            elif namespace == _MATH and name == "t":
                parts.append(child.text or "")
            else:
                self.inline(child, parts, boxes)


def _hidden(run: etree._Element) -> bool:
    """Whether a run is hidden text (``w:vanish`` in its properties), which Word does not show."""
    return is_on(w_child(w_child(run, "rPr"), "vanish"))


def _symbol(element: etree._Element) -> str:
    """The character of a ``w:sym``: symbol fonts map into the private use area F000-F0FF,
    which is no text (bullets, arrows); other code points are kept."""
    try:
        code = int(attribute(element, "char") or "", 16)
    except ValueError:
        return ""
    return chr(code) if 0x20 <= code < 0xF000 or 0xF900 <= code <= 0x10FFFF else ""


def _notes(root: etree._Element, kind: str, referenced: list[str]) -> Iterator[etree._Element]:
    """Notes of one kind: the referenced ones in reference order, then the rest in file order."""
    notes: dict[str, etree._Element] = {}
    for note in root:
        namespace, name = local_name(note)
        if namespace in W_NAMESPACES and name == kind and attribute(note, "type") not in _NOTE_SEPARATORS:
            notes.setdefault(attribute(note, "id") or f"#{len(notes)}", note)
    for note_id in dict.fromkeys(referenced):
        if note_id in notes:
            yield notes.pop(note_id)
    yield from notes.values()


def _optional_part(package: _Package, rel_type: str, source: str, default: str) -> etree._Element | None:
    """A part that only adds to the text (numbering, styles): None when absent or not
    well-formed, so that a damaged one costs its additions, not the document. (The XML
    budget still applies: a part that inflates past it fails the document.)"""
    name = _part(package, rel_type, source, default)
    if name is None:
        return None
    data = package.read(name)
    try:
        return _parse(data, name)
    except DocxError:
        return None


def _list_numbering(package: _Package, main: str) -> ListNumbering | None:
    numbering = _optional_part(package, "numbering", main, "word/numbering.xml")
    if numbering is None:
        return None
    return ListNumbering(numbering, _optional_part(package, "styles", main, "word/styles.xml"))


def docx_text(data: bytes, *, max_chars: int) -> str:
    """The text of a .docx: body, tables, text boxes, then foot- and endnotes, one paragraph per line.

    Raises :class:`DocxError` with a one-line reason for a damaged, hostile or
    oversized file (see the module docstring for the limits).
    """
    package = _Package(data, xml_byte_limit(max_chars))
    main = _part(package, "officeDocument", "", "word/document.xml")
    if main is None:
        raise DocxError("not a readable .docx file (no word/document.xml: not a Word document)")
    walker = _Walker(_list_numbering(package, main))
    root = _parse(package.read(main), main)
    walker.block(root)
    for kind, plural in (("footnote", "footnotes"), ("endnote", "endnotes")):
        part = _part(package, plural, main, f"word/{plural}.xml")
        if part is None:
            continue
        notes_root = _parse(package.read(part), part)
        for note in _notes(notes_root, kind, walker.note_refs[kind]):
            walker.block(note)
    return "\n".join(line for line in walker.lines if line.strip())
