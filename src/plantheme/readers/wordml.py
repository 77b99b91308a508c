"""What the .docx readers share about WordprocessingML: its namespaces, names, attributes and toggles."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

__all__ = ["W_NAMESPACES", "attribute", "is_on", "local_name", "w_child", "w_children"]

W_NAMESPACES = frozenset(
    {
        "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
        "http://purl.oclc.org/ooxml/wordprocessingml/main",  # ISO 29500 strict
    }
)


def local_name(element: etree._Element) -> tuple[str, str]:
    """(namespace, local name) of an element; ('', '') for comments and the like."""
    tag = element.tag
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag


def attribute(element: etree._Element, name: str) -> str | None:
    """A WordprocessingML attribute (``w:name``) in either namespace, None when absent."""
    for namespace in W_NAMESPACES:
        value = element.get(f"{{{namespace}}}{name}")
        if value is not None:
            return value
    return None


def w_children(element: etree._Element | None, name: str) -> Iterator[etree._Element]:
    """The children ``w:name`` of ``element`` (none when it is None)."""
    if element is None:
        return
    for child in element:
        namespace, local = local_name(child)
        if local == name and namespace in W_NAMESPACES:
            yield child


def w_child(element: etree._Element | None, name: str) -> etree._Element | None:
    """The first child ``w:name`` of ``element``, None when there is none."""
    return next(w_children(element, name), None)


def is_on(element: etree._Element | None) -> bool:
    """A toggle property such as ``<w:vanish/>`` or ``<w:isLgl/>``: on when present, unless its
    ``w:val`` says off."""
    return element is not None and (attribute(element, "val") or "true") not in ("false", "0", "off")
