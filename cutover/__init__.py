"""Cutover: bringing a site's legacy data onto the system (issue 13, "Cutover import").

Import batches of items, locations and zones, customers, suppliers, site rule overrides, putaway rules,
replenishment policies (and pick-face min/max), opening balances and in-flight documents (open purchase orders,
open sales orders with their allocations, transfers in transit) are uploaded (CSV, XLSX or JSON rows), dry-run
validated through the same services and rules as live work (every error at once, nothing written), posted after one
approval per batch (kind ``CUTOVER_BATCH``, decided by someone other than the requester) in one transaction through
the owners' services (opening balances and stock in transit through the inventory ledger with move kind
``OPENING``), once, and reconciled against the legacy control totals.

Layering: this app calls services of governance, inventory, orders (customers, suppliers, purchase and sales
orders, allocations, replenishment policies) and warehouse (putaway rules, transfers in transit), so it sits
between warehouse and reporting in the one-way order
``governance <- inventory <- orders <- warehouse <- cutover <- reporting`` (tests/test_layers.py). It writes only its
own tables (import batches, their errors, imported documents, reconciliations); every other row is written by its
owner's service. This diverges from ARCHITECTURE.md's list of layers, which does not know this app yet.
"""
