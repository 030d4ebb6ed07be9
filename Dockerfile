# The portal's image. docker-compose.yml runs it four ways: migrate (one-shot), web (gunicorn), worker and
# beat (Celery); deploy/healthcheck.py is each one's health check. Plain on purpose; hardening (multi-stage
# build, pinned digest, read-only root) is a later issue.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The dependencies first, so a code change does not reinstall them (pyproject.toml installs no packages
# of its own: the apps run from /app).
COPY pyproject.toml ./
RUN pip install .

COPY . .

# Collect and fingerprint the static files at build time (whitenoise serves them). The values below exist
# only so the production settings load during the build; the real ones come from .env at run time.
RUN PORTAL_MODE=production DEBUG=0 ALLOWED_HOSTS=build.invalid REDIS_URL=redis://build.invalid:6379/1 \
    SECRET_KEY=build-time-only-never-used-at-run-time-0123456789abcdefghijklmnopqrstuvwxyz \
    python manage.py collectstatic --noinput

RUN useradd --system --create-home --uid 1000 portal \
    && mkdir -p /app/media \
    && chown portal:portal /app/media
USER portal

EXPOSE 8000
CMD ["gunicorn", "portal.wsgi", "--config", "python:portal.gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3"]
