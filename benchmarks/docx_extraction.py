"""DOCX extraction on real files: characters, text boxes, duplicates and time per file, before and now.

Reads every ``.docx`` under a folder (default ``../shared/corpus/gov-docx``,
hidden files included: Word's lock files are part of what a folder holds) and
prints:

* per outcome: files read, failed (with reason) and skipped, now and with the
  previous python-docx extraction (``before``, needs ``pip install
  python-docx``; without it that column is left out);
* characters extracted (non-whitespace), now and before, in total and the
  files that gained most;
* the files with text boxes, how many text-box paragraphs they hold, and the
  duplicate check: how many lines would repeat if both branches of
  ``mc:AlternateContent`` were read, and how many repeat now beyond what the
  document itself repeats;
* XML bytes per character of text (what the zip-bomb budget must allow);
* time per file (median, mean, max; best of 3 runs).

The corpus text is only read here, never written.

    .venv/bin/python benchmarks/docx_extraction.py [FOLDER]
"""

from __future__ import annotations

import io
import statistics
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path

from lxml import etree

from plantheme.readers import docx_text as docx_module
from plantheme.readers.documents import UnreadableDocument, extract_text

MAX_CHARS = 2_000_000
DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "gov-docx"


def before_text(data: bytes) -> str:
    """The extraction before this change (python-docx, body paragraphs and tables only)."""
    import docx
    from docx.table import Table

    def blocks(container):  # type: ignore[no-untyped-def]
        for block in container.iter_inner_content():
            if isinstance(block, Table):
                for row in block.rows:
                    seen: set[int] = set()
                    for cell in row.cells:
                        if id(cell._tc) in seen:
                            continue
                        seen.add(id(cell._tc))
                        yield from blocks(cell)
            else:
                yield block.text

    if not data:
        raise UnreadableDocument("skipped", "empty file")
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - as the old docx_to_text did
        raise UnreadableDocument("failed", f"not a readable .docx file ({type(exc).__name__}: {exc})") from None
    # Errors of the table API (vMerge/gridSpan) escaped from the old extractor: "exception" below.
    return "\n".join(t for t in blocks(document) if t.strip())


def now_text(data: bytes) -> str:
    return extract_text(data, "docx", max_chars=MAX_CHARS).text


def both_branches_text(data: bytes) -> str:
    """The extraction if both mc:Choice and mc:Fallback were read (what must not happen)."""
    original = docx_module._choice

    def both(alternate: etree._Element) -> etree._Element:
        holder = etree.Element("both")
        for child in alternate:
            holder.append(child.__copy__())
        return holder

    docx_module._choice = both
    try:
        return docx_module.docx_text(data, max_chars=MAX_CHARS)
    finally:
        docx_module._choice = original


def outcome(function, data: bytes) -> tuple[str, str, float]:  # type: ignore[no-untyped-def]
    """(status, text or reason, best seconds of 3)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        try:
            text = function(data)
            status = "read"
        except UnreadableDocument as exc:
            text, status = exc.reason, exc.status
        except Exception as exc:  # noqa: BLE001 - the old extractor raised out of extract_text
            text, status = f"EXCEPTION {type(exc).__name__}: {exc}", "exception"
        best = min(best, time.perf_counter() - start)
    return status, text, best


def chars(text: str) -> int:
    return sum(1 for c in text if not c.isspace())


def main(folder: Path) -> None:
    files = sorted(p for p in folder.rglob("*.docx") if p.is_file())
    try:
        import docx  # noqa: F401

        have_before = True
    except ImportError:
        have_before = False
    print(f"{len(files)} .docx files under {folder}")
    rows = []
    for path in files:
        data = path.read_bytes()
        now = outcome(now_text, data)
        before = outcome(before_text, data) if have_before else None
        info: dict[str, object] = {"name": path.relative_to(folder).as_posix(), "now": now, "before": before}
        if now[0] == "read":
            with zipfile.ZipFile(io.BytesIO(data)) as package:
                xml = package.read("word/document.xml")
            info["xml_bytes"] = len(xml)
            info["boxes"] = xml.count(b"<w:txbxContent")
            info["alternate"] = xml.count(b"<mc:AlternateContent")
            if info["boxes"]:
                info["both"] = both_branches_text(data)
        rows.append(info)

    print("\n== outcomes ==")
    for label in ("now", "before") if have_before else ("now",):
        counts = Counter(row[label][0] for row in rows)  # type: ignore[index]
        print(f"{label:>6}: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
        for row in rows:
            status, text, _ = row[label]  # type: ignore[misc]
            if status != "read":
                print(f"        {status:9} {row['name']}: {text[:120]}")

    read = [row for row in rows if row["now"][0] == "read"]  # type: ignore[index]
    now_chars = sum(chars(row["now"][1]) for row in read)  # type: ignore[index]
    print("\n== characters (non-whitespace) ==")
    print(f"now: {now_chars:,} in {len(read)} files")
    if have_before:
        both_read = [row for row in read if row["before"][0] == "read"]  # type: ignore[index]
        before_chars = sum(chars(row["before"][1]) for row in both_read)  # type: ignore[index]
        same_files_now = sum(chars(row["now"][1]) for row in both_read)  # type: ignore[index]
        print(
            f"files read before and now: {len(both_read)}; before {before_chars:,}, now {same_files_now:,}"
            f" (+{same_files_now - before_chars:,}, {same_files_now / before_chars - 1:+.2%})"
        )
        only_now = [row for row in read if row["before"][0] != "read"]  # type: ignore[index]
        print(f"files read only now: {len(only_now)}, {sum(chars(r['now'][1]) for r in only_now):,} characters")  # type: ignore[index]
        gains = sorted(
            ((chars(r["now"][1]) - chars(r["before"][1]), r["name"]) for r in both_read),  # type: ignore[index]
            reverse=True,
        )
        changed = [g for g in gains if g[0]]
        print(f"files whose character count changed: {len(changed)}")
        for gain, name in changed[:10]:
            print(f"  {gain:+7,}  {name}")
        # Lines the old reading had that are missing now: python-docx repeats a vertically
        # merged cell in every row it spans; now it is read once. A missing line that is
        # still present once now is such a repeat; any other would be text lost.
        missing = still_present = 0
        for row in both_read:
            old = Counter(line for line in row["before"][1].split("\n") if line.strip())  # type: ignore[index]
            new = Counter(line for line in row["now"][1].split("\n") if line.strip())  # type: ignore[index]
            for line, n in (old - new).items():
                missing += n
                still_present += n if line in new else 0
                if line not in new:
                    print(f"  LOST in {row['name']}: a line of {len(line)} characters")
        print(
            f"lines of the old reading missing now: {missing}, of which still read once now (repeats of"
            f" vertically merged cells): {still_present}; lost: {missing - still_present}"
        )

    print("\n== text boxes and duplicates ==")
    boxed = [row for row in read if row["boxes"]]
    print(f"files with text boxes: {len(boxed)} of {len(read)}")
    for row in boxed:
        now_lines = Counter(row["now"][1].split("\n"))  # type: ignore[index]
        both_lines = Counter(row["both"].split("\n"))  # type: ignore[union-attr]
        doubled = sum((both_lines - now_lines).values())
        before_lines = (
            Counter(row["before"][1].split("\n")) if have_before and row["before"][0] == "read" else Counter()
        )  # type: ignore[index]
        print(
            f"  {row['name']}: {row['boxes']} w:txbxContent in {row['alternate']} mc:AlternateContent;"
            f" lines now {sum(now_lines.values())}, before {sum(before_lines.values())},"
            f" reading both branches would add {doubled} repeated lines"
        )
    repeated_now = repeated_extra = 0
    for row in read:
        lines = Counter(line for line in row["now"][1].split("\n") if line.strip())  # type: ignore[index]
        repeated_now += sum(n - 1 for n in lines.values() if n > 1)
        if have_before and row["before"][0] == "read":  # type: ignore[index]
            old = Counter(line for line in row["before"][1].split("\n") if line.strip())  # type: ignore[index]
            # Repeats now beyond those the old reading also had (the document's own repeats).
            repeated_extra += sum(
                max(0, (n - 1) - max(0, old.get(line, 0) - 1)) for line, n in lines.items() if n > 1 and line in old
            )
    print(f"repeated lines now, all files: {repeated_now} (a line equal to an earlier line of its file)")
    if have_before:
        print(f"of which repeat more often than in the old reading of the same text: {repeated_extra}")

    print("\n== XML bytes per character of text (document.xml) ==")
    ratios = sorted(row["xml_bytes"] / max(1, chars(row["now"][1])) for row in read)  # type: ignore[index, operator]
    print(
        f"median {statistics.median(ratios):.1f}, max {ratios[-1]:.1f}; budget {docx_module.XML_BYTES_PER_CHAR}"
        f" bytes/char + {docx_module.XML_BYTES_ALLOWANCE:,} bytes"
    )

    print("\n== time per file (best of 3), milliseconds ==")
    for label in ("now", "before") if have_before else ("now",):
        times = [row[label][2] * 1000 for row in read if row[label][0] == "read"]  # type: ignore[index]
        print(
            f"{label:>6}: median {statistics.median(times):.2f}, mean {statistics.mean(times):.2f},"
            f" max {max(times):.2f} over {len(times)} files"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_FOLDER)
