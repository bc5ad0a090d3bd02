"""Site reorder planning, set-based: the policies of one site are read in batches (keyset by item), and each
batch costs a fixed handful of queries, whatever its size:

1. the site's policies with their stock level, supplier and item cost;
2. open purchase order quantities at the site;
3. open transfer quantities in and out, per item and site;
4. backordered quantities per item and site;
5. daily shipped units (SHIP moves) over the demand window at the site: their sum and sum of squares;
6. the last supplier of items whose policy names none;
then, only for the items at or below their reorder point:
7. the other sites' policies and free stock for them (possible transfer sources), the units already promised
   to other sites' open transfer suggestions, and those sites' demand (for their own order-up-to levels);
8. one INSERT .. ON CONFLICT that creates or updates the open suggestions.

Memory holds one batch at a time. A run never duplicates an open suggestion: there is at most one open
suggestion per site, item, kind and source (a unique index), and a later run updates it in place; open
suggestions the run did not renew are superseded at the end. Runs of one site are serialised by an advisory
lock held for the length of the planning transaction.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from governance.models import Site
from governance.services import get_rule
from orders.models import PurchaseOrder, ReplenishmentRun, SalesOrder, TransferOrder
from orders.policy import replenishment as policy

#: the first key of the advisory lock that serialises the planning runs of one site
LOCK_NAMESPACE = 0x5E91
DEFAULT_BATCH = 2000

_POLICIES_SQL = """
SELECT p.item_id, i.sku, i.standard_cost, p.method, p.min_quantity, p.max_quantity, p.service_level,
       p.review_days, p.lead_time_days, p.pack_multiple, p.min_order_quantity,
       CASE WHEN sup.active THEN p.supplier_id END, sup.code, sup.lead_time_days,
       COALESCE(sl.available, 0), COALESCE(sl.allocated, 0)
FROM orders_replenishmentpolicy p
JOIN inventory_item i ON i.id = p.item_id
LEFT JOIN orders_supplier sup ON sup.id = p.supplier_id
LEFT JOIN inventory_stocklevel sl ON sl.item_id = p.item_id AND sl.site_id = p.site_id
WHERE p.site_id = %s AND p.active AND i.active AND p.item_id > %s
ORDER BY p.item_id
LIMIT %s
"""

_OPEN_PO_SQL = """
SELECT l.item_id, SUM(GREATEST(l.quantity - l.received_quantity - l.rejected_quantity, 0))
FROM orders_purchaseorderline l
JOIN orders_purchaseorder o ON o.id = l.purchase_order_id
WHERE o.site_id = %s AND o.status = ANY(%s) AND l.item_id = ANY(%s::bigint[])
GROUP BY l.item_id
"""

_TRANSFERS_SQL = """
SELECT tl.item_id, t.from_site_id, t.to_site_id, t.status, SUM(tl.quantity), SUM(tl.shipped_quantity)
FROM orders_transferorderline tl
JOIN orders_transferorder t ON t.id = tl.transfer_id
WHERE t.status = ANY(%s) AND tl.item_id = ANY(%s::bigint[])
GROUP BY tl.item_id, t.from_site_id, t.to_site_id, t.status
"""

_BACKORDERS_SQL = """
SELECT l.item_id, o.site_id, SUM(l.backordered_quantity)
FROM orders_salesorderline l
JOIN orders_salesorder o ON o.id = l.order_id
WHERE l.item_id = ANY(%s::bigint[]) AND l.backordered_quantity > 0 AND o.status = ANY(%s)
GROUP BY l.item_id, o.site_id
"""

# Days are the site's local days; the window is the ``days`` full days before today (site time). Each site's
# window bounds are computed once (not per move), so the ledger rows are only compared with two timestamps.
_DEMAND_SQL = """
WITH w AS (
    SELECT l.id AS location_id, s.id AS site_id, s.timezone AS tz,
           ((%(now)s AT TIME ZONE s.timezone)::date - %(days)s)::timestamp AT TIME ZONE s.timezone AS since,
           ((%(now)s AT TIME ZONE s.timezone)::date)::timestamp AT TIME ZONE s.timezone AS until
    FROM governance_site s
    JOIN inventory_location l ON l.site_id = s.id
    WHERE s.id = ANY(%(sites)s::bigint[])
), daily AS (
    SELECT m.item_id, w.site_id, (m.created_at AT TIME ZONE w.tz)::date AS day, SUM(m.quantity) AS qty
    FROM inventory_stockmove m
    JOIN w ON w.location_id = m.from_location_id
    WHERE m.kind = 'SHIP' AND m.item_id = ANY(%(items)s::bigint[]) AND m.created_at >= %(since)s
      AND m.created_at >= w.since AND m.created_at < w.until
    GROUP BY 1, 2, 3
)
SELECT item_id, site_id, SUM(qty), SUM(qty * qty) FROM daily GROUP BY item_id, site_id
"""

_SOURCES_SQL = """
SELECT p.item_id, p.site_id, s.code, s.region, p.method, p.min_quantity, p.max_quantity, p.service_level,
       p.review_days, COALESCE(p.lead_time_days, sup.lead_time_days, 0), sl.available - sl.allocated
FROM orders_replenishmentpolicy p
JOIN governance_site s ON s.id = p.site_id AND s.active
JOIN inventory_stocklevel sl ON sl.item_id = p.item_id AND sl.site_id = p.site_id AND sl.available > sl.allocated
LEFT JOIN orders_supplier sup ON sup.id = p.supplier_id
WHERE p.item_id = ANY(%s::bigint[]) AND p.site_id <> %s AND p.active
"""

_PROMISED_SQL = """
SELECT item_id, source_site_id, SUM(quantity)
FROM orders_replenishmentsuggestion
WHERE status = 'OPEN' AND kind = 'TRANSFER' AND item_id = ANY(%s::bigint[]) AND site_id <> %s
GROUP BY item_id, source_site_id
"""

_LAST_SUPPLIER_SQL = """
SELECT DISTINCT ON (l.item_id) l.item_id, o.supplier_id, sup.code, sup.lead_time_days
FROM orders_purchaseorderline l
JOIN orders_purchaseorder o ON o.id = l.purchase_order_id
JOIN orders_supplier sup ON sup.id = o.supplier_id AND sup.active
WHERE l.item_id = ANY(%s::bigint[]) AND o.status <> 'CANCELLED'
ORDER BY l.item_id, (o.site_id = %s) DESC, o.created_at DESC, o.id DESC
"""

# The rows come as one JSON array (one parameter, parsed by PostgreSQL), not as many arrays.
_UPSERT_SQL = """
INSERT INTO orders_replenishmentsuggestion
    (run_id, site_id, item_id, kind, quantity, source_site_id, supplier_id, unit_cost, value, reason, status,
     auto_accepted, decision_note, created_at, updated_at)
SELECT %s, %s, v.item_id, v.kind, v.quantity, v.source_site_id, v.supplier_id, v.unit_cost, v.value, v.reason,
       'OPEN', false, '', %s, %s
FROM jsonb_to_recordset(%s::jsonb) AS v(item_id bigint, kind text, quantity bigint, source_site_id bigint,
                                        supplier_id bigint, unit_cost numeric, value numeric, reason jsonb)
ON CONFLICT (site_id, item_id, kind, source_site_id) WHERE status = 'OPEN'
DO UPDATE SET run_id = EXCLUDED.run_id, quantity = EXCLUDED.quantity, supplier_id = EXCLUDED.supplier_id,
              unit_cost = EXCLUDED.unit_cost, value = EXCLUDED.value, reason = EXCLUDED.reason,
              updated_at = EXCLUDED.updated_at
RETURNING (xmax = 0)
"""

_SUPERSEDE_SQL = """
UPDATE orders_replenishmentsuggestion SET status = 'SUPERSEDED', updated_at = %s
WHERE site_id = %s AND status = 'OPEN' AND run_id <> %s
"""

_ENGINE_STATUSES = [str(s) for s in SalesOrder.ENGINE]
_RECEIVABLE = [str(s) for s in PurchaseOrder.RECEIVABLE]
_OPEN_TRANSFER = [
    TransferOrder.Status.PENDING_APPROVAL,
    TransferOrder.Status.APPROVED,
    TransferOrder.Status.PICKING,
    TransferOrder.Status.SHIPPED,
]
_NOT_SHIPPED = (TransferOrder.Status.PENDING_APPROVAL, TransferOrder.Status.APPROVED)


def _terms(method, min_q, max_q, service_level, review_days, lead_time_days, pack=1, moq=0) -> policy.PolicyTerms:
    return policy.PolicyTerms(
        method=method,
        min_quantity=int(min_q),
        max_quantity=int(max_q),
        service_level=Decimal(service_level),
        review_days=int(review_days),
        lead_time_days=int(lead_time_days or 0),
        pack_multiple=int(pack or 1),
        min_order_quantity=int(moq or 0),
    )


def _id_array(ids) -> str:
    """Ids as one PostgreSQL array literal (cast with ``::bigint[]``): cheaper to send than a list parameter."""
    return "{" + ",".join(str(int(i)) for i in ids) + "}"


def _rows(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _demand(items: str, site_ids: list[int], now: datetime, window_days: int) -> dict[tuple[int, int], policy.Demand]:
    rows = _rows(
        _DEMAND_SQL,
        {
            "items": items,
            "sites": _id_array(site_ids),
            "since": now - timedelta(days=window_days + 2),
            "now": now,
            "days": window_days,
        },
    )
    return {(i, s): policy.Demand(window_days, int(total), int(squares)) for i, s, total, squares in rows}


def _plan_batch(*, site: Site, rows: list[tuple], now: datetime, window_days: int) -> tuple[list[dict], dict]:
    """Plan one batch of the site's policies: the suggestion rows to upsert and the batch's counts.

    Two phases of set-based reads: first what every item of the batch needs at this site; then, for the items
    at or below their reorder point only, the other sites that could give stock."""
    counts = defaultdict(int)
    no_demand = policy.Demand(window_days)
    items = _id_array(row[0] for row in rows)
    open_po = dict(_rows(_OPEN_PO_SQL, [site.pk, _RECEIVABLE, items]))
    inbound: dict[tuple[int, int], int] = defaultdict(int)
    outbound: dict[tuple[int, int], int] = defaultdict(int)
    for item_id, from_site, to_site, status, quantity, shipped in _rows(
        _TRANSFERS_SQL, [[str(s) for s in _OPEN_TRANSFER], items]
    ):
        not_shipped = status in _NOT_SHIPPED
        # a transfer being picked is still to come at the destination; at the source it is already claimed
        # in the stock level's allocated, so it is not counted out again
        picking = status == TransferOrder.Status.PICKING
        inbound[(item_id, to_site)] += int(quantity if not_shipped or picking else shipped)
        if not_shipped:
            outbound[(item_id, from_site)] += int(quantity)
    backordered = {(i, s): int(q) for i, s, q in _rows(_BACKORDERS_SQL, [items, _ENGINE_STATUSES])}
    demand = _demand(items, [site.pk], now, window_days)
    without_supplier = [row[0] for row in rows if row[11] is None]
    last_supplier = (
        {r[0]: r[1:] for r in _rows(_LAST_SUPPLIER_SQL, [_id_array(without_supplier), site.pk])}
        if without_supplier
        else {}
    )
    needy = []
    for (
        item_id,
        sku,
        cost,
        method,
        min_q,
        max_q,
        level,
        review,
        lead,
        pack,
        moq,
        supplier_id,
        supplier_code,
        supplier_lead,
        available,
        allocated,
    ) in rows:
        counts["policies"] += 1
        supplier_source = "policy"
        if supplier_id is None:
            supplier_id, supplier_code, supplier_lead = last_supplier.get(item_id, (None, None, None))
            supplier_source = "last purchase order" if supplier_id else "none"
        if lead is not None:
            lead_days, lead_source = lead, "policy"
        else:
            lead_days, lead_source = supplier_lead or 0, "supplier" if supplier_id else "none"
        key = (item_id, site.pk)
        position = policy.Position(
            available=int(available),
            open_purchase=int(open_po.get(item_id, 0)),
            inbound_transfers=inbound.get(key, 0),
            allocated=int(allocated),
            backordered=backordered.get(key, 0),
        )
        terms = _terms(method, min_q, max_q, level, review, lead_days, pack, moq)
        levels = policy.planning_levels(terms, demand.get(key, no_demand))
        if position.projected > levels.reorder_point or levels.order_up_to - position.projected <= 0:
            continue
        counts["below_reorder_point"] += 1
        needy.append(
            (
                item_id,
                sku,
                Decimal(cost),
                terms,
                levels,
                position,
                supplier_id,
                supplier_code,
                supplier_source,
                lead_days,
                lead_source,
            )
        )
    if not needy:
        return [], counts

    needy_items = _id_array(entry[0] for entry in needy)
    candidates = _rows(_SOURCES_SQL, [needy_items, site.pk])
    promised = {(i, s): int(q) for i, s, q in _rows(_PROMISED_SQL, [needy_items, site.pk])} if candidates else {}
    rop_sites = sorted({row[1] for row in candidates if row[4] == policy.REORDER_POINT})
    there = _demand(needy_items, rop_sites, now, window_days) if rop_sites else {}
    sources: dict[int, list[policy.Source]] = defaultdict(list)
    for item_id, site_id, code, region, method, min_q, max_q, level, review, lead, free in candidates:
        key = (item_id, site_id)
        free_now = int(free) - backordered.get(key, 0) - outbound.get(key, 0) - promised.get(key, 0)
        if free_now <= int(max_q) and method == policy.MIN_MAX:
            continue  # not above its own max: nothing to give
        up_to = policy.planning_levels(_terms(method, min_q, max_q, level, review, lead), there.get(key, no_demand))
        sources[item_id].append(policy.Source(site_id, code, free_now, up_to.order_up_to, region == site.region))

    out = []
    for (
        item_id,
        sku,
        cost,
        terms,
        levels,
        position,
        supplier_id,
        supplier_code,
        supplier_source,
        lead_days,
        lead_source,
    ) in needy:
        plan = policy.plan_item(
            terms,
            demand.get((item_id, site.pk), no_demand),
            position,
            sources.get(item_id, []),
            has_supplier=supplier_id is not None,
            levels=levels,
        )
        if plan.missing_supplier:
            counts["no_supplier"] += 1
        for proposal in plan.proposals:
            value = (cost * proposal.quantity).quantize(Decimal("0.01"))
            why = {
                "item": sku,
                "site": site.code,
                **proposal.why,
                "lead_time_days": lead_days,
                "lead_time_source": lead_source,
                "unit_cost": str(cost),
                "value": str(value),
            }
            if proposal.kind == policy.PURCHASE:
                why["supplier"] = supplier_code
                why["supplier_source"] = supplier_source
                counts["purchase_suggestions"] += 1
                counts["purchase_units"] += proposal.quantity
            else:
                counts["transfer_suggestions"] += 1
                counts["transfer_units"] += proposal.quantity
            out.append(
                {
                    "item_id": item_id,
                    "kind": proposal.kind,
                    "quantity": proposal.quantity,
                    "source_site_id": proposal.source_site_id,
                    "supplier_id": supplier_id if proposal.kind == policy.PURCHASE else None,
                    "unit_cost": str(cost),
                    "value": str(value),
                    "reason": why,
                }
            )
    return out, counts


def _upsert(*, run: ReplenishmentRun, site: Site, rows: list[dict], now: datetime) -> tuple[int, int]:
    if not rows:
        return 0, 0
    payload = json.dumps(rows, separators=(",", ":"))
    flags = [r[0] for r in _rows(_UPSERT_SQL, [run.pk, site.pk, now, now, payload])]
    created = sum(1 for f in flags if f)
    return created, len(flags) - created


@transaction.atomic
def plan_site(*, run: ReplenishmentRun, now: datetime | None = None, batch_size: int = DEFAULT_BATCH) -> dict | None:
    """Plan every active policy of ``run``'s site in batches and mark the run SUCCEEDED with its counts, in one
    transaction. None when the run was already planned (a repeated delivery of the same task)."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, run.site_id])
    locked = ReplenishmentRun.objects.select_for_update(of=("self",), no_key=True).select_related("site").get(pk=run.pk)
    if locked.status == ReplenishmentRun.Status.SUCCEEDED:
        return None
    site = locked.site
    window_days = get_rule("replenishment.demand_window_days", site.pk)
    counts: dict = defaultdict(int)
    counts["demand_window_days"] = window_days
    last_item = 0
    while True:
        rows = _rows(_POLICIES_SQL, [site.pk, last_item, batch_size])
        if not rows:
            break
        counts["batches"] += 1
        suggestions, batch_counts = _plan_batch(site=site, rows=rows, now=now, window_days=window_days)
        for key, value in batch_counts.items():
            counts[key] += value
        created, updated = _upsert(run=locked, site=site, rows=suggestions, now=now)
        counts["created"] += created
        counts["updated"] += updated
        last_item = rows[-1][0]
    with connection.cursor() as cursor:
        cursor.execute(_SUPERSEDE_SQL, [now, site.pk, locked.pk])
        counts["superseded"] = cursor.rowcount
    for key in ("policies", "below_reorder_point", "purchase_suggestions", "transfer_suggestions", "no_supplier"):
        counts.setdefault(key, 0)
    locked.status = ReplenishmentRun.Status.SUCCEEDED
    locked.counts = dict(counts)
    locked.finished_at = timezone.now()
    locked.error = ""
    locked.save(update_fields=["status", "counts", "finished_at", "error"])
    return locked.counts


__all__ = ["DEFAULT_BATCH", "plan_site"]
