"""Every write of the governance app. See the submodules; the common names are re-exported here."""

from .approvals import (
    ApprovalHandler,
    approval_kind,
    approval_kind_label,
    decide_approval,
    register_approval_handler,
    request_approval,
)
from .exceptions import (
    acknowledge_exception,
    assign_exception,
    open_exception,
    resolve_exception,
    resolve_exceptions_for_subject,
)
from .history import set_history_user
from .jobs import record_job
from .rules import clear_rule_value, get_rule, set_rule_value
from .sequences import next_document_number
from .sites import add_membership, create_site, remove_membership, update_site

__all__ = [
    "ApprovalHandler",
    "acknowledge_exception",
    "approval_kind",
    "approval_kind_label",
    "add_membership",
    "assign_exception",
    "clear_rule_value",
    "create_site",
    "decide_approval",
    "get_rule",
    "next_document_number",
    "open_exception",
    "record_job",
    "register_approval_handler",
    "remove_membership",
    "request_approval",
    "resolve_exception",
    "resolve_exceptions_for_subject",
    "set_history_user",
    "set_rule_value",
    "update_site",
]
