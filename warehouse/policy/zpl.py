"""ZPL II for thermal label printers (Zebra and compatibles): pure text builders, no Django.

A label is 4 x 6 inches (812 x 1218 dots at 203 dpi) or smaller; the caller says what to print. Every field is
escaped with ^FH (hex escapes) so a lot number or a description cannot end a field or start a command."""

from __future__ import annotations

from dataclasses import dataclass


def _field_data(text: str) -> str:
    """``^FH_`` data: ``^``, ``~`` and ``_`` (and anything outside printable ASCII) as ``_XX`` hex escapes."""
    out = []
    for ch in str(text):
        if ch in "^~_" or not (32 <= ord(ch) < 127):
            out.extend(f"_{b:02X}" for b in ch.encode("utf-8"))
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True)
class Text:
    x: int
    y: int
    text: str
    height: int = 30


@dataclass(frozen=True)
class Code128:
    """A Code 128 barcode; ``gs1=True`` prints it as GS1-128 (^BC mode D: FNC1 first, AIs in brackets)."""

    x: int
    y: int
    data: str
    height: int = 120
    module: int = 3
    gs1: bool = False


@dataclass(frozen=True)
class Ean13:
    x: int
    y: int
    data: str  # 12 or 13 digits; the printer computes the check digit from the first 12
    height: int = 120
    module: int = 3


def label(elements: list, *, width_dots: int = 812, height_dots: int = 1218, copies: int = 1) -> str:
    """One ZPL label (``^XA`` ... ``^XZ``) with ``elements`` (Text, Code128, Ean13)."""
    lines = ["^XA", "^CI28", f"^PW{width_dots}", f"^LL{height_dots}", "^LH0,0"]
    for element in elements:
        if isinstance(element, Text):
            lines.append(
                f"^FO{element.x},{element.y}^A0N,{element.height},{element.height}^FH_^FD{_field_data(element.text)}^FS"
            )
        elif isinstance(element, Code128):
            mode = "D" if element.gs1 else "N"
            lines.append(f"^BY{element.module},3,{element.height}")
            lines.append(
                f"^FO{element.x},{element.y}^BCN,{element.height},Y,N,N,{mode}^FH_^FD{_field_data(element.data)}^FS"
            )
        elif isinstance(element, Ean13):
            lines.append(f"^BY{element.module},3,{element.height}")
            lines.append(f"^FO{element.x},{element.y}^BEN,{element.height},Y,N^FD{element.data[:12]}^FS")
        else:  # pragma: no cover - the builders below only pass these
            raise TypeError(f"not a label element: {element!r}")
    if copies > 1:
        lines.append(f"^PQ{copies}")
    lines.append("^XZ")
    return "\n".join(lines) + "\n"
