"""Signals the governance app sends; higher apps connect receivers in their AppConfig.ready()."""

from django.dispatch import Signal

#: sent after a site is created (kwargs: site). Inventory creates the site's virtual locations.
site_created = Signal()
