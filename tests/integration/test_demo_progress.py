"""Issue 15: load_demo says what it is doing, one line per step, without -v 2 (and nothing of it with -v 0)."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

STEPS = ("groups", "users", "sites", "memberships", "zones and bins", "items", "opening balances", "activity")


def test_load_demo_prints_each_step_as_it_goes(settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("load_demo", "--small", stdout=out)
    printed = out.getvalue()
    for step in STEPS:
        assert re.search(rf"^\s+(\[\d+/\d+\] )?{step}: .*\d+\.\ds$", printed, re.M), (step, printed)
    assert "demo data ready in" in printed

    quiet = StringIO()
    call_command("load_demo", "--small", "-v", "0", stdout=quiet)
    assert "opening balances:" not in quiet.getvalue() and "nothing changed" in quiet.getvalue()
