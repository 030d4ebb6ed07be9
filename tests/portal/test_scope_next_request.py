"""Every write that changes what a user reaches is seen by the user's next page: a role given or taken, an
organisation or the user switched off, the superuser flag taken away. The scope and the user are read fresh with
every request; these guard any cache of them (a scope cached under the set-up's version passes the first three
only while the version's replacement reaches Redis, docs/scaling.md)."""

import pytest
from django.urls import reverse

from portal import services
from portal.models import Membership

pytestmark = pytest.mark.django_db


def status_of_pairing(client, world):
    return client.get(reverse("pairings:pairing_detail", args=[world["pairing"].pk])).status_code


@pytest.fixture
def secretary(client, world):
    user = world["users"]["secretary"]
    client.force_login(user)
    assert status_of_pairing(client, world) == 200
    return user


def test_a_role_taken_away_is_seen_by_the_next_page(client, world, secretary):
    services.membership_remove(actor=world["users"]["superuser"], membership=Membership.objects.get(user=secretary))
    assert status_of_pairing(client, world) == 404


def test_a_role_given_is_seen_by_the_next_page(client, world):
    newcomer = world["users"]["outsider"]
    client.force_login(newcomer)
    assert status_of_pairing(client, world) == 404
    services.membership_add(actor=world["users"]["superuser"], user=newcomer, organization=world["branch"],
                            role=Membership.Role.SECRETARY)
    assert status_of_pairing(client, world) == 200


def test_an_organisation_switched_off_is_seen_by_the_next_page(client, world, secretary):
    services.organization_set_active(actor=world["users"]["superuser"], organization=world["branch"], active=False)
    assert status_of_pairing(client, world) == 404


def test_a_user_switched_off_is_signed_out_on_the_next_page(client, world, secretary):
    secretary.is_active = False
    secretary.save(update_fields=["is_active"])
    response = client.get(reverse("pairings:pairing_detail", args=[world["pairing"].pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_superuser_flag_taken_away_is_seen_by_the_next_page(client, world):
    root = world["users"]["superuser"]
    client.force_login(root)
    other = reverse("pairings:pairing_detail", args=[world["other_pairing"].pk])
    assert client.get(other).status_code == 200
    root.is_superuser = False
    root.save(update_fields=["is_superuser"])
    assert client.get(other).status_code == 404
