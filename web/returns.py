"""Returns in the browser: the forms of the authorize page (an RMA against an order's shipped lines) and of the
receive / inspect page (what came back of each line, in parts when a line is split between dispositions), and
turning them into the ``lines`` that ``orders.services.returns.create_return`` and
``warehouse.services.returns.receive_return`` take (the same the API sends).

Nothing here decides a returns rule: what may be returned, what may be restocked, lots and quantities are the
services' to check, and their refusals are shown in their words on the rows they name."""

from __future__ import annotations

import re

from django import forms

from core.errors import DomainError
from orders.models import ReturnLine

from .workspace import field_errors

_LINE_ERROR = re.compile(r"^lines\[(\d+)\]\.(\w+)$")
MAX_QUANTITY = 1_000_000_000
#: rows per return line on the receive page: the line, then parts for a split; ``?parts=`` asks for more
DEFAULT_PARTS, MAX_PARTS = 2, 5


def _blank(label: str, choices) -> list[tuple[str, str]]:
    return [("", label), *choices]


# --- authorize ------------------------------------------------------------------------------------------------


class AuthorizeLineForm(forms.Form):
    """One shipped order line: how many units (base units) the customer may send back, and why."""

    line = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY, required=False)
    reason = forms.ChoiceField(choices=_blank("Reason…", ReturnLine.Reason.choices), required=False)

    def clean(self):
        data = super().clean()
        if data.get("quantity") and not data.get("reason"):
            self.add_error("reason", "Give the reason for the return.")
        return data


AuthorizeLineFormSet = forms.formset_factory(AuthorizeLineForm, extra=0, max_num=200, absolute_max=200)


class AuthorizeHeaderForm(forms.Form):
    note = forms.CharField(max_length=2000, required=False)


def authorize_lines(formset, order_lines: dict[int, object]) -> tuple[list[dict], list[int]]:
    """The formset's rows with a quantity, as ``create_return`` lines, and the index of the form each came from.
    ``order_lines``: the order's shipped lines by line number (a row naming another line is an error on it)."""
    lines, rows = [], []
    for index, form in enumerate(formset.forms):
        data = form.cleaned_data
        if not data.get("quantity"):
            continue
        line = order_lines.get(data["line"])
        if line is None:
            form.add_error(None, "Not a shipped line of the order.")
            continue
        lines.append({"line": line, "quantity": data["quantity"], "reason": data["reason"]})
        rows.append(index)
    return lines, rows


class ReturnOrderForm(forms.Form):
    """The shipped order a return is authorized against, by number (posted with the lines, or in the address
    when it is chosen from the list)."""

    order = forms.CharField(required=False, max_length=40)

    def number(self) -> str | None:
        """The number asked for; "" when none was; None when what was given cannot be an order number."""
        return self.cleaned_data["order"] if self.is_valid() else None


# --- receive / inspect ----------------------------------------------------------------------------------------


class ReturnPartsForm(forms.Form):
    """How many rows per return line the receive page draws (``?parts=``, kept when it is posted): 1 to
    ``MAX_PARTS``, ``DEFAULT_PARTS`` when not given or not a number."""

    parts = forms.IntegerField(required=False)

    def parts_count(self) -> int:
        wanted = self.cleaned_data.get("parts") if self.is_valid() else None
        return min(max(wanted or DEFAULT_PARTS, 1), MAX_PARTS)


class ReceivePartForm(forms.Form):
    """One part of what came back of a return line: units, their inspection and disposition, lot and note."""

    line = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY, required=False)
    inspection = forms.ChoiceField(choices=ReturnLine.Inspection.choices, required=False)
    disposition = forms.ChoiceField(choices=_blank("Disposition…", ReturnLine.Disposition.choices), required=False)
    lot = forms.CharField(max_length=60, required=False)
    note = forms.CharField(max_length=300, required=False)

    def service_line(self, lines: dict[int, ReturnLine]) -> dict | None:
        """The part for ``receive_return``; None for a row left empty (nothing of it came back)."""
        data = self.cleaned_data
        if not data.get("quantity"):
            return None
        line = lines.get(data["line"])
        if line is None:
            self.add_error(None, "Not a line of the return.")
            return None
        return {
            "line": line,
            "quantity": data["quantity"],
            "inspection": data.get("inspection") or ReturnLine.Inspection.NOT_INSPECTED,
            "disposition": data.get("disposition") or None,
            "lot": (data.get("lot") or "").strip(),
            "note": (data.get("note") or "").strip(),
        }


ReceivePartFormSet = forms.formset_factory(ReceivePartForm, extra=0, max_num=1000, absolute_max=1000)


class ReceiveReturnForm(forms.Form):
    arrived_at = forms.DateTimeField(
        required=False,
        label="Arrived at the dock",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )


def receive_rows(lines: list[ReturnLine], parts: int) -> list[dict]:
    """The receive form's rows: per return line ``parts`` rows, the first with the authorized units (inspected
    good, no disposition yet), the others empty for a split. Each row: the form's initial values, its line, and
    whether it is the line's first row."""
    rows = []
    for line in lines:
        for index in range(parts):
            initial = {"line": line.line_number, "inspection": ReturnLine.Inspection.GOOD}
            if index == 0:
                initial["quantity"] = line.quantity
            rows.append({"initial": initial, "line": line, "first": index == 0, "part": index + 1})
    return rows


def receive_lines(formset, lines: dict[int, ReturnLine]) -> tuple[list[dict], list[int]]:
    """The formset's parts for ``receive_return`` and the index of the form each came from."""
    out, rows = [], []
    for index, form in enumerate(formset.forms):
        part = form.service_line(lines)
        if part is not None:
            out.append(part)
            rows.append(index)
    return out, rows


def refusal_to_rows(exc: DomainError, forms_by_line: list, fields: dict[str, str]) -> list[str]:
    """Put a service refusal's ``lines[i].field`` errors on the form row ``i`` came from (``fields``: the
    service's field names -> the form's); return the messages that name no row (shown above the form)."""
    general: list[str] = []
    for name, msgs in field_errors(exc).items():
        match = _LINE_ERROR.match(name)
        if match and int(match.group(1)) < len(forms_by_line):
            form = forms_by_line[int(match.group(1))]
            field = fields.get(match.group(2))
            for msg in msgs:
                form.add_error(field if field in form.fields else None, msg)
        else:
            general.extend(msgs)
    return general


AUTHORIZE_FIELDS = {"item": "quantity", "quantity": "quantity", "reason": "reason"}
RECEIVE_FIELDS = {
    "line": "quantity",
    "quantity": "quantity",
    "inspection": "inspection",
    "disposition": "disposition",
    "lot": "lot",
}
