"""gunicorn's settings hooks for the web service (`gunicorn -c python:portal.gunicorn portal.wsgi`, docker-compose.yml).

With PROMETHEUS_MULTIPROC_DIR set, each gunicorn worker writes its metrics into that folder (portal/metrics.py): the
master empties it before it starts the workers, so a restart does not add up the previous run's counts.
"""

from portal.metrics import clear_multiprocess_dir


def on_starting(server):
    clear_multiprocess_dir()
