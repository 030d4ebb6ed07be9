"""Enqueueing Celery tasks so that a page never waits on, nor fails with, the broker, and nothing is lost.

``enqueue`` is the one way the portal hands a task to the broker (every page, service and task calls it). It sends
once the current transaction commits (the task then reads what was committed), over a connection of its own with
short timeouts and no retries (PUBLISH_TIMEOUT: a Redis that is down or hung costs a page a fraction of a second).
When the broker cannot take the task, the task goes into the outbox table (``OutboxMessage``) instead, and beat's
``portal.outbox_flush`` (every minute) sends it once the broker is back. After a failure the broker is not tried
again for BROKER_RETRY_SECONDS in this process: the next pages go straight to the outbox.

Beat itself and the worker reach the broker through Celery's own connections, with its longer timeouts
(settings.CELERY_BROKER_TRANSPORT_OPTIONS); only what passes through here is bounded this tightly.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from celery import current_app
from django.db import DatabaseError, transaction

from portal import logs

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 0.3  # seconds for the connect and for each reply of the broker when a page enqueues
BROKER_RETRY_SECONDS = 5  # after a failure, enqueues go straight to the outbox for this long
FLUSH_BATCH = 500  # outbox rows one flush sends at most (it is run again a minute later)

_state = {"down_until": 0.0}
_lock = threading.Lock()


@dataclass
class Ticket:
    """What became of an enqueue: ``sent`` is None until the transaction commits, then True (with the broker) or
    False (``kept``: in the outbox, sent later; not kept: lost, which happens only when the database failed too)."""

    task: str
    sent: bool | None = None
    kept: bool = False
    error: str = ""


def _name(task):
    return task if isinstance(task, str) else task.name


def publish(name, args=(), kwargs=None):
    """Hand one task to the broker now, within PUBLISH_TIMEOUT and without retrying; raises when it cannot."""
    app = current_app
    options = {
        "socket_connect_timeout": PUBLISH_TIMEOUT,
        "socket_timeout": PUBLISH_TIMEOUT,
        "max_retries": 0,  # kombu's connect: one try
    }
    with app.connection_for_write(connect_timeout=PUBLISH_TIMEOUT, transport_options=options) as connection:
        task = app.tasks.get(name)
        if task is not None:  # the task's own options (queue, routing) apply
            task.apply_async(args=list(args), kwargs=kwargs or {}, connection=connection, retry=False)
        else:
            app.send_task(name, args=list(args), kwargs=kwargs or {}, connection=connection, retry=False)


def broker_down():
    return _state["down_until"] > time.monotonic()


def _mark_down(exc):
    with _lock:
        was_up = not broker_down()
        _state["down_until"] = time.monotonic() + BROKER_RETRY_SECONDS
    if was_up:
        log.warning("broker unreachable (%s: %s): tasks go to the outbox for %d s", type(exc).__name__, exc,
                    BROKER_RETRY_SECONDS)


def mark_up():
    with _lock:
        _state["down_until"] = 0.0


def _keep(name, args, kwargs, error):
    from portal.models import OutboxMessage

    return OutboxMessage.objects.create(task=name, args=list(args), kwargs=kwargs or {}, last_error=error[:500],
                                        request_id=logs.current_request_id.get())


def enqueue(task, *args, **kwargs):
    """Send ``task`` (a task or its name) once the current transaction commits (at once outside one). Never
    raises: when the broker cannot take it the task is kept in the outbox and sent later; the ticket says which."""
    ticket = Ticket(task=_name(task))

    def send():
        app = current_app
        if app.conf.task_always_eager:
            # no broker (the quick start): the task runs here, and its own failure is the caller's
            (task if not isinstance(task, str) else app.tasks[task]).apply_async(args=args, kwargs=kwargs)
            ticket.sent = True
            return
        error = "broker unreachable a moment ago"
        if not broker_down():
            try:
                publish(ticket.task, args, kwargs)
            except Exception as exc:  # the broker's errors vary by transport: OperationalError, socket errors…
                _mark_down(exc)
                error = f"{type(exc).__name__}: {exc}"
            else:
                ticket.sent = True
                return
        ticket.sent, ticket.error = False, error[:200]
        try:
            _keep(ticket.task, args, kwargs, error)
        except DatabaseError as exc:
            log.error("task %s lost: the broker and the database both failed (%s)", ticket.task, exc)
            return
        ticket.kept = True

    transaction.on_commit(send)
    return ticket


def outbox_flush(limit=FLUSH_BATCH):
    """Send what the outbox holds, oldest first; each row is deleted in the transaction that sent it, so two
    flushes never send one row twice (rows are locked, skipping those another flush holds). Stops at the first
    failure (the broker is still away), noting it on the row. Returns (sent, left)."""
    from portal.models import OutboxMessage

    sent = 0
    for _ in range(limit):
        with transaction.atomic():
            row = OutboxMessage.objects.select_for_update(skip_locked=True).order_by("id").first()
            if row is None:
                break
            try:
                # the task carries the id of the page that asked for it, not the flush's
                with logs.current_request_id_as(row.request_id or logs.current_request_id.get()):
                    publish(row.task, row.args, row.kwargs)
            except Exception as exc:
                OutboxMessage.objects.filter(pk=row.pk).update(
                    attempts=row.attempts + 1, last_error=f"{type(exc).__name__}: {exc}"[:500]
                )
                log.warning("outbox: %s #%s not sent yet (%s)", row.task, row.pk, exc)
                break
            row.delete()
            sent += 1
    if sent:
        mark_up()
    left = OutboxMessage.objects.count()
    if sent or left:
        log.info("outbox: %d sent, %d left", sent, left)
    return sent, left
