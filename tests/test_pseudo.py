"""Self-training material: which unlabelled documents are read, and which sentences become pseudo-labels."""

from __future__ import annotations

from pathlib import Path

import pytest

from plantheme.errors import PlanthemeError
from plantheme.training.pseudo import UnlabelledDocument, pseudo_label, read_exclusions, read_unlabelled


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    (root / "reports").mkdir(parents=True)
    (root / "reports" / "a_2023.txt").write_text("推进河长制。", encoding="utf-8")
    (root / "reports" / "b_2024.txt").write_text("新建养老服务中心。", encoding="gbk")
    (root / "reports" / "SOURCE.md").write_text("where these came from", encoding="utf-8")
    (root / "held-out.txt").write_text("加快培育高新技术企业。", encoding="utf-8")
    (root / "table.xlsx").write_bytes(b"not a document format")
    return root


def test_exclusions_come_from_lists_and_span_files(tmp_path: Path) -> None:
    listed = tmp_path / "exclude.txt"
    listed.write_text("# withheld\n**/SOURCE.md\n\nheld-out.txt\n", encoding="utf-8")
    spans = tmp_path / "dev.csv"
    spans.write_text(
        "path,start,end,theme\nreports/a_2023.txt,0,5,ecology\nreports/a_2023.txt,5,9,other\n", encoding="utf-8"
    )
    assert read_exclusions([listed, spans]) == ["**/SOURCE.md", "held-out.txt", "reports/a_2023.txt"]


def test_an_exclusion_csv_without_paths_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "labels.csv"
    bad.write_text("text,theme\n推进河长制。,ecology\n", encoding="utf-8")
    with pytest.raises(PlanthemeError, match=r"labels\.csv: no `path` column \(found: text, theme\)"):
        read_exclusions([bad])


@pytest.mark.parametrize(
    ("exclude", "expected"),
    [
        ((), ["held-out.txt", "reports/SOURCE.md", "reports/a_2023.txt", "reports/b_2024.txt"]),
        (("**/SOURCE.md", "held-out.txt"), ["reports/a_2023.txt", "reports/b_2024.txt"]),
        (("reports/*",), ["held-out.txt"]),
    ],
)
def test_unlabelled_documents_are_read_minus_exclusions(
    corpus: Path, exclude: tuple[str, ...], expected: list[str]
) -> None:
    documents = read_unlabelled([corpus], exclude)
    assert sorted(d.path for d in documents) == expected
    by_path = {d.path: d.text for d in documents}
    if "reports/b_2024.txt" in by_path:  # read the way `plantheme tag` reads (GBK decoded)
        assert by_path["reports/b_2024.txt"] == "新建养老服务中心。"


def test_a_missing_unlabelled_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(PlanthemeError, match="nope: no such folder of unlabelled documents"):
        read_unlabelled([tmp_path / "nope"])


def test_pseudo_labels_keep_confident_content_sentences(tiny_model) -> None:  # type: ignore[no-untyped-def]
    documents = [
        UnlabelledDocument("c", "a.txt", "推进河长制，开展河道清淤。\n责任单位：区生态环境分局\n新建养老服务中心一处。")
    ]
    every = pseudo_label(tiny_model, documents, threshold=1e-9, weight=0.3)
    # The 责任单位 line is furniture: themed by a rule, never learnt from.
    assert len(every.texts) == 2 and not any("责任单位" in t for t in every.texts)
    assert every.to_dict()["rows"] == 2 and every.to_dict()["sources"] == ["c"]
    confident = pseudo_label(tiny_model, documents, threshold=1.0, weight=0.3)
    assert len(confident.texts) <= len(every.texts)
    assert all(theme in every.themes for theme in confident.themes)


@pytest.mark.parametrize(("threshold", "weight"), [(0.0, 0.3), (1.5, 0.3), (0.9, 0.0)])
def test_pseudo_label_settings_are_checked(tiny_model, threshold: float, weight: float) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PlanthemeError, match="0 < threshold <= 1 and weight > 0"):
        pseudo_label(tiny_model, [], threshold=threshold, weight=weight)
