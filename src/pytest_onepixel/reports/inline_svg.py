"""The robustness curve's SVG, checked before the HTML report embeds it unescaped.

The curve is drawn by matplotlib from the outcome (reports/curve_plot.py) and carries user text
(the gate's name in its title), which matplotlib escapes as XML. Inline SVG is still markup: a
`<script>`, an `onload=` handler or a `javascript:` link inside it would run when the page
opens. So the page takes it only when it is a plain drawing: well-formed XML with no doctype,
processing instruction or CDATA (so an HTML parser reads the same tree an XML parser does),
only the drawing elements matplotlib writes, in the SVG namespace, no event handler, links only
within the document (`#id`), and no `javascript:`, `expression(` or outside `url(...)` in
attributes or style. Anything else is left out of the page with a line saying why.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
#: What matplotlib's SVG backend draws a figure with (3.6 to 3.11), plus the plain shapes.
ELEMENTS = frozenset(
    {
        "svg", "defs", "style", "g", "path", "use", "clipPath", "rect", "text", "tspan",
        "title", "desc", "line", "polyline", "polygon", "circle", "ellipse", "linearGradient",
        "radialGradient", "stop", "pattern", "mask", "symbol", "marker",
    }
)  # fmt: skip
#: Attribute or style text that can run code or fetch something: a `url(` not to `#id`.
UNSAFE_VALUE = re.compile(
    r"javascript:|vbscript:|expression\s*\(|@import|url\(\s*['\"]?\s*(?!#)", re.IGNORECASE
)


def inline_svg(document: str) -> str:
    """The `<svg>` element of an SVG document, for HTML: without the XML prolog and doctype, and
    without namespace declarations, which HTML implies and which would be the page's only
    http:// strings. A ValueError says why a document is not a plain drawing."""
    start = document.find("<svg")
    if start < 0:
        raise ValueError("no <svg> element")
    element = document[start:]
    if "<!" in element or "<?" in element:
        raise ValueError("a doctype, comment, CDATA section or processing instruction")
    try:
        root = ElementTree.fromstring(element)
    except ElementTree.ParseError as error:
        raise ValueError(f"not well-formed XML ({error})") from None
    for node in root.iter():
        _check(node)
    head, _, rest = element.partition(">")
    return re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", head) + ">" + rest


def _check(node: ElementTree.Element) -> None:
    """One element: a drawing element, with safe attributes (and safe text in a <style>)."""
    local = node.tag[len(SVG) :] if node.tag.startswith(SVG) else None
    if local not in ELEMENTS:
        raise ValueError(f"element {node.tag!r}")
    for name, value in node.attrib.items():
        if name == XLINK_HREF or name == "href":
            if not value.startswith("#"):
                raise ValueError(f"a link to {value[:40]!r}")
        elif name.startswith("{") or name.lower().startswith("on"):
            raise ValueError(f"attribute {name!r}")
        if UNSAFE_VALUE.search(value):
            raise ValueError(f"attribute {name}={value[:40]!r}")
    if local == "style" and UNSAFE_VALUE.search(node.text or ""):
        raise ValueError("a style sheet that loads or runs something")
