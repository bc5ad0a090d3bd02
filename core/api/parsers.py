"""The API's JSON parser: DRF's, refusing bodies the rest of the stack cannot handle (issue 12, finding 6).

- nesting deeper than ``API_MAX_JSON_DEPTH`` (default 32) levels: Python's decoder (and everything that walks
  the data afterwards: serializers, the idempotency fingerprint) recurses, a few thousand levels raised
  RecursionError, a 500;
- a lone UTF-16 surrogate (``"\\ud800"``) in a string or a key: valid JSON, but not text; it cannot be encoded as
  UTF-8 and raised UnicodeEncodeError when it reached the database. A proper pair (``"\\ud83d\\udce6"``)
  decodes to one character and is fine.

Both are a 400 ``parse_error`` problem before any view code runs.
"""

from __future__ import annotations

import re

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


def max_json_depth() -> int:
    return int(getattr(settings, "API_MAX_JSON_DEPTH", MAX_JSON_DEPTH))


def check_json(data, *, max_depth: int) -> None:
    """Raise ParseError when ``data`` nests deeper than ``max_depth`` or holds a lone surrogate (iterative walk)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise ParseError("JSON parse error - a string holds a lone surrogate (e.g. \\ud800): not text.")
        elif isinstance(value, dict | list):
            if depth > max_depth:
                raise ParseError(f"JSON parse error - nested deeper than {max_depth} levels.")
            if isinstance(value, dict):
                stack.extend((key, depth) for key in value)
                stack.extend((item, depth + 1) for item in value.values())
            else:
                stack.extend((item, depth + 1) for item in value)


class SafeJSONParser(JSONParser):
    """DRF's JSONParser with bounded nesting and no lone surrogates."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = max_json_depth()
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {limit} levels.") from None
        check_json(data, max_depth=limit)
        return data
