"""python manage.py import_batch: upload, dry run with every error printed, --post asks for the approval."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from cutover.models import ImportBatch
from inventory.models import StockMove

from .conftest import csv_of

pytestmark = pytest.mark.django_db


def test_the_command_prints_every_error_and_refuses(tmp_path, site, lead, bins, goods, capsys):
    path = tmp_path / "ob.csv"
    path.write_bytes(csv_of("location,sku,quantity", "A-1,GHOST,1", "NOPE,WIDGET,2"))
    with pytest.raises(CommandError, match="has errors"):
        call_command("import_batch", "opening_balances", str(path), site="DC1", user=lead.username)
    out = capsys.readouterr().out
    assert "row 2 sku [does_not_exist]" in out and "row 3 location [does_not_exist]" in out
    assert ImportBatch.objects.get().status == "INVALID" and not StockMove.objects.exists()


def test_the_command_with_post_asks_for_the_approval(tmp_path, site, lead, bins, goods, capsys):
    path = tmp_path / "ob.csv"
    path.write_bytes(csv_of("location,sku,quantity", "A-1,WIDGET,3"))
    call_command("import_batch", "opening_balances", str(path), site="DC1", user=lead.username, post=True)
    assert "waiting for approval" in capsys.readouterr().out
    batch = ImportBatch.objects.get()
    assert batch.status == "AWAITING_APPROVAL" and batch.approval.kind == "CUTOVER_BATCH"
    assert not StockMove.objects.exists()
    with pytest.raises(CommandError, match="No site"):
        call_command("import_batch", "items", str(path), site="NOPE", user=lead.username)
