"""When a stock adjustment needs approval, as a pure function.

One adjustment is not judged alone: splitting a large one into several just under the approval value would walk
around the control. What a user (and what a location, whoever adjusted it) applied without approval within the
site's rolling window counts with the new adjustment against the approval value.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class AdjustmentExposure:
    """The value of the new adjustment and the values (absolute) applied without approval within the window by
    the same user and at the same location."""

    value: Decimal
    user_recent: Decimal = Decimal("0")
    location_recent: Decimal = Decimal("0")


@dataclass(frozen=True)
class ApprovalDecision:
    needed: bool
    #: "single" (the adjustment alone is above the value), "user", "location" or "" (not needed)
    scope: str
    #: the sum that was compared with the threshold (the adjustment alone for "single")
    cumulative: Decimal


def adjustment_needs_approval(exposure: AdjustmentExposure, threshold: Decimal) -> ApprovalDecision:
    """An adjustment waits for approval when its value alone, or its value plus what the same user or the same
    location applied without approval within the window, exceeds the threshold (equal is still allowed)."""
    if exposure.value > threshold:
        return ApprovalDecision(True, "single", exposure.value)
    by_user = exposure.value + exposure.user_recent
    by_location = exposure.value + exposure.location_recent
    if by_user > threshold and by_user >= by_location:
        return ApprovalDecision(True, "user", by_user)
    if by_location > threshold:
        return ApprovalDecision(True, "location", by_location)
    return ApprovalDecision(False, "", max(by_user, by_location))
