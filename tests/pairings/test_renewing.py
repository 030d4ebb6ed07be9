"""续签中 (renewal under way): a pairing whose term has ended and that a program admin has marked being renewed
shows 续签中 instead of 期满, one state everywhere (the pairing list, its page, the program dashboard, reports),
and reports still cover it wherever its term or its activities overlap the period."""

import datetime

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from pairings.models import Pairing
from pairings.selectors import pairing_warnings
from reports.builders import build_report_data
from reports.periods import TZ
from reports.renderers.base import document
from tests import factories as f
from tests.pairings.helpers import activity

pytestmark = pytest.mark.django_db

RENEWING_BADGE = '<span class="badge badge-warn">续签中</span>'
EXPIRED_BADGE = '<span class="badge badge-bad">期满</span>'
TODAY = datetime.date(2024, 10, 1)


@pytest.fixture
def pairings(world, time_machine):
    """On 1 October 2024: the world's pairing (term ended 30 September) marked being renewed, another one past
    its term and not marked (期满), one still running (marked early: it changes nothing yet) and one suspended."""
    time_machine.move_to(datetime.datetime(2024, 10, 1, 4, tzinfo=datetime.timezone.utc))  # 12:00 in Shanghai
    program = world["program"]
    renewing = world["pairing"]
    renewing.term_end, renewing.renewing = datetime.date(2024, 9, 30), True
    renewing.save()
    expired = f.PairingFactory(program=program, term_end=datetime.date(2024, 9, 30))
    running = f.PairingFactory(program=program, term_end=datetime.date(2024, 10, 1), renewing=True)
    suspended = f.PairingFactory(program=program, status="suspended", term_end=datetime.date(2024, 1, 31), renewing=True)
    return {"renewing": renewing, "expired": expired, "running": running, "suspended": suspended}


def test_the_state_of_a_pairing_being_renewed(pairings):
    p = pairings
    assert {name: pairing.state for name, pairing in p.items()} == {
        "renewing": "renewing", "expired": "expired", "running": "active", "suspended": "suspended",
    }
    assert p["renewing"].status == "active"  # the flag itself is unchanged
    assert p["renewing"].state_on(datetime.date(2024, 9, 30)) == "active"  # its term's last day
    assert Pairing.state_of("active", datetime.date(2024, 9, 30), TODAY, renewing=True) == Pairing.State.RENEWING
    with translation.override("zh-hans"):
        assert str(p["renewing"].get_state_display()) == "续签中"
    with translation.override("en"):
        assert str(p["renewing"].get_state_display()) == "renewal under way"


def test_it_is_no_longer_warned_about_as_expired(client, world, pairings):
    assert pairing_warnings(pairings["renewing"], TODAY) == []
    assert [w.code for w in pairing_warnings(pairings["expired"], TODAY)] == ["expired"]
    client.force_login(world["users"]["admin"])
    listed = {p.pk for p in client.get(reverse("pairings:pairing_list"), {"warning": "expired"}).context["object_list"]}
    assert listed == {pairings["expired"].pk}


def test_the_pairing_list_and_page_show_it(client, world, pairings):
    client.force_login(world["users"]["village"])
    page = client.get(reverse("pairings:pairing_detail", args=[pairings["renewing"].pk])).content.decode()
    assert RENEWING_BADGE in page and EXPIRED_BADGE not in page
    client.force_login(world["users"]["admin"])
    listing = client.get(reverse("pairings:pairing_list")).content.decode()
    assert listing.count(RENEWING_BADGE) == 1 and listing.count(EXPIRED_BADGE) == 1


def test_the_program_dashboard_shows_it(client, world, pairings):
    client.force_login(world["users"]["admin"])
    response = client.get(reverse("dashboards:program_dashboard", args=[world["program"].pk]), {"year": 2024})
    states = {row.pk: row.state for row in response.context["rows"]}
    assert states[pairings["renewing"].pk] == "renewing" and states[pairings["expired"].pk] == "expired"
    html = response.content.decode()
    assert RENEWING_BADGE in html and EXPIRED_BADGE in html


def test_a_program_admin_marks_it_on_the_agreement_form(client, world, pairings):
    expired = pairings["expired"]
    url = reverse("pairings:agreement_edit", args=[expired.pk])
    client.force_login(world["users"]["admin"])
    assert "renewing" in client.get(url).context["form"].fields
    form = {"term_start": "2023-01-01", "term_end": "2024-09-30", "goals": "", "signed_on": "", "renewing": "on"}
    assert client.post(url, form).status_code == 302
    expired.refresh_from_db()
    assert expired.renewing and expired.state == "renewing"
    assert expired.history.first().renewing  # its history keeps when it was marked
    client.force_login(world["users"]["village"])
    assert client.post(url, {**form, "renewing": ""}).status_code in (403, 404)
    expired.refresh_from_db()
    assert expired.renewing


def test_reports_cover_it_by_its_term_and_show_its_state_then(world):
    """Term ended 15 February 2024, marked being renewed on 1 May: the Q1 report (as at 31 March) covers it
    and shows 期满, as it stood then; the Q2 report, whose period its term does not overlap, covers it through
    its activity of April and shows 续签中; Q3, with neither, does not cover it."""
    with time_machine.travel(datetime.datetime(2023, 12, 1, 9, tzinfo=TZ), tick=False):
        pairing = f.PairingFactory(program=world["program"], term_start=datetime.date(2023, 1, 1), term_end=datetime.date(2024, 2, 15))
    with time_machine.travel(datetime.datetime(2024, 4, 20, 9, tzinfo=TZ), tick=False):
        activity(pairing, f.OrganizationFactory(kind="branch", parent=pairing.supporter), date=datetime.date(2024, 4, 18))
    with time_machine.travel(datetime.datetime(2024, 5, 1, 9, tzinfo=TZ), tick=False):
        pairing.renewing = True
        pairing.save()

    def covered(period):
        data = build_report_data("quarterly", period, world["program"])
        return {row["pairing"]["id"]: row["pairing"]["state"] for row in data["pairing_rows"]}, data

    q1, q1_data = covered("2024Q1")
    q2, q2_data = covered("2024Q2")
    q3, _ = covered("2024Q3")
    assert q1[pairing.pk] == "expired" and q2[pairing.pk] == "renewing" and pairing.pk not in q3
    assert q1[world["pairing"].pk] == "active"
    with translation.override("zh-hans"):
        names = [row[0] for t in document_tables(q2_data, "pairings") for row in t.rows]
        assert f"{pairing}(续签中)" in names and str(world["pairing"]) in names
        own = build_report_data("quarterly", "2024Q2", world["program"], pairing)
        assert ("范围", f"{pairing.supporter.name}—{pairing.supported.name}结对(续签中)") in document_of(own).meta


class _Report:
    """What document() reads of a Report."""

    def __init__(self, data):
        self.data, self.notes, self.status, self.version, self.pk = data, "", "draft", 1, None


def document_of(data):
    return document(_Report(data))


def document_tables(data, key):
    return [t for s in document_of(data).sections for t in s.tables if t.key == key]
