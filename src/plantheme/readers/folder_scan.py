"""Finding the files of a folder to tag, and deciding by name which ones are not read.

Every file found is returned exactly once, in path order, with the reason when
it is not read; folders that are not searched (hidden ones, the output folder
of this or an earlier run, links to folders) are returned with their reason, so
nothing disappears without a trace.

Decisions:

* Links to files are followed only when their target is inside the folder
  (``follow_links`` follows every link); a link pointing elsewhere is skipped
  with the reason. Links to folders are never followed.
* Only regular files are ever opened: devices, FIFOs and sockets (also as the
  target of a link) are skipped, so nothing can block or read a device.
* File names are bytes on Linux and need not be UTF-8. Python hands them over
  surrogate-escaped (``os.fsdecode``); :func:`display_path` turns such a path
  into readable text for the outputs: valid UTF-8 as it is, each byte that is
  not as ``\\xNN``; ``path_hex`` then holds the exact bytes of the relative
  path in hex. ``FoundFile.raw`` keeps the surrogate-escaped name for opening
  and for the cache key.
* ``.jsonl`` and ``.csv`` files are files of records (one document per
  record, see :mod:`plantheme.readers.record_files`); whether a CSV holds documents is
  decided when it is read (by its header).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from .documents import document_format, unsupported_reason

__all__ = [
    "FoundFile",
    "SkippedFolder",
    "FolderScan",
    "compile_glob",
    "scan_folder",
    "is_tag_output_folder",
    "display_path",
    "file_format",
    "OUTPUT_MARKER",
    "RECORD_SUFFIXES",
]

# Files of records: one document per line (JSONL) or row (CSV).
RECORD_SUFFIXES: dict[str, str] = {".jsonl": "jsonl", ".csv": "csv"}
OUTSIDE_LINK = "link to a file outside the folder (not followed; --follow-links follows it)"
NOT_REGULAR = "not a regular file (device, pipe or socket)"

# manifest.json of every `plantheme tag` output folder carries this generator name.
OUTPUT_MARKER = "plantheme tag"


@dataclass(frozen=True)
class FoundFile:
    """A file under the folder: its path relative to it (``/``-separated), size and fate.

    ``status`` is empty for a file to read, else ``skipped`` or ``failed`` with ``reason``.
    ``path`` is readable text (see :func:`display_path`); ``raw`` is the
    relative path as the file system gave it (surrogate-escaped when its bytes
    are not UTF-8) and ``path_hex`` its bytes in hex when they are not UTF-8.
    ``absolute`` is the file to open: for a followed link, its target.
    """

    path: str
    absolute: Path
    size: int
    status: str = ""
    reason: str = ""
    raw: str = ""
    path_hex: str = ""

    @property
    def key_path(self) -> str:
        """The relative path as the file system has it (for cache keys)."""
        return self.raw or self.path


@dataclass(frozen=True)
class SkippedFolder:
    """A folder that was not searched (status ``skipped``) or could not be (``failed``)."""

    path: str
    status: str
    reason: str


@dataclass(frozen=True)
class FolderScan:
    """All files found, in path order, and the folders not searched."""

    files: tuple[FoundFile, ...]
    folders: tuple[SkippedFolder, ...]


def compile_glob(pattern: str) -> re.Pattern[str]:
    """A regular expression for a glob over ``/``-separated relative paths.

    ``**`` matches any number of folders (also none), ``*`` and ``?`` match
    within one path segment, ``[...]`` is a character class (``[!...]`` negated).
    A pattern without ``/`` is matched against the file name alone, so
    ``*.txt`` finds text files at any depth.
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            negated = body.startswith("!")
            body = re.escape(body[1:] if negated else body).replace(r"\-", "-")
            out.append(f"[{'^' if negated else ''}{body}]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _matches(glob: re.Pattern[str] | None, pattern: str | None, path: str) -> bool:
    if glob is None or pattern is None:
        return True
    target = path if "/" in pattern else path.rsplit("/", 1)[-1]
    return glob.match(target) is not None


def is_tag_output_folder(folder: Path) -> bool:
    """True when ``folder`` holds the outputs of a `plantheme tag` run (its manifest says so)."""
    manifest = folder / "manifest.json"
    try:
        # O_NONBLOCK and a type check: a FIFO named manifest.json must not block the scan.
        fd = os.open(manifest, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        head = os.read(fd, 4096)
    except OSError:
        return False
    finally:
        os.close(fd)
    return f'"generator": "{OUTPUT_MARKER}"'.encode() in head


def display_path(raw: str) -> tuple[str, str]:
    """Readable text for a surrogate-escaped path, and its bytes in hex when they are not UTF-8.

    ``("a.txt", "")`` for a UTF-8 name; for ``b"bad\\xffname"``:
    ``("bad\\\\xffname", "626164ff6e616d65")``.
    """
    try:
        raw.encode("utf-8")
        return raw, ""
    except UnicodeEncodeError:
        data = raw.encode("utf-8", "surrogateescape")
        return data.decode("utf-8", "backslashreplace"), data.hex()


def file_format(path: Path | str) -> str | None:
    """The format a file is read as: a document format (see :mod:`plantheme.readers.documents`),
    ``jsonl`` or ``csv`` (files of records), or None."""
    suffix = os.path.splitext(str(path))[1].lower()
    return RECORD_SUFFIXES.get(suffix) or document_format(Path(str(path)))


def _file_fate(name: str, path: str, glob: re.Pattern[str] | None, pattern: str | None) -> tuple[str, str]:
    if name.startswith("."):
        return "skipped", "hidden file"
    if not _matches(glob, pattern, path):
        return "skipped", f"not matched by --glob {pattern!r}"
    if file_format(name) is None:
        return "skipped", unsupported_reason(Path(name))
    return "", ""


def _inside(target: str, root: str) -> bool:
    try:
        return os.path.commonpath([target, root]) == root
    except ValueError:
        return False


def scan_folder(
    root: Path, *, out_dir: Path | None = None, pattern: str | None = None, follow_links: bool = False
) -> FolderScan:
    """Walk ``root`` recursively (links to folders are not followed) and classify what is found.

    ``out_dir`` (this run's output folder) and folders holding the outputs of
    an earlier run are never searched; hidden files and folders are listed as
    skipped; ``pattern`` (see :func:`compile_glob`) limits the files read.
    Links to files are followed when their target is inside ``root`` (any
    target with ``follow_links``); only regular files are ever to be read.
    """
    root = Path(root)
    root_real = os.path.realpath(root)
    out_resolved = Path(out_dir).resolve() if out_dir is not None else None
    glob = compile_glob(pattern) if pattern else None
    files: list[FoundFile] = []
    folders: list[SkippedFolder] = []

    def found(raw: str, absolute: Path, size: int, status: str = "", reason: str = "") -> None:
        text, hex_bytes = display_path(raw)
        files.append(FoundFile(text, absolute, size, status, reason, raw if hex_bytes else "", hex_bytes))

    def walk(folder: Path, prefix: str) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            folders.append(
                SkippedFolder(display_path(prefix)[0] or "./", "failed", f"cannot list: {exc.strerror or exc}")
            )
            return
        for entry in entries:
            path = prefix + entry.name
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError as exc:
                found(path, Path(entry.path), 0, "failed", f"cannot read: {exc.strerror or exc}")
                continue
            if is_dir:
                reason = _folder_reason(Path(entry.path), entry.name, out_resolved)
                if reason:
                    folders.append(SkippedFolder(display_path(path)[0] + "/", "skipped", reason))
                else:
                    walk(Path(entry.path), path + "/")
                continue
            absolute = Path(entry.path)
            try:
                if is_link:
                    target = os.path.realpath(entry.path)
                    info = os.stat(target)
                    if stat.S_ISDIR(info.st_mode):
                        folders.append(
                            SkippedFolder(display_path(path)[0] + "/", "skipped", "link to a folder (not followed)")
                        )
                        continue
                    if not follow_links and not _inside(target, root_real):
                        found(path, absolute, 0, "skipped", OUTSIDE_LINK)
                        continue
                    absolute = Path(target)
                else:
                    info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                found(path, absolute, 0, "failed", "broken link")
                continue
            except OSError as exc:
                found(path, absolute, 0, "failed", f"cannot read: {exc.strerror or exc}")
                continue
            if not stat.S_ISREG(info.st_mode):
                found(path, absolute, 0, "skipped", NOT_REGULAR)
                continue
            status, reason = _file_fate(entry.name, path, glob, pattern)
            found(path, absolute, info.st_size, status, reason)

    walk(root, "")
    # Plain string order of the relative paths: the order of every output.
    return FolderScan(
        files=tuple(sorted(files, key=lambda f: f.path)), folders=tuple(sorted(folders, key=lambda f: f.path))
    )


def _folder_reason(folder: Path, name: str, out_resolved: Path | None) -> str:
    if out_resolved is not None and folder.resolve() == out_resolved:
        return "output folder of this run (not searched)"
    if name.startswith("."):
        return "hidden folder (not searched)"
    if is_tag_output_folder(folder):
        return "output folder of an earlier `plantheme tag` run (not searched)"
    return ""
