"""A request the test client leaves open (a streamed response not read to its end sends request_finished only when
closed) keeps no version token into the next test: that test runs outside any request, where every call reads the
cache (portal/versioned.py). The two tests below run in this order."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from portal import versioned

pytestmark = pytest.mark.django_db


def test_a_streamed_export_checked_for_its_status_only(client, world):
    client.force_login(world["users"]["admin"])
    response = client.get(reverse("activities:export"))
    assert response.status_code == 200 and response.streaming  # left unread, as a status check leaves it
    assert versioned._request.tokens is not None  # the request is not over until its stream is closed


def test_the_next_test_reads_the_tokens_at_every_call(world):
    assert getattr(versioned._request, "tokens", None) is None
    versioned.setup_version()
    cache.set(versioned.VERSION_KEY, "made-elsewhere", None)
    assert versioned.setup_version() == "made-elsewhere"
