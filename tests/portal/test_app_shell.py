"""The page frame: a skip link, the current menu entry marked, messages announced, the icons and the web app
manifest a phone installs the portal from."""

import json

import pytest
from django.contrib.staticfiles import finders
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse
from PIL import Image


@pytest.mark.django_db
def test_the_frame_has_a_skip_link_a_live_messages_region_and_the_icons(client, world):
    client.force_login(world["users"]["secretary"])
    page = client.get(reverse("activities:list")).content.decode()
    assert page.index('class="skip-link" href="#main"') < page.index('<header class="topbar">')
    assert '<main class="page" id="main" tabindex="-1">' in page
    assert '<div class="messages-region" aria-live="polite">' in page
    assert f'<link rel="manifest" href="{reverse("manifest")}">' in page
    assert 'rel="icon"' in page and 'rel="apple-touch-icon"' in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url_name, current",
    [("activities:list", "activities:list"), ("activities:need_list", "activities:need_list"),
     ("home", "home"), ("pairings:pairing_list", "pairings:pairing_list")],
)
def test_the_menu_marks_the_page_it_is_on_and_only_that(client, world, url_name, current):
    client.force_login(world["users"]["secretary"])
    page = client.get(reverse(url_name)).content.decode()
    nav = page.split('<nav class="topnav">', 1)[1].split("</nav>", 1)[0]
    assert nav.count('aria-current="page"') == 1
    assert f'<a href="{reverse(current)}" aria-current="page">' in nav


def test_nav_current_prefers_the_longest_match_and_home_only_when_there():
    template = Template("{% load portal_tags %}{% nav_current '/' '/activities/' '/activities/needs/' as c %}[{{ c }}]")
    for path, expected in [("/", "/"), ("/activities/12/", "/activities/"), ("/activities/needs/3/", "/activities/needs/"),
                           ("/reports/", "")]:
        assert template.render(Context({"request": RequestFactory().get(path)})) == f"[{expected}]"


def test_the_manifest(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    data = json.loads(response.content)
    assert data["name"] == "结对共建" and data["start_url"] == "/" and data["display"] == "standalone"
    sizes = {icon["sizes"] for icon in data["icons"] if icon["type"] == "image/png"}
    assert {"192x192", "512x512"} <= sizes
    assert any(icon.get("purpose") == "maskable" for icon in data["icons"])
    for icon in data["icons"]:
        name = icon["src"].removeprefix("/static/")
        path = finders.find(name)
        assert path, icon["src"]
        if icon["type"] == "image/png":
            with Image.open(path) as image:
                assert f"{image.width}x{image.height}" == icon["sizes"]


def test_the_favicon_holds_the_small_sizes():
    with Image.open(finders.find("icons/favicon.ico")) as ico:
        assert {(16, 16), (32, 32), (48, 48)} <= set(ico.info["sizes"])
