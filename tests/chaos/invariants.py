"""The chaos run's invariant checker: reads the chaos database (Django ORM and SQL) in one REPEATABLE READ
snapshot, so a check never mixes two moments of a busy system, and reports every violation it finds.

Checked (tests/chaos/README.md, "Invariants"):

- ledger = quants = stock levels, nothing negative or over-reserved, a level's ``allocated`` = its open
  allocations (and transfers' claims), a line's ``allocated_quantity`` = its open allocations: the project's own
  ``inventory.selectors.find_inventory_drift`` (with the orders app's ``allocation_drift``), run in the snapshot;
- an order that was ever CANCELLED (its history) has status CANCELLED now and never moved on, has no shipped or
  picked units, no shipment line on a shipped shipment, no pick confirmed after the cancel, no open allocation,
  no open pick task;
- a shipment line was shipped for an order that is not cancelled;
- no two documents carry the same Idempotency-Key (the chaos client writes its key into the document's
  reference field: sales order ``customer_reference``, purchase order ``supplier_reference``, receipt and
  adjustment ``note``, transfer ``reason``);
- drift exception cases (LEDGER_DRIFT, ALLOCATION_DRIFT) opened during the run: a repair job found drift;
- every released order leaves RELEASED (allocated or backordered) within the deadline after it was released or
  after the last fault recovered, whichever is later (see ``overdue_released_orders``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction

KEY_PREFIX = "chaos-"

#: (document kind, table, reference column) of every document the chaos client creates with a key
KEYED_DOCUMENTS = [
    ("sales_order", "orders_salesorder", "customer_reference"),
    ("purchase_order", "orders_purchaseorder", "supplier_reference"),
    ("receipt", "warehouse_receipt", "note"),
    ("adjustment", "inventory_adjustment", "note"),
    ("transfer", "orders_transferorder", "reason"),
]

_KEY_IN_TEXT = re.compile(r"(chaos-[A-Za-z0-9-]+)")


@dataclass
class Violation:
    kind: str
    key: str
    detail: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "key": self.key, "detail": self.detail}


@dataclass
class CheckResult:
    at: float
    violations: list[Violation] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    released_waiting: list[dict] = field(default_factory=list)  # orders in RELEASED: id, number, since (epoch)
    seconds: float = 0.0
    error: str = ""


CANCELLED_THEN_MOVED_SQL = """
SELECT h.id, h.number, MIN(h.history_date) AS cancelled_at,
       (SELECT string_agg(DISTINCT l.status, ',') FROM orders_historicalsalesorder l
         WHERE l.id = h.id AND l.history_date > MIN(h.history_date) AND l.status <> 'CANCELLED') AS later,
       (SELECT o.status FROM orders_salesorder o WHERE o.id = h.id) AS now
  FROM orders_historicalsalesorder h
 WHERE h.status = 'CANCELLED'
 GROUP BY h.id, h.number
"""

CANCELLED_WITH_UNITS_SQL = """
SELECT o.id, o.number, l.id, l.picked_quantity, l.shipped_quantity, l.allocated_quantity
  FROM orders_salesorder o JOIN orders_salesorderline l ON l.order_id = o.id
 WHERE o.status = 'CANCELLED' AND (l.picked_quantity > 0 OR l.shipped_quantity > 0 OR l.allocated_quantity > 0)
"""

CANCELLED_SHIPPED_LINES_SQL = """
SELECT o.id, o.number, s.number, s.status, sl.quantity
  FROM warehouse_shipmentline sl
  JOIN warehouse_shipment s ON s.id = sl.shipment_id
  JOIN orders_salesorder o ON o.id = sl.order_id
 WHERE o.status = 'CANCELLED' AND s.status = 'SHIPPED'
"""

CANCELLED_OPEN_WORK_SQL = """
SELECT o.id, o.number, 'open allocation ' || a.id, a.quantity
  FROM orders_allocation a JOIN orders_salesorderline l ON l.id = a.line_id
  JOIN orders_salesorder o ON o.id = l.order_id
 WHERE o.status = 'CANCELLED' AND a.status = 'OPEN'
UNION ALL
SELECT o.id, o.number, 'open pick task ' || t.id, t.quantity
  FROM warehouse_picktask t JOIN orders_salesorderline l ON l.id = t.order_line_id
  JOIN orders_salesorder o ON o.id = l.order_id
 WHERE o.status = 'CANCELLED' AND t.status = 'OPEN'
UNION ALL
SELECT o.id, o.number, 'pick task ' || t.id || ' confirmed after the cancel', COALESCE(t.picked_quantity, 0)
  FROM warehouse_picktask t JOIN orders_salesorderline l ON l.id = t.order_line_id
  JOIN orders_salesorder o ON o.id = l.order_id
 WHERE o.status = 'CANCELLED' AND t.status IN ('PICKED', 'SHORT') AND COALESCE(t.picked_quantity, 0) > 0
   AND t.confirmed_at > o.cancelled_at
"""

LINE_COUNTERS_SQL = """
SELECT l.id, o.number, l.quantity_base, l.allocated_quantity, l.picked_quantity, l.shipped_quantity
  FROM orders_salesorderline l JOIN orders_salesorder o ON o.id = l.order_id
 WHERE l.shipped_quantity > l.quantity_base OR l.allocated_quantity + l.shipped_quantity > l.quantity_base
    OR l.picked_quantity > l.quantity_base
"""

LINE_SHIPPED_VS_SHIPMENTS_SQL = """
SELECT l.id, o.number, l.shipped_quantity, COALESCE(s.quantity, 0)
  FROM orders_salesorderline l JOIN orders_salesorder o ON o.id = l.order_id
  LEFT JOIN (SELECT sl.order_line_id, SUM(sl.quantity) AS quantity
               FROM warehouse_shipmentline sl JOIN warehouse_shipment s ON s.id = sl.shipment_id
              WHERE s.status = 'SHIPPED' GROUP BY sl.order_line_id) s ON s.order_line_id = l.id
 WHERE COALESCE(s.quantity, 0) <> l.shipped_quantity
"""

DRIFT_CASES_SQL = """
SELECT c.id, k.code, c.summary, c.opened_at
  FROM governance_exceptioncase c JOIN governance_exceptioncode k ON k.id = c.code_id
 WHERE k.code IN ('LEDGER_DRIFT', 'ALLOCATION_DRIFT') AND c.opened_at >= %s
"""

RELEASED_SQL = """
SELECT o.id, o.number,
       (SELECT MIN(h.history_date) FROM orders_historicalsalesorder h
         WHERE h.id = o.id AND h.status = 'RELEASED'
           AND h.history_date > COALESCE((SELECT MAX(x.history_date) FROM orders_historicalsalesorder x
                                           WHERE x.id = o.id AND x.status <> 'RELEASED'), '-infinity')) AS since,
       o.released_at
  FROM orders_salesorder o
 WHERE o.status = 'RELEASED'
"""


def _duplicates(cursor) -> list[dict]:
    found = []
    for kind, table, column in KEYED_DOCUMENTS:
        cursor.execute(
            f"SELECT {column}, array_agg(number ORDER BY id) FROM {table} "
            f"WHERE {column} LIKE %s GROUP BY {column} HAVING COUNT(*) > 1",
            [f"%{KEY_PREFIX}%"],
        )
        for reference, numbers in cursor.fetchall():
            match = _KEY_IN_TEXT.search(reference or "")
            found.append({"kind": kind, "key": match.group(1) if match else reference, "documents": list(numbers)})
    return found


def documents_by_key() -> dict[str, list[str]]:
    """{idempotency key: [document numbers]} of every document the chaos client created with a key."""
    result: dict[str, list[str]] = {}
    with connection.cursor() as cursor:
        for _kind, table, column in KEYED_DOCUMENTS:
            cursor.execute(
                f"SELECT {column}, number FROM {table} WHERE {column} LIKE %s",
                [f"%{KEY_PREFIX}%"],
            )
            for reference, number in cursor.fetchall():
                match = _KEY_IN_TEXT.search(reference or "")
                if match:
                    result.setdefault(match.group(1), []).append(number)
    return result


def check(*, run_started: datetime, now: float, snapshot: bool = True) -> CheckResult:
    """One pass of every invariant in one REPEATABLE READ snapshot (``snapshot=False``: inside the caller's
    transaction, for the self-test)."""
    import time

    from inventory.selectors import find_inventory_drift

    result = CheckResult(at=now)
    started = time.monotonic()
    violations = result.violations
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                if snapshot:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("SET LOCAL statement_timeout = '60s'")
                cursor.execute("SET LOCAL lock_timeout = '5s'")
            for drift in find_inventory_drift():
                violations.append(Violation(drift.kind, drift.key, str(drift)))
            with connection.cursor() as cursor:
                cursor.execute(CANCELLED_THEN_MOVED_SQL)
                for order_id, number, cancelled_at, later, current in cursor.fetchall():
                    if later or current != "CANCELLED":
                        violations.append(
                            Violation(
                                "CANCELLED_THEN_MOVED_ON",
                                number,
                                f"order {number} (id {order_id}) was CANCELLED at {cancelled_at:%H:%M:%S.%f}, "
                                f"later statuses {later or '-'}, now {current}",
                            )
                        )
                cursor.execute(CANCELLED_WITH_UNITS_SQL)
                for order_id, number, line_id, picked, shipped, allocated in cursor.fetchall():
                    violations.append(
                        Violation(
                            "CANCELLED_WITH_UNITS",
                            f"{number} line {line_id}",
                            f"cancelled order {number} (id {order_id}) line {line_id}: picked {picked}, "
                            f"shipped {shipped}, allocated {allocated}",
                        )
                    )
                cursor.execute(CANCELLED_SHIPPED_LINES_SQL)
                for order_id, number, shipment, status, quantity in cursor.fetchall():
                    violations.append(
                        Violation(
                            "SHIPPED_FOR_CANCELLED_ORDER",
                            f"{number} {shipment}",
                            f"shipment {shipment} ({status}) carries {quantity} units of cancelled order {number} "
                            f"(id {order_id})",
                        )
                    )
                cursor.execute(CANCELLED_OPEN_WORK_SQL)
                for order_id, number, what, quantity in cursor.fetchall():
                    violations.append(
                        Violation(
                            "CANCELLED_WITH_OPEN_WORK",
                            f"{number} {what}",
                            f"cancelled order {number} (id {order_id}): {what} ({quantity} units)",
                        )
                    )
                cursor.execute(LINE_COUNTERS_SQL)
                for line_id, number, ordered, allocated, picked, shipped in cursor.fetchall():
                    violations.append(
                        Violation(
                            "LINE_COUNTERS",
                            f"{number} line {line_id}",
                            f"line {line_id} of {number}: ordered {ordered}, allocated {allocated}, picked {picked}, "
                            f"shipped {shipped}",
                        )
                    )
                cursor.execute(LINE_SHIPPED_VS_SHIPMENTS_SQL)
                for line_id, number, shipped, by_shipments in cursor.fetchall():
                    violations.append(
                        Violation(
                            "LINE_SHIPPED_VS_SHIPMENTS",
                            f"{number} line {line_id}",
                            f"line {line_id} of {number}: shipped_quantity {shipped}, shipped shipments carry "
                            f"{by_shipments}",
                        )
                    )
                cursor.execute(DRIFT_CASES_SQL, [run_started])
                for case_id, code, summary, opened_at in cursor.fetchall():
                    violations.append(
                        Violation(code, f"case {case_id}", f"{code} opened {opened_at:%H:%M:%S}: {summary}"[:400])
                    )
                result.duplicates = _duplicates(cursor)
                cursor.execute(RELEASED_SQL)
                for order_id, number, since, released_at in cursor.fetchall():
                    moment = since or released_at
                    result.released_waiting.append(
                        {"id": order_id, "number": number, "since": moment.timestamp() if moment else now}
                    )
    except Exception as error:  # a failed check is reported, never fatal (the database may be busy)
        result.error = f"{type(error).__name__}: {error}"[:500]
    finally:
        if snapshot:
            connection.close()  # the checker's thread holds no connection between passes
    result.seconds = time.monotonic() - started
    return result


def overdue_released_orders(
    waiting: list[dict], *, now: float, last_recovery: float, fault_active: bool, deadline_seconds: float
) -> list[dict]:
    """The orders still RELEASED past their deadline: ``deadline_seconds`` after they were released or after
    the last fault recovered, whichever is later; none while a fault is active (the deadline runs from its
    recovery)."""
    if fault_active:
        return []
    late = []
    for order in waiting:
        start = max(order["since"], last_recovery)
        if now - start > deadline_seconds:
            late.append({**order, "waited_seconds": round(now - start, 1)})
    return late


def deadlocks(database: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = %s", [database])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


class _Rollback(Exception):
    pass


def self_test(run_started: datetime) -> list[str]:
    """The checker can fail: inject one defect of each kind into the chaos database in a transaction that is
    rolled back, and return what the checker did not report (empty: it caught everything)."""
    import time

    missed: list[str] = []
    injected: list[tuple[str, str]] = []  # (what, expected violation kind)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                before = {v.kind for v in check(run_started=run_started, now=time.time(), snapshot=False).violations}
                cursor.execute(
                    "UPDATE inventory_stocklevel SET allocated = allocated + 1 "
                    "WHERE id = (SELECT id FROM inventory_stocklevel WHERE allocated < available ORDER BY id LIMIT 1)"
                )
                if cursor.rowcount:
                    injected.append(("a level's allocated raised by 1", "ALLOCATED_VS_ALLOCATIONS"))
                cursor.execute(
                    "UPDATE inventory_stockquant SET quantity = quantity + 1 "
                    "WHERE id = (SELECT id FROM inventory_stockquant WHERE quantity > 0 ORDER BY id LIMIT 1)"
                )
                if cursor.rowcount:
                    injected.append(("a quant's quantity raised by 1", "QUANT_VS_LEDGER"))
                    injected.append(("a quant's quantity raised by 1", "LEVEL_VS_QUANTS"))
                cursor.execute(
                    "UPDATE orders_salesorder SET status = 'SHIPPED' WHERE id = (SELECT o.id FROM orders_salesorder o"
                    " JOIN orders_historicalsalesorder h ON h.id = o.id AND h.status = 'CANCELLED'"
                    " ORDER BY o.id LIMIT 1)"
                )
                if cursor.rowcount:
                    injected.append(("a cancelled order set SHIPPED", "CANCELLED_THEN_MOVED_ON"))
                cursor.execute(
                    "UPDATE orders_salesorder SET customer_reference = "
                    "(SELECT customer_reference FROM orders_salesorder WHERE customer_reference LIKE %s "
                    "ORDER BY id LIMIT 1) WHERE id = (SELECT id FROM orders_salesorder WHERE customer_reference "
                    "LIKE %s ORDER BY id DESC LIMIT 1)",
                    [f"{KEY_PREFIX}%", f"{KEY_PREFIX}%"],
                )
                duplicate_injected = bool(cursor.rowcount)
            result = check(run_started=run_started, now=time.time(), snapshot=False)
            found = {v.kind for v in result.violations}
            if result.error:
                missed.append(f"the check failed: {result.error}")
            for what, kind in injected:
                if kind not in found and kind not in before:
                    missed.append(f"{what}: no {kind} reported")
            if duplicate_injected and not result.duplicates:
                missed.append("two sales orders with one Idempotency-Key: no duplicate reported")
            if not injected:
                missed.append("nothing could be injected (empty database?)")
            raise _Rollback
    except _Rollback:
        pass
    late = overdue_released_orders(
        [{"id": 1, "number": "SO-X", "since": 100.0}],
        now=200.0,
        last_recovery=150.0,
        fault_active=False,
        deadline_seconds=30,
    )
    if not late:
        missed.append("an order RELEASED 50 s after the last recovery: not reported late")
    if overdue_released_orders(
        [{"id": 1, "number": "SO-X", "since": 100.0}],
        now=200.0,
        last_recovery=180.0,
        fault_active=False,
        deadline_seconds=30,
    ):
        missed.append("an order RELEASED 20 s after the last recovery: reported late")
    return missed
