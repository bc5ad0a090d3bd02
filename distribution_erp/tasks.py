"""Project-level Celery tasks."""

from __future__ import annotations

import logging
import os

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="distribution_erp.tasks.ping")
def ping(sender: str = "") -> str:
    """Log that a worker process picked the task up: `make run` sends one at start to show the worker is live."""
    logger.info("pong: worker process %s received ping from %s", os.getpid(), sender or "unknown")
    return "pong"
