"""gunicorn's settings hooks for the web service (`gunicorn -c python:portal.gunicorn portal.wsgi`, docker-compose.yml).

With PROMETHEUS_MULTIPROC_DIR set, each gunicorn worker writes its metrics into that folder (portal/metrics.py): the
master empties it before it starts the workers, so a restart does not add up the previous run's counts. gunicorn's
own lines (workers started, timed out, killed) are written like the portal's (settings.LOG_FORMAT).
"""

import os

from portal.metrics import clear_multiprocess_dir

_FORMAT = os.environ.get("LOG_FORMAT") or ("json" if os.environ.get("PORTAL_MODE") == "production" else "text")

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"portal": {"()": "portal.logs.JsonFormatter" if _FORMAT == "json" else "portal.logs.TextFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "portal", "stream": "ext://sys.stderr"}},
    "root": {"level": "INFO", "handlers": ["console"]},
    "loggers": {"gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False}},
}


def on_starting(server):
    clear_multiprocess_dir()
