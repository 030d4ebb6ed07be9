import pytest
from django.urls import reverse


def test_login_page_is_chinese(client, db):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.content.decode()


def test_home_needs_login(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_healthz_answers_without_database(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.content == b"ok"


@pytest.mark.django_db
def test_public_signup_is_closed(client):
    response = client.post(
        reverse("account_signup"),
        {"username": "intruder", "email": "x@example.org", "password1": "Aa1!aaaaaaaa", "password2": "Aa1!aaaaaaaa"},
    )
    from portal.models import User

    assert not User.objects.filter(username="intruder").exists()
