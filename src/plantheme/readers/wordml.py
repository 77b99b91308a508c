"""What the .docx readers share about WordprocessingML: its namespaces and its attributes."""

from __future__ import annotations

from lxml import etree

__all__ = ["W_NAMESPACES", "attribute"]

W_NAMESPACES = frozenset(
    {
        "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
        "http://purl.oclc.org/ooxml/wordprocessingml/main",  # ISO 29500 strict
    }
)


def attribute(element: etree._Element, name: str) -> str | None:
    """A WordprocessingML attribute (``w:name``) in either namespace, None when absent."""
    for namespace in W_NAMESPACES:
        value = element.get(f"{{{namespace}}}{name}")
        if value is not None:
            return value
    return None
