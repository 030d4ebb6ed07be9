"""The pairing page keeps the pairing as the user reads it (pairings.selectors.kept_pairing) until the set-up changes,
or the rollup: the rollup writes the pairing's last_activity_on (raw SQL, no signal), which its warnings read."""

import datetime

import pytest

from figures.cache import rollup_changed
from pairings.models import Pairing
from pairings.selectors import kept_pairing
from portal import versioned
from portal.models import SetupToken

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_request_left():
    yield
    versioned._end_request()  # the "requests" begun by signed_in end with the test


def signed_in(user):
    """The user as a new request's session read gives it: with the set-up's token in the database."""
    versioned._begin_request()  # what request_started does for this module (its other receivers close connections)
    setattr(user, versioned.SETUP_TOKEN_WITH_SESSION, SetupToken.objects.get().token)
    return user


def test_a_kept_pairing_is_read_again_once_the_rollup_or_the_set_up_changes(world):
    user, pk = signed_in(world["users"]["admin"]), world["pairing"].pk
    reads = []

    def read():
        reads.append(1)
        return Pairing.objects.get(pk=pk)

    assert kept_pairing(user, pk, read).pk == pk
    assert kept_pairing(user, pk, read).pk == pk
    assert len(reads) == 1
    Pairing.objects.filter(pk=pk).update(last_activity_on=datetime.date(2024, 5, 1))  # as the rollup writes it
    rollup_changed()
    assert kept_pairing(user, pk, read).last_activity_on == datetime.date(2024, 5, 1)
    assert len(reads) == 2
    versioned.setup_changed()
    kept_pairing(signed_in(user), pk, read)
    assert len(reads) == 3


def test_a_pairing_is_not_kept_for_a_user_not_read_with_a_session(world):
    """Without the database's token (a task, a command) the key could not follow a change the cache missed."""
    user, pk = world["users"]["admin"], world["pairing"].pk
    reads = []

    def read():
        reads.append(1)
        return Pairing.objects.get(pk=pk)

    kept_pairing(user, pk, read)
    kept_pairing(user, pk, read)
    assert len(reads) == 2
