"""The demo loaded once per module, on a day of the test's choosing, in a transaction rolled back at the end."""

import contextlib
import datetime
import io
import zoneinfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

TZ = zoneinfo.ZoneInfo("Asia/Shanghai")


@contextlib.contextmanager
def demo_loaded_on(day, media_root, *, hour=10):
    """Travel to ``day`` (Asia/Shanghai, ``hour`` o'clock), load the demo and stay there; undone on exit.

    The hasher matches conftest's autouse ``_fast_password_hasher``, which only applies to function-scoped tests.
    """
    moment = datetime.datetime(day.year, day.month, day.day, hour, tzinfo=TZ)
    fast = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"], MEDIA_ROOT=str(media_root)
    )
    with time_machine.travel(moment, tick=False), fast, transaction.atomic():
        out = io.StringIO()
        call_command("load_demo", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def demo_output(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo as loaded on 2026-12-05 (the module's tests run on that day too)."""
    with django_db_blocker.unblock(), demo_loaded_on(datetime.date(2026, 12, 5), tmp_path_factory.mktemp("media")) as out:
        yield out


@pytest.fixture
def loaded(demo_output, db):
    return demo_output
