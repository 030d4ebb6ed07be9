"""Enqueueing Celery tasks so that a page never waits on, nor fails with, the broker.

``enqueue`` sends a task once the current transaction commits (the task then reads what was committed), and
never raises when the broker is down: the returned Ticket says what happened, so the page can tell the user.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction

log = logging.getLogger(__name__)


@dataclass
class Ticket:
    """What became of an enqueue: ``sent`` is None until the transaction commits, then True or False."""

    task: str
    sent: bool | None = None
    error: str = ""


def enqueue(task, *args, **kwargs):
    """Send ``task`` once the current transaction commits (at once outside one). Never raises: when the
    broker cannot be reached within a couple of seconds the ticket says so and the caller tells the user."""
    ticket = Ticket(task=task.name)

    def send():
        try:
            # retry policy: settings.CELERY_TASK_PUBLISH_RETRY_POLICY (one quick retry, then give up)
            task.apply_async(args=args, kwargs=kwargs, retry=True)
            ticket.sent = True
        except Exception as exc:  # the broker's errors vary by transport: OperationalError, socket errors…
            if task.app.conf.task_always_eager:
                raise  # eager mode: the task itself failed, not the broker
            log.warning("could not enqueue %s: %s", task.name, exc)
            ticket.sent, ticket.error = False, str(exc)[:200]

    transaction.on_commit(send)
    return ticket
