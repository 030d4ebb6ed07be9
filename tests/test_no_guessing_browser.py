"""In a real browser: longshi signs in and types the addresses of tianxin's pages; every one is 'not found'."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from activities.models import Activity, Need
from pairings.models import Pairing
from tests.activities.test_browser import chromium, phone, shot  # noqa: F401 — the shared browser fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_longshi_meets_404_on_every_tianxin_page(chromium, live_server, settings, tmp_path):  # noqa: F811
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path  # the demo's photos
    call_command("load_demo", verbosity=0)
    tianxin = Pairing.objects.get(supported__name__contains="田心村")
    urls = [reverse("pairings:pairing_detail", args=[tianxin.pk])]
    urls += [reverse("activities:detail", args=[a.pk]) for a in Activity.objects.filter(pairing=tianxin)[:3]]
    plan = tianxin.plans.first()
    if plan:
        urls.append(reverse("pairings:plan_detail", args=[plan.pk]))
    assert Need.objects.filter(pairing=tianxin).exists()

    page = phone(chromium, live_server, "longshi")
    for i, url in enumerate(urls):
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 404, url
        assert "田心村" not in page.content()
        if i == 0:
            shot(page, "guess-01-longshi-tianxin-pairing-404")
    # and the pages of longshi's own pairing do open
    own = Pairing.objects.get(supported__name__contains="龙石村")
    assert page.goto(f"{live_server.url}{reverse('pairings:pairing_detail', args=[own.pk])}").status == 200
