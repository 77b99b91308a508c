"""Finding the files of a folder to tag, and deciding by name which ones are not read.

Every file found is returned exactly once, in path order, with the reason when
it is not read; folders that are not searched (hidden ones, the output folder
of this or an earlier run, links to folders) are returned with their reason, so
nothing disappears without a trace.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .documents import document_format, unsupported_reason

__all__ = ["FoundFile", "SkippedFolder", "FolderScan", "compile_glob", "scan_folder",
           "is_tag_output_folder", "OUTPUT_MARKER"]

# manifest.json of every `plantheme tag` output folder carries this generator name.
OUTPUT_MARKER = "plantheme tag"


@dataclass(frozen=True)
class FoundFile:
    """A file under the folder: its path relative to it (``/``-separated), size and fate.

    ``status`` is empty for a file to read, else ``skipped`` or ``failed`` with ``reason``.
    """

    path: str
    absolute: Path
    size: int
    status: str = ""
    reason: str = ""


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
        elif pattern[i] == "[" and "]" in pattern[i + 2:]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1:end]
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
        with manifest.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return f'"generator": "{OUTPUT_MARKER}"'.encode() in head


def _file_fate(name: str, path: str, glob: re.Pattern[str] | None, pattern: str | None) -> tuple[str, str]:
    if name.startswith("."):
        return "skipped", "hidden file"
    if not _matches(glob, pattern, path):
        return "skipped", f"not matched by --glob {pattern!r}"
    if document_format(Path(name)) is None:
        return "skipped", unsupported_reason(Path(name))
    return "", ""


def scan_folder(root: Path, *, out_dir: Path | None = None, pattern: str | None = None) -> FolderScan:
    """Walk ``root`` recursively (links to folders are not followed) and classify what is found.

    ``out_dir`` (this run's output folder) and folders holding the outputs of
    an earlier run are never searched; hidden files and folders are listed as
    skipped; ``pattern`` (see :func:`compile_glob`) limits the files read.
    """
    root = Path(root)
    out_resolved = Path(out_dir).resolve() if out_dir is not None else None
    glob = compile_glob(pattern) if pattern else None
    files: list[FoundFile] = []
    folders: list[SkippedFolder] = []

    def walk(folder: Path, prefix: str) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            folders.append(SkippedFolder(prefix or "./", "failed", f"cannot list: {exc.strerror or exc}"))
            return
        for entry in entries:
            path = prefix + entry.name
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = entry.is_file()
            except OSError as exc:
                files.append(FoundFile(path, Path(entry.path), 0, "failed", f"cannot read: {exc}"))
                continue
            if is_dir:
                reason = _folder_reason(Path(entry.path), entry.name, out_resolved)
                if reason:
                    folders.append(SkippedFolder(path + "/", "skipped", reason))
                else:
                    walk(Path(entry.path), path + "/")
            elif is_link and entry.is_dir():
                folders.append(SkippedFolder(path + "/", "skipped", "link to a folder (not followed)"))
            elif is_file:
                status, reason = _file_fate(entry.name, path, glob, pattern)
                try:
                    size = entry.stat().st_size
                except OSError as exc:
                    status, reason, size = "failed", f"cannot read: {exc.strerror or exc}", 0
                files.append(FoundFile(path, Path(entry.path), size, status, reason))
            elif is_link:
                files.append(FoundFile(path, Path(entry.path), 0, "failed", "broken link"))
            else:
                files.append(FoundFile(path, Path(entry.path), 0, "skipped",
                                       "not a regular file (device, pipe or socket)"))

    walk(root, "")
    # Plain string order of the relative paths: the order of every output.
    return FolderScan(files=tuple(sorted(files, key=lambda f: f.path)),
                      folders=tuple(sorted(folders, key=lambda f: f.path)))


def _folder_reason(folder: Path, name: str, out_resolved: Path | None) -> str:
    if out_resolved is not None and folder.resolve() == out_resolved:
        return "output folder of this run (not searched)"
    if name.startswith("."):
        return "hidden folder (not searched)"
    if is_tag_output_folder(folder):
        return "output folder of an earlier `plantheme tag` run (not searched)"
    return ""
