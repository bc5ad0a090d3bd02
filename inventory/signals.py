"""Signals the inventory app sends; higher apps connect receivers in their AppConfig.ready()."""

from django.dispatch import Signal

#: sent INSIDE the posting transaction when AVAILABLE stock increased (kwargs: site_id, item_ids). Orders writes an
#: outbox row (governance.services.outbox) to fill backorders after commit.
stock_available = Signal()

#: sent after commit when a count or short pick found a variance (kwargs: site_id, location_id, item_id).
variance_found = Signal()

#: sent INSIDE the counting transaction when every line of a location in a cycle count has been counted
#: (kwargs: site_id, location_id, count_id, counted_at). Warehouse closes the location's count requests.
location_counted = Signal()

#: sent when a scan is refused where only a lower app knows it (the API's barcode reading of count entries and
#: task confirmations): kwargs site_id, user, process (a warehouse FloorEvent process), field, code, expected,
#: scanned, detail, task_id, task_ref. Warehouse records it as an adoption event (warehouse.services.floor).
scan_refused = Signal()

#: sent with a confirmation that skipped a scan its step asks for (a count entered through the API by line, without
#: the location scan the count screen asks for): the kwargs of ``scan_refused``. Sent inside the confirming
#: transaction; warehouse records it as a SKIPPED_SCAN adoption event.
scan_skipped = Signal()
