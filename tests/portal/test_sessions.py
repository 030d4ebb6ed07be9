"""Sessions read with their user in one query (portal/sessions.py): a signed-out cookie stays signed out whatever
the cache did, a user switched off or whose password changed is signed out on the next request, and sessions do
not depend on the cache."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.models import UserSession
from tests import factories as f
from tests.portal.test_resilience import PASSWORD, hung_port, sign_in  # noqa: F401 (a fixture)

SCRATCH_DB = 15  # a Redis database of these tests' own (flushed; test_resilience has 12)

pytestmark = pytest.mark.django_db


def user_on(client, path="/"):
    return client.get(path).wsgi_request.user


def with_cookie(cookie):
    client = Client()
    client.cookies["sessionid"] = cookie
    return client


def test_a_signed_out_cookie_stays_signed_out_after_the_cache_hung_through_the_sign_out(client, redis_cache, hung_port):
    # What a cached session (Django's cached_db) gets wrong: the sign-out's delete from the hung cache is lost, and
    # once Redis answers again the old cookie would be read from it and signed in.
    f.UserFactory(username="longshi", password=PASSWORD)
    assert sign_in(client, "longshi").status_code == 302
    assert user_on(client).is_authenticated  # read (and, with a cached session, cached) while Redis answers
    cookie = client.cookies["sessionid"].value

    redis_cache(f"redis://127.0.0.1:{hung_port}/0")  # Redis hangs
    client.post(reverse("account_logout"))
    assert not user_on(client).is_authenticated

    redis_cache()  # Redis answers again, holding what it held before the sign-out
    assert not user_on(with_cookie(cookie)).is_authenticated
    assert not UserSession.objects.filter(session_key=cookie).exists()


def test_sessions_outlive_the_cache(client, redis_cache, real_redis):
    f.UserFactory(username="longshi", password=PASSWORD)
    sign_in(client, "longshi")
    real_redis.flushdb()  # Redis restarted empty
    assert user_on(client).username == "longshi"


def test_a_page_reads_its_session_and_its_user_in_one_query(client):
    user = f.UserFactory(username="longshi")
    client.force_login(user)
    assert UserSession.objects.get().user_id == user.pk
    with CaptureQueriesContext(connection) as captured:
        seen = user_on(client, reverse("account_email"))
    assert seen.pk == user.pk and seen.is_authenticated
    sqls = [query["sql"] for query in captured.captured_queries]
    assert "portal_usersession" in sqls[0] and "portal_user" in sqls[0].split("FROM", 1)[1], sqls[0]
    assert not any(sql.split("FROM", 1)[1].lstrip().startswith('"portal_user"') for sql in sqls if "FROM" in sql)


def test_a_switched_off_user_is_signed_out_on_the_next_request(client):
    user = f.UserFactory(username="longshi")
    client.force_login(user)
    assert user_on(client).is_authenticated
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert not user_on(client).is_authenticated


def test_a_password_changed_elsewhere_signs_the_session_out(client):
    user = f.UserFactory(username="longshi")
    client.force_login(user)
    assert user_on(client).is_authenticated
    user.set_password("another-long-pass-phrase-2")
    user.save()
    assert not user_on(client).is_authenticated


def test_a_session_whose_row_names_nobody_still_reads_its_user(client):
    # Sessions moved from django_session whose data could not be read then (another secret key) have no user id:
    # the user is read on its own, as before.
    user = f.UserFactory(username="longshi")
    client.force_login(user)
    UserSession.objects.update(user=None)
    assert user_on(client).pk == user.pk


def test_a_deleted_users_session_is_signed_out(client):
    user = f.UserFactory(username="longshi")
    client.force_login(user)
    assert user_on(client).is_authenticated
    user.delete()
    assert not user_on(client).is_authenticated


def prepared_session_reads():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                       ["%FROM \"portal_usersession\"%"])
        return cursor.fetchone()[0]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_the_session_read_is_planned_once_per_connection(client, settings):
    # one prepared statement, whoever signs in and however many pages they load: its text is the same for all
    first, second = f.UserFactory(username="longshi"), f.UserFactory(username="shuangcun")
    other = Client()
    client.force_login(first)
    other.force_login(second)
    for _ in range(3):
        assert user_on(client, reverse("account_email")).pk == first.pk
        assert user_on(other, reverse("account_email")).pk == second.pk
    assert prepared_session_reads() == 1
    assert user_on(with_cookie("no-such-session")).is_anonymous  # an unknown key is still nobody


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_database_prepared_off_prepares_nothing(client, settings):
    settings.DATABASE_PREPARED = False
    assert prepared_session_reads() == 0  # each test starts clean: the last one's rollback deallocated everything
    user = f.UserFactory(username="longshi")
    client.force_login(user)
    for _ in range(3):
        assert user_on(client, reverse("account_email")).pk == user.pk
    assert prepared_session_reads() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_migration_that_changes_a_column_the_session_reads_signs_nobody_out(client):
    # a deployment migrates while the web processes run: their prepared session read no longer matches the table
    user = f.UserFactory(username="longshi")
    client.force_login(user)
    assert user_on(client, reverse("account_email")).pk == user.pk
    assert prepared_session_reads() == 1
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE portal_user ALTER COLUMN full_name TYPE varchar(61)")
    try:
        assert user_on(client, reverse("account_email")).pk == user.pk  # read again on a new connection
        assert user_on(client, reverse("account_email")).pk == user.pk
        assert prepared_session_reads() == 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE portal_user ALTER COLUMN full_name TYPE varchar(60)")
