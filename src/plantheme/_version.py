"""The package version: the one place it is written (pyproject.toml reads it from here)."""

# Part of every tag-cache key (tagging/tag_cache.py): a release that changes what a document's
# sentences or themes come out as (text handling, the model) takes a new version, so no cached
# result of the previous one is served. 0.2.0: DOCX paragraphs and responsibility notes (2026-12-03);
# 0.2.1: DOCX list numbers, run-in headings and unbracketed notes in line joining (2026-12-03).
__version__ = "0.2.1"
