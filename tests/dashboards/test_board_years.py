"""The completeness board offers the years of the program: from its first pairing or counted activity to this
year, and refuses another year with a message; reading them costs no query more."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests import factories as f
from tests.pairings.helpers import activity

pytestmark = pytest.mark.django_db


def offered(page):
    select = re.search(r'<select name="year"[^>]*>(.*?)</select>', page, re.S).group(1)
    return [int(year) for year in re.findall(r'<option value="(\d+)"', select)]


def board(client, **params):
    return client.get(reverse("dashboards:completeness"), params)


def this_year():
    return timezone.localdate().year


def test_the_years_begin_with_the_programs_first_pairing(client, world):
    program = world["program"]
    first = min(program.pairings.values_list("term_start", flat=True))
    client.force_login(world["users"]["admin"])
    response = board(client, program=program.pk, year=this_year())
    assert response.status_code == 200
    assert offered(response.content.decode()) == list(range(this_year(), first.year - 1, -1))


def test_an_earlier_counted_activity_opens_its_year(client, world, django_capture_on_commit_callbacks):
    program = world["program"]
    first = min(program.pairings.values_list("term_start", flat=True))
    early = datetime.date(first.year - 3, 6, 1)
    with django_capture_on_commit_callbacks(execute=True):
        activity(world["pairing"], world["branch"], date=early, status="confirmed")
        activity(world["pairing"], world["branch"], date=early.replace(year=early.year - 2), status="draft")  # not counted
    client.force_login(world["users"]["admin"])
    response = board(client, program=program.pk, year=early.year)
    assert response.status_code == 200
    assert offered(response.content.decode()) == list(range(this_year(), early.year - 1, -1))
    assert any(cell["status"] for row in response.context["rows"] for cell in row["cells"])


def test_a_year_before_the_program_is_refused_with_a_message(client, world):
    program = world["program"]
    first = min(program.pairings.values_list("term_start", flat=True))
    client.force_login(world["users"]["admin"])
    response = board(client, program=program.pk, year=first.year - 1)
    assert response.status_code == 400
    page = response.content.decode()
    assert f"请选择{first.year}年至{this_year()}年之间的年份" in page
    assert offered(page)[-1] == first.year


def test_each_program_offers_its_own_years(client, world):
    program = world["other_program"]
    newer = f.PairingFactory(program=program, term_start=datetime.date(this_year() - 1, 3, 1), term_end=None)
    client.force_login(world["users"]["superuser"])
    page = board(client, program=program.pk, year=this_year()).content.decode()
    first = min(program.pairings.values_list("term_start", flat=True))
    assert first <= newer.term_start
    assert offered(page) == list(range(this_year(), first.year - 1, -1))


def test_reading_the_years_costs_no_query(client, world):
    """No query for the program's years: the programs, read once for the page and kept, carry their first dates (one
    query in all once the page is cached, tests/dashboards/test_board_pages.py)."""
    client.force_login(world["users"]["admin"])
    board(client, program=world["program"].pk, year=this_year())
    with CaptureQueriesContext(connection) as captured:
        response = board(client, program=world["program"].pk, year=this_year())
    assert response.status_code == 200
    assert len(captured) == 1, [q["sql"] for q in captured.captured_queries]
