"""The worker's consumer (``CELERY_WORKER_CONSUMER``): Celery's own, with one defect of Celery 5.7 / kombu 5.7
worked around (chaos suite F7).

When the Redis broker goes away after the worker had connected, Celery 5.7's
``Consumer.on_connection_error_after_connected`` first *collects* the broken connection (which drops the
transport's reference to it) and then *closes* it. Closing a collected Redis connection closes its default channel,
which restores unacked messages through a client built from the transport's connection info, now None:
``AttributeError: 'NoneType' object has no attribute 'hostname'`` (kombu/transport/redis.py ``_connparams``).
``kombu.common.ignore_errors`` only swallows connection and channel errors, so the AttributeError stops the worker
(exit status 1) on every Redis restart. Here the close of that one broken connection ignores this error too (and
an ack through that channel, see ``__init__``); the
consumer then reconnects as Celery intends, and the unacked messages come back after the visibility timeout (or
sooner through the outbox relay, which re-publishes work not done within its lease).
"""

from __future__ import annotations

import logging

from celery.worker.consumer import Consumer as CeleryConsumer

logger = logging.getLogger(__name__)


class Consumer(CeleryConsumer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The same defect on a second path: a task that finishes after the reconnect acks its message (acks_late)
        # through the collected channel, and the AttributeError escaped ``ack_log_error`` in the event loop
        # ("Unrecoverable error", exit 1; CI chaos short run). Counted as a connection error, the ack fails
        # logged, the message comes back after the visibility timeout (tasks are idempotent; the outbox row is
        # done already), and a loop that meets it reconnects instead of dying.
        self.connection_errors = (*tuple(self.connection_errors), AttributeError)

    def on_connection_error_after_connected(self, exc):
        connection = self.connection
        if connection is not None:
            close = connection.close

            def close_collected_connection():
                try:
                    close()
                except AttributeError as error:  # the collected transport has no connection info any more
                    logger.warning("broker connection lost; its channel could not be closed cleanly (%s)", error)

            connection.close = close_collected_connection
        return super().on_connection_error_after_connected(exc)
