"""Every write of the warehouse app."""

from .putaway import confirm_putaway, create_putaway_task, suggest_location
from .receiving import inspect_receipt_line, receive

__all__ = ["confirm_putaway", "create_putaway_task", "inspect_receipt_line", "receive", "suggest_location"]
