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


def test_chinese_first_whatever_the_browser_says(client, db):
    page = client.get(reverse("account_login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert 'lang="zh-hans"' in page
    assert "登录" in page
    # the switch still gives English
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert 'lang="en"' in client.get(reverse("account_login")).content.decode()


def test_login_page_offers_no_sign_up(client, db):
    page = client.get(reverse("account_login")).content.decode()
    assert reverse("account_signup") not in page


def test_not_found_page_is_the_portals_own(client, world):
    client.force_login(world["users"]["village"])
    response = client.get("/pairings/999999/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "页面不存在" in page or "Page not found" in page
    assert 'href="/"' in page


def test_language_switch_names_english_in_english(client, db):
    page = client.get(reverse("account_login")).content.decode()
    assert 'lang="en">English</button>' in page
