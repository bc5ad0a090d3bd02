"""GS1-128 element strings (GS1 General Specifications, section 3): application identifiers parsed into values.

Accepted forms of the same label:
- the human-readable form with brackets: ``(01)09506000134352(17)201225(10)ABC123``;
- the scanner's data: the AIs run together, a variable-length field ended by FNC1, which scanners send as the
  GS character (ASCII 29), optionally after the symbology identifier ``]C1`` (GS1-128), ``]d2`` (GS1 DataMatrix)
  or ``]Q3`` (GS1 QR).

Pure functions; no Django."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from .barcodes import has_valid_check_digit

GS = "\x1d"
SYMBOLOGY_IDS = ("]C1", "]e0", "]d2", "]Q3")


@dataclass(frozen=True)
class AI:
    code: str
    title: str
    length: int  # fixed length, or the maximum for a variable-length field
    fixed: bool
    kind: str  # "gtin", "sscc", "text", "date", "count"


AIS = {
    ai.code: ai
    for ai in (
        AI("00", "SSCC", 18, True, "sscc"),
        AI("01", "GTIN", 14, True, "gtin"),
        AI("02", "CONTENT", 14, True, "gtin"),
        AI("10", "BATCH/LOT", 20, False, "text"),
        AI("11", "PROD DATE", 6, True, "date"),
        AI("15", "BEST BEFORE", 6, True, "date"),
        AI("17", "USE BY OR EXPIRY", 6, True, "date"),
        AI("21", "SERIAL", 20, False, "text"),
        AI("30", "VAR. COUNT", 8, False, "count"),
        AI("37", "COUNT", 8, False, "count"),
    )
}
#: GS1's table of AIs whose length is fixed by their first two digits (no FNC1 after them)
PREDEFINED_LENGTH = {"00", "01", "02", "03", "04", "11", "12", "13", "14", "15", "16", "17", "18", "19", "20"}
#: GS1's character set 82 (the characters allowed in alphanumeric AIs)
CSET82 = re.compile(r"^[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]+$")
BRACKETED = re.compile(r"\((\d{2,4})\)([^()]*)")


class GS1Error(ValueError):
    """An element string that is not valid GS1; ``str()`` says what is wrong, for the operator."""


@dataclass(frozen=True)
class GS1Label:
    elements: tuple[tuple[str, str], ...]  # (AI, raw value) in label order
    gtin: str = ""
    content_gtin: str = ""
    sscc: str = ""
    lot: str = ""
    serial: str = ""
    expiry: dt.date | None = None
    best_before: dt.date | None = None
    production_date: dt.date | None = None
    count: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def item_gtin(self) -> str:
        """The trade item the label names: (01), else the contents (02) of a logistic unit."""
        return self.gtin or self.content_gtin

    def human_readable(self) -> str:
        return "".join(f"({ai}){value}" for ai, value in self.elements)


def looks_like_gs1(scanned: str) -> bool:
    """True when ``scanned`` is meant as a GS1 element string rather than a plain code: brackets, a symbology
    identifier or an FNC1 separator, or digits that read as (00)/(01)/(02) with a valid check digit and more."""
    value = scanned or ""
    if value.startswith(SYMBOLOGY_IDS) or GS in value:
        return True
    if BRACKETED.match(value):
        return True
    if value[:2] == "00" and len(value) == 20 and value[2:].isdigit():
        return has_valid_check_digit(value[2:20])
    if value[:2] in ("01", "02") and len(value) > 16 and value[2:16].isdigit():
        return has_valid_check_digit(value[2:16])
    return False


def gs1_date(value: str, *, today: dt.date | None = None) -> dt.date:
    """YYMMDD with GS1's century rule (within 49 years back and 50 ahead of today); day 00 is the month's end."""
    if len(value) != 6 or not value.isdigit():
        raise GS1Error(f"{value!r} is not a date YYMMDD.")
    today = today or dt.date.today()
    yy, month, day = int(value[:2]), int(value[2:4]), int(value[4:])
    century = today.year // 100 * 100
    year = century + yy
    if year - today.year > 50:
        year -= 100
    elif today.year - year > 49:
        year += 100
    if not 1 <= month <= 12:
        raise GS1Error(f"{value}: month {month:02d} does not exist.")
    if day == 0:
        following = dt.date(year + (month == 12), month % 12 + 1, 1)
        return following - dt.timedelta(days=1)
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise GS1Error(f"{value}: {year}-{month:02d}-{day:02d} does not exist.")


def _split_raw(data: str) -> list[tuple[str, str]]:
    elements = []
    pos = 0
    while pos < len(data):
        if data[pos] == GS:
            pos += 1
            continue
        ai_code = next((data[pos : pos + n] for n in (2, 3, 4) if data[pos : pos + n] in AIS), None)
        if ai_code is None:
            raise GS1Error(f"Unknown or unsupported application identifier at {data[pos : pos + 4]!r}.")
        ai = AIS[ai_code]
        start = pos + len(ai_code)
        if ai.fixed:
            end = start + ai.length
            if end > len(data):
                raise GS1Error(f"({ai_code}) {ai.title} needs {ai.length} characters.")
        else:
            sep = data.find(GS, start)
            end = len(data) if sep == -1 else sep
        elements.append((ai_code, data[start:end]))
        pos = end
        if ai.fixed and ai_code not in PREDEFINED_LENGTH and pos < len(data) and data[pos] == GS:
            pos += 1
    return elements


def parse(scanned: str, *, today: dt.date | None = None) -> GS1Label:
    """Parse a GS1 element string (either form), validating lengths, digits, check digits and dates."""
    data = (scanned or "").strip()
    for prefix in SYMBOLOGY_IDS:
        if data.startswith(prefix):
            data = data[len(prefix) :]
            break
    if not data:
        raise GS1Error("Nothing scanned.")
    if data.startswith("("):
        elements = BRACKETED.findall(data)
        if "".join(f"({a}){v}" for a, v in elements) != data:
            raise GS1Error("Brackets do not pair up: write the label as (AI)value(AI)value.")
    else:
        elements = _split_raw(data)
    values: dict = {"extra": {}}
    seen = set()
    for ai_code, value in elements:
        ai = AIS.get(ai_code)
        if ai is None:
            raise GS1Error(f"Application identifier ({ai_code}) is not supported.")
        if ai_code in seen:
            raise GS1Error(f"({ai_code}) appears twice.")
        seen.add(ai_code)
        label = f"({ai_code}) {ai.title}"
        if not value:
            raise GS1Error(f"{label} is empty.")
        if ai.fixed and len(value) != ai.length:
            raise GS1Error(f"{label} has {ai.length} characters, not {len(value)}.")
        if len(value) > ai.length:
            raise GS1Error(f"{label} has at most {ai.length} characters.")
        if ai.kind in ("gtin", "sscc", "date", "count") and not value.isdigit():
            raise GS1Error(f"{label} is digits only: {value!r}.")
        if ai.kind == "text" and not CSET82.match(value):
            raise GS1Error(f"{label} has a character GS1 does not allow: {value!r}.")
        if ai.kind in ("gtin", "sscc") and not has_valid_check_digit(value):
            raise GS1Error(f"{label} {value}: the check digit is wrong.")
        if ai_code == "00":
            values["sscc"] = value
        elif ai_code == "01":
            values["gtin"] = value
        elif ai_code == "02":
            values["content_gtin"] = value
        elif ai_code == "10":
            values["lot"] = value
        elif ai_code == "21":
            values["serial"] = value
        elif ai_code == "17":
            values["expiry"] = gs1_date(value, today=today)
        elif ai_code == "15":
            values["best_before"] = gs1_date(value, today=today)
        elif ai_code == "11":
            values["production_date"] = gs1_date(value, today=today)
        elif ai_code in ("30", "37"):
            values["count"] = int(value)
    return GS1Label(elements=tuple(elements), **values)


def element_string(elements: list[tuple[str, str]], *, separator: str = GS) -> str:
    """Encode (AI, value) pairs as scanner data: ``separator`` (FNC1) after each variable-length field but the
    last. For ZPL's ^BC the caller passes its own FNC1 escape."""
    out = []
    for index, (ai_code, value) in enumerate(elements):
        out.append(ai_code + value)
        last = index == len(elements) - 1
        if not last and ai_code[:2] not in PREDEFINED_LENGTH:
            out.append(separator)
    return "".join(out)
