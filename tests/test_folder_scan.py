"""Finding files: links inside and outside the folder, special files, file names of any bytes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from plantheme.readers.folder_scan import NOT_REGULAR, OUTSIDE_LINK, display_path, file_format, scan_folder


def _fates(root: Path, **options: object) -> dict[str, tuple[str, str]]:
    scan = scan_folder(root, **options)  # type: ignore[arg-type]
    return {found.path: (found.status, found.reason) for found in scan.files}


@pytest.fixture()
def linked(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "inside.txt").write_text("推进河长制。", encoding="utf-8")
    outside = tmp_path / "secret.txt"
    outside.write_text("不该读到。", encoding="utf-8")
    os.symlink("sub/inside.txt", root / "link-in.txt")
    os.symlink(outside, root / "link-out.txt")
    os.symlink("/proc/self/environ", root / "environ.txt")
    os.symlink(tmp_path / "missing.txt", root / "broken.txt")
    os.symlink(root / "sub", root / "folder-link")
    return root


def test_links_are_followed_only_inside_the_folder(linked: Path) -> None:
    fates = _fates(linked)
    assert fates["link-in.txt"] == ("", "")
    assert fates["link-out.txt"] == ("skipped", OUTSIDE_LINK)
    assert fates["environ.txt"] == ("skipped", OUTSIDE_LINK)
    assert fates["broken.txt"] == ("failed", "broken link")
    scan = scan_folder(linked)
    assert [f.path for f in scan.folders] == ["folder-link/"]
    followed = next(f for f in scan.files if f.path == "link-in.txt")
    assert followed.absolute == (linked / "sub" / "inside.txt").resolve()


def test_follow_links_follows_links_outside(linked: Path) -> None:
    fates = _fates(linked, follow_links=True)
    assert fates["link-out.txt"] == ("", "")
    # /proc/self/environ is a regular file to stat, but a link out of the folder is only followed when asked.
    assert fates["environ.txt"][0] in ("", "skipped")


def test_special_files_are_never_to_be_read(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    os.mkfifo(root / "pipe.txt")
    os.symlink(root / "pipe.txt", root / "pipe-link.txt")
    os.symlink("/dev/zero", root / "zero.txt")
    fates = _fates(root, follow_links=True)
    assert fates == {
        "pipe.txt": ("skipped", NOT_REGULAR),
        "pipe-link.txt": ("skipped", NOT_REGULAR),
        "zero.txt": ("skipped", NOT_REGULAR),
    }


@pytest.mark.parametrize(
    ("raw", "text", "hex_bytes"),
    [
        ("plan.txt", "plan.txt", ""),
        ("规划/计划.txt", "规划/计划.txt", ""),
        ("new\nline.txt", "new\nline.txt", ""),
        (os.fsdecode(b"bad\xffname.txt"), "bad\\xffname.txt", b"bad\xffname.txt".hex()),
        # GBK bytes: those that happen to form UTF-8 (e6 bb ae) read as that character.
        (os.fsdecode("规划".encode("gbk") + b".txt"), "\\xb9滮.txt", ("规划".encode("gbk") + b".txt").hex()),
    ],
)
def test_display_path(raw: str, text: str, hex_bytes: str) -> None:
    assert display_path(raw) == (text, hex_bytes)
    text.encode("utf-8")  # always writable to a UTF-8 output


def test_names_of_any_bytes_are_found_with_readable_paths(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    Path(os.fsdecode(bytes(root) + b"/bad\xffname.txt")).write_text("推进河长制。", encoding="utf-8")
    (scan_file,) = scan_folder(root).files
    assert scan_file.path == "bad\\xffname.txt"
    assert bytes.fromhex(scan_file.path_hex) == b"bad\xffname.txt"
    assert scan_file.absolute.read_text(encoding="utf-8") == "推进河长制。"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.jsonl", "jsonl"),
        ("a.CSV", "csv"),
        ("a.txt", "text"),
        ("a.pdf", "pdf"),
        ("a.xlsx", None),
    ],
)
def test_file_format(name: str, kind: str | None) -> None:
    assert file_format(name) == kind


def test_a_fifo_named_like_an_output_manifest_does_not_block_the_scan(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    os.mkfifo(root / "sub" / "manifest.json")  # opened blocking, it would wait for a writer for ever
    (root / "sub" / "a.txt").write_text("推进河长制。", encoding="utf-8")
    assert _fates(root)["sub/a.txt"] == ("", "")
