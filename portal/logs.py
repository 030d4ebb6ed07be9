"""Log lines that can be followed from a page to the tasks it caused: web, worker and beat alike.

Every line carries the request id of the page being served (RequestIdMiddleware: the proxy's X-Request-ID when it
looks sane, else a new one; sent back in the response's X-Request-ID), the user's id once the page has looked the
user up, and inside a Celery task that task's id. A task enqueued while serving a page carries the page's request id
in a message header (REQUEST_ID_HEADER, and in the outbox row when the broker was away), so the worker's lines of that
task share it; a task that no page asked for (beat's) takes its own task id as request id, and what it enqueues
carries that on.

LOG_FORMAT (settings) chooses one JSON object per line (production's default: for a log collector) or plain text
(development's default). The request line (logger "portal.request") gives method, path, view, status and duration_ms.
"""

import contextvars
from contextlib import contextmanager
import logging
import re
import time
import uuid

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.utils.functional import empty
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

current_request_id = contextvars.ContextVar("request_id", default="")
current_task_id = contextvars.ContextVar("task_id", default="")
_request = contextvars.ContextVar("request", default=None)

REQUEST_ID_HEADER = "portal_request_id"  # the Celery message header
# What an incoming X-Request-ID may look like to be kept (nginx's $request_id is 32 hex digits); anything else (too
# long, spaces, quotes, control characters) is replaced, so a client cannot write into the log's structure.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")

request_log = logging.getLogger("portal.request")
sent_log = logging.getLogger("portal.celery")


def new_request_id():
    return uuid.uuid4().hex


@contextmanager
def current_request_id_as(value):
    """Lines logged and tasks enqueued inside carry this request id (the outbox's flush: the id of the page that
    asked for the task)."""
    token = current_request_id.set(value)
    try:
        yield
    finally:
        current_request_id.reset(token)


def _user_id():
    """The signed-in user's id, but only once the page has looked the user up: logging must not cost a query."""
    request = _request.get()
    user = getattr(request, "user", None)
    if user is None:
        return None
    user = getattr(user, "_wrapped", user)  # request.user is a SimpleLazyObject until something reads it
    return None if user is empty else getattr(user, "pk", None)


class ContextFilter(logging.Filter):
    """Adds request_id, user_id and task_id to every record (the handler's filter: for other libraries' lines too)."""

    def filter(self, record):
        # django.request's lines ("Not Found: …") are written after the middleware returned, with the request attached
        record.request_id = (current_request_id.get() or getattr(record, "request_id", None)
                             or getattr(getattr(record, "request", None), "request_id", None))
        record.user_id = _user_id()
        record.task_id = current_task_id.get() or getattr(record, "task_id", None)
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, the ids above and the call's extra
    fields (exc_info as a formatted traceback)."""

    def __init__(self, **kwargs):
        super().__init__(
            "{levelname}{name}{message}{request_id}{user_id}{task_id}",
            style="{",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            json_ensure_ascii=False,
            reserved_attrs=[*RESERVED_ATTRS, "request"],  # django.request's request object: its id is enough
            **kwargs,
        )


class TextFormatter(logging.Formatter):
    """Development: one readable line, the ids that are set in brackets after the logger's name."""

    def __init__(self, **kwargs):
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s", **kwargs)

    def format(self, record):
        ids = [
            f"{name}={value}"
            for name, value in (("req", getattr(record, "request_id", None)), ("user", getattr(record, "user_id", None)),
                                ("task", getattr(record, "task_id", None)))
            if value
        ]
        record.ids = f" [{' '.join(ids)}]" if ids else ""
        return super().format(record)


class RequestIdMiddleware:
    """First in MIDDLEWARE: gives the request its id, logs one line when it is answered, and echoes the id back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else new_request_id()
        tokens = (current_request_id.set(request.request_id), _request.set(request))
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id
            if not request_log.isEnabledFor(logging.INFO):
                return response
            match = getattr(request, "resolver_match", None)
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            request_log.info(
                "%s %s %s %.0f ms", request.method, request.path, response.status_code, duration_ms,
                extra={"method": request.method, "path": request.path, "view": match.view_name if match else None,
                       "status": response.status_code, "duration_ms": duration_ms},
            )
            return response
        finally:
            _request.reset(tokens[1])
            current_request_id.reset(tokens[0])


# --- Celery: the id travels with the task.


@before_task_publish.connect
def _add_request_id(headers=None, **kwargs):
    if headers is None:
        return
    current = current_request_id.get()
    if current:
        headers.setdefault(REQUEST_ID_HEADER, current)
    else:
        # beat (or a shell): no page asked for it; the worker's lines of the task take its own id, and so does this one
        sent_log.info("sent %s", headers.get("task"), extra={"task_id": headers.get("id")})


_task_tokens = {}


@task_prerun.connect
def _enter_task(task_id=None, task=None, **kwargs):
    carried = getattr(task.request, REQUEST_ID_HEADER, None) or (task.request.headers or {}).get(REQUEST_ID_HEADER)
    # an eager task (no broker) runs inside the page's own context: it keeps the page's id
    _task_tokens[task_id] = (
        current_task_id.set(task_id),
        current_request_id.set(carried or current_request_id.get() or task_id),
    )


@task_postrun.connect
def _leave_task(task_id=None, **kwargs):
    tokens = _task_tokens.pop(task_id, None)
    if tokens is not None:
        current_request_id.reset(tokens[1])
        current_task_id.reset(tokens[0])
