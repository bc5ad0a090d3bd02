"""Signals the orders app sends; higher apps (warehouse) connect receivers in their AppConfig.ready()."""

from django.dispatch import Signal

#: sent INSIDE the transaction that cancels or holds a sales order, after the order's row lock was taken and
#: before its allocations are given back (kwargs: order, user, action "cancel" or "hold"). The warehouse
#: takes the order's lines off every wave and cancels their open pick tasks (their quants unreserved), or
#: refuses by raising a DomainError (StateConflict), which rolls the whole cancel back.
order_withdrawing = Signal()
