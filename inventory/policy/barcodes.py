"""GTIN and SSCC check digits (the GS1 mod-10 algorithm), pure functions without Django.

GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13) and GTIN-14 are the same number padded with leading zeros to 14
digits; the store keeps the GTIN-14 form so that an EAN-13 and the UPC-A it contains are one code."""

from __future__ import annotations

from dataclasses import dataclass

GTIN_LENGTHS = (8, 12, 13, 14)
SSCC_LENGTH = 18


def check_digit(body: str) -> int:
    """The GS1 check digit of ``body`` (all digits but the last): from the right, weights 3, 1, 3, 1 ..."""
    if not body or not body.isdigit():
        raise ValueError("a GS1 number is made of digits")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def with_check_digit(body: str) -> str:
    return body + str(check_digit(body))


def has_valid_check_digit(number: str) -> bool:
    return len(number) >= 2 and number.isdigit() and check_digit(number[:-1]) == int(number[-1])


@dataclass(frozen=True)
class GtinResult:
    gtin14: str = ""
    error: str = ""
    code: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def clean_gtin(raw: str) -> GtinResult:
    """Validate a GTIN-8/12/13/14 and give it as GTIN-14, or say what is wrong with it."""
    value = "".join((raw or "").split())
    if not value:
        return GtinResult(error="Give the barcode's digits.", code="required")
    if not value.isdigit():
        return GtinResult(error=f"{value!r} is not a GTIN: a GTIN has digits only.", code="not_digits")
    if len(value) not in GTIN_LENGTHS:
        return GtinResult(error=f"A GTIN has 8, 12, 13 or 14 digits; {value} has {len(value)}.", code="invalid_length")
    if not has_valid_check_digit(value):
        expected = check_digit(value[:-1])
        return GtinResult(
            error=f"Check digit of {value} is wrong: the last digit should be {expected}.", code="bad_check_digit"
        )
    gtin14 = value.zfill(14)
    if set(gtin14[:-1]) == {"0"}:
        return GtinResult(error="A GTIN of zeros is not a GTIN.", code="invalid")
    return GtinResult(gtin14=gtin14)


def display_gtin(gtin14: str) -> str:
    """The shortest standard form: GTIN-13 (EAN) or GTIN-12 (UPC) or GTIN-8 when the leading digits are zero."""
    if gtin14.startswith("000000"):
        return gtin14[6:]
    if gtin14.startswith("00"):
        return gtin14[2:]
    if gtin14.startswith("0"):
        return gtin14[1:]
    return gtin14


def sscc(*, extension_digit: int, company_prefix: str, serial: int) -> str:
    """The 18-digit SSCC: extension digit, GS1 company prefix, serial reference (zero padded), check digit."""
    if not 0 <= extension_digit <= 9:
        raise ValueError("the extension digit is 0 to 9")
    if not company_prefix.isdigit() or not 6 <= len(company_prefix) <= 12:
        raise ValueError("a GS1 company prefix has 6 to 12 digits")
    room = SSCC_LENGTH - 2 - len(company_prefix)
    if serial < 0 or serial >= 10**room:
        raise ValueError(f"the serial reference has {room} digits with this company prefix; {serial} does not fit")
    return with_check_digit(f"{extension_digit}{company_prefix}{serial:0{room}d}")
