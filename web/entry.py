"""The forms of the document entry pages (sales orders, transfers): a header form and one form per line row.

The line rows are added in the browser (htmx "Add line" asks for a row with the next index), so they are not a
Django formset with a fixed management form: each row is a :class:`LineForm` whose fields are named
``<field>-<row>`` (``item-0``, ``quantity-0`` ...). :func:`line_forms` finds the rows the browser posted.

The forms only read what was typed (text, dates, whole numbers); every business rule — an item that exists, a
whole number of base units, a promise date not in the past, credit — is the service's, whose refusal
:func:`attach_refusal` puts on the row and field it names (``lines[2].quantity`` -> row 2's quantity), so the page
and the API give the same messages.
"""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.errors import DomainError
from core.validation import MAX_QUANTITY

from .workspace import field_errors

#: the most rows an entry page takes (the API takes the same number of lines)
MAX_ROWS = 500


class LineForm(forms.Form):
    """One line row: its fields are posted as ``<field>-<row>``; blank rows are skipped."""

    def add_prefix(self, field_name: str) -> str:
        return f"{field_name}-{self.prefix}" if self.prefix is not None else field_name

    @property
    def row(self) -> int:
        return int(self.prefix)

    def is_blank(self) -> bool:
        return not any((self.data.get(self.add_prefix(name)) or "").strip() for name in self.fields)

    def as_row(self) -> dict:
        """What the row's template reads: its number, the values as typed and the errors by field."""
        row = {"row": self.row, **{name: (self[name].value() or "").strip() for name in self.fields}}
        if self.is_bound and self.errors:
            row["errors"] = {name: list(msgs) for name, msgs in self.errors.items()}
        return row

    def service_line(self) -> dict:
        """The row as the service's line input: the typed text, optional fields left out when blank."""
        data = self.cleaned_data
        line = {name: data[name] for name in self.required_in_service}
        line.update({name: data[name] for name in self.fields if name not in line and data.get(name)})
        return line

    required_in_service: tuple[str, ...] = ("item", "quantity")


def _text(**kwargs) -> forms.CharField:
    return forms.CharField(required=False, max_length=200, **kwargs)


class OrderLineForm(LineForm):
    item = _text()
    quantity = _text()
    unit = _text()
    unit_price = _text()


class TransferLineForm(LineForm):
    item = _text()
    quantity = _text()
    unit = _text()


def line_forms(form_class: type[LineForm], data, *, minimum: int = 0) -> list[LineForm]:
    """The rows ``data`` holds (by the numbers in its ``<field>-<row>`` keys, in row order), at least ``minimum``
    of them (rows 0.. when fewer were posted), each bound to ``data``."""
    names = tuple(form_class.base_fields)
    rows: set[int] = set()
    for key in data:
        name, _, number = key.rpartition("-")
        if name in names and number.isdigit() and int(number) < MAX_ROWS:
            rows.add(int(number))
    rows |= set(range(minimum))
    return [form_class(data, prefix=str(n)) for n in sorted(rows)]


def attach_refusal(exc: DomainError, filled: list[LineForm], header: forms.Form) -> None:
    """Put a service's refusal on the forms: ``lines[i].<field>`` on the i-th non-blank row (its ``item`` when the
    field is not one of the row's), ``lines``/``lines[i]`` on row i's item or the header's ``lines``, the rest on
    the header field it names (or the form as a whole)."""
    for name, messages in field_errors(exc).items():
        row, field = _line_target(name, filled)
        for message in messages:
            if row is not None:
                row.add_error(field, message)
            elif name in header.fields:
                header.add_error(name, message)
            else:
                header.add_error(None, message)


def line_path(name: str) -> tuple[int, str] | None:
    """``lines[2].quantity`` -> (2, "quantity"); ``lines[2]`` -> (2, ""); anything else -> None."""
    if not name.startswith("lines["):
        return None
    index_text, _, rest = name[len("lines[") :].partition("]")
    if not index_text.isdigit():
        return None
    return int(index_text), rest.removeprefix(".").split(".")[0].split("[")[0]


def _line_target(name: str, filled: list[LineForm]) -> tuple[LineForm | None, str]:
    path = line_path(name)
    if path is None or path[0] >= len(filled):
        return None, ""
    form = filled[path[0]]
    return form, path[1] if path[1] in form.fields else "item"


class OrderHeaderForm(forms.Form):
    """The order header as typed: the customer and ship-from by code (the service resolves and checks them)."""

    customer = forms.CharField(required=False, max_length=50)  # blank: the service says so with the rest
    promised_date = forms.DateField(required=False, error_messages={"invalid": "Give a date (YYYY-MM-DD)."})
    priority = forms.IntegerField(required=False, error_messages={"invalid": "Give the priority as a whole number."})
    ship_from = forms.CharField(required=False, max_length=50)
    customer_reference = forms.CharField(required=False, max_length=100)
    ship_to_address = forms.CharField(required=False, max_length=1000)
    channel = forms.CharField(required=False, max_length=20)
    version = forms.IntegerField(required=False, min_value=0)

    def values(self) -> dict:
        """The header as typed, for the page to show again."""
        return {name: (self[name].value() or "") for name in self.fields}


class TransferForm(forms.Form):
    """A new transfer's header: a destination other than the source site, a priority 1-5 (as the API's)."""

    to_site = forms.ModelChoiceField(
        queryset=None,
        to_field_name="code",
        error_messages={"required": "No such site.", "invalid_choice": "No such site."},
    )
    priority = forms.IntegerField(
        min_value=1,
        max_value=5,
        error_messages={
            "required": "Give a priority from 1 to 5.",
            "invalid": "Give a priority from 1 to 5.",
            "min_value": "Give a priority from 1 to 5.",
            "max_value": "Give a priority from 1 to 5.",
        },
    )
    reason = forms.CharField(required=False, max_length=300)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_site"].queryset = sites

    def values(self) -> dict:
        return {name: (self[name].value() or "") for name in self.fields}


class TransferReceiveForm(forms.Form):
    """What arrived of each line of a shipped transfer, in base units: good (``quantity-<line>``) and damaged
    (``damaged-<line>``) units, blank meaning 0. The form reads whole numbers; how many may arrive (at most what
    was shipped) is ``receive_transfer``'s rule, refused in its words on the line it names."""

    def __init__(self, data, *, lines, **kwargs):
        super().__init__(data, **kwargs)
        self.lines = list(lines)
        for line in self.lines:
            sku, n = line.item.sku, line.line_number
            self.fields[f"quantity-{n}"] = _units(f"Good units of {sku}")
            self.fields[f"damaged-{n}"] = _units(f"Damaged units of {sku}")

    def service_lines(self) -> list[dict]:
        data = self.cleaned_data
        return [
            {
                "item": line.item.sku,
                "quantity": data[f"quantity-{line.line_number}"] or 0,
                "damaged_quantity": data[f"damaged-{line.line_number}"] or 0,
            }
            for line in self.lines
        ]

    def values(self) -> dict[str, str]:
        """What was typed, by field name, for the page to show again."""
        return {name: str(self[name].value() or "").strip() for name in self.fields}

    def line_errors(self) -> dict:
        """line index -> the messages of its fields; None -> messages of no line."""
        out: dict = {}
        names = {}
        for index, line in enumerate(self.lines):
            names[f"quantity-{line.line_number}"] = names[f"damaged-{line.line_number}"] = index
        for name, msgs in self.errors.items():
            out.setdefault(names.get(name), []).extend(msgs)
        return out


def _units(label: str) -> forms.IntegerField:
    message = f"{label}: give a whole number, 0 or more."
    return forms.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_QUANTITY,
        label=label,
        error_messages={
            "invalid": message,
            "min_value": message,
            "max_value": f"{label}: at most {MAX_QUANTITY:,}.",
        },
    )


class WavePlanForm(forms.Form):
    """What the supervisor narrows a wave to (all optional; the service plans from the allocated orders). A ship-by
    cutoff typed without a zone is in the site's time zone."""

    max_orders = forms.IntegerField(required=False, error_messages={"invalid": "Max orders: give a whole number."})
    max_priority = forms.IntegerField(
        required=False, error_messages={"invalid": "Priority up to: give a whole number."}
    )
    carrier = forms.CharField(required=False, max_length=20)
    route = forms.CharField(required=False, max_length=20)
    promised_by = forms.DateField(required=False, error_messages={"invalid": "Promised by: give a date (YYYY-MM-DD)."})
    cutoff_before = forms.CharField(required=False, max_length=40)

    def __init__(self, *args, zone, **kwargs):
        super().__init__(*args, **kwargs)
        self.zone = zone

    def clean_cutoff_before(self):
        raw = self.cleaned_data["cutoff_before"]
        if not raw:
            return None
        try:
            moment = parse_datetime(raw)
        except ValueError:
            moment = None
        if moment is None:
            raise forms.ValidationError("Ship-by cutoff before: give a date and time.")
        return timezone.make_aware(moment, self.zone) if timezone.is_naive(moment) else moment
