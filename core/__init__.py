"""The ground every app stands on: domain errors (``core.errors``), database helpers (``core.db``: retries,
advisory locks), validation helpers, the fail-soft cache, the reporting-database router, the login throttle and
the REST API plumbing (``core.api``: problem+json errors, pagination, parsers, idempotency, change feeds, bulk,
schema). ``core`` imports no app of the project (tests/test_layers.py): the apps import it, never the reverse.
The project package ``distribution_erp`` (settings, URLs, Celery, the demo) and the ``web`` app (the browser
pages) are the roof and may import everything."""
