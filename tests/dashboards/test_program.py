"""The program dashboard (项目看板): its figures equal raw SQL over the activities, it is the program admins' only,
its query count does not grow with the pairings, its links open what was counted, and on a phone it fits."""

import datetime
import random
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from figures import selectors
from portal.models import Membership, Organization
from dashboards.program import PER_PAGE
from tests import factories as f
from tests.activities.test_browser import chromium  # noqa: F401  (the fixture)
from tests.figures.test_rollups import dec, sql

pytestmark = pytest.mark.django_db

COUNTED = "a.status IN ('submitted', 'confirmed') AND a.deleted_at IS NULL"


def url(program, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return reverse("dashboards:program_dashboard", args=[program.pk]) + (f"?{query}" if query else "")


def sql_program_year(program_id, year):
    """The program's year as raw SQL computes it from the activities."""
    where = f"{COUNTED} AND p.program_id = %s AND a.date >= %s AND a.date <= %s"
    params = [program_id, datetime.date(year, 1, 1), datetime.date(year, 12, 31)]
    (n, confirmed, people), = sql(
        "SELECT COUNT(*), SUM(CASE WHEN a.status = 'confirmed' THEN 1 ELSE 0 END), SUM(a.residents_served) "
        f"FROM activities_activity a JOIN pairings_pairing p ON p.id = a.pairing_id WHERE {where}", params
    )
    (hours,), = sql(
        "SELECT SUM(r.hours) FROM activities_servicerecord r JOIN activities_activity a ON a.id = r.activity_id "
        f"JOIN pairings_pairing p ON p.id = a.pairing_id WHERE {where} AND r.status = 'verified' AND r.deleted_at IS NULL",
        params,
    )
    metrics = dict(sql(
        "SELECT v.metric_id, SUM(v.value) FROM activities_activitymetricvalue v JOIN activities_activity a "
        f"ON a.id = v.activity_id JOIN pairings_pairing p ON p.id = a.pairing_id WHERE {where} GROUP BY v.metric_id",
        params,
    ))
    per_pairing = {
        pairing: (count, served or 0)
        for pairing, count, served in sql(
            "SELECT a.pairing_id, COUNT(*), SUM(a.residents_served) FROM activities_activity a "
            f"JOIN pairings_pairing p ON p.id = a.pairing_id WHERE {where} GROUP BY a.pairing_id",
            params,
        )
    }
    return {"activities": n, "confirmed": confirmed or 0, "people": people or 0, "hours": dec(hours, "0.1"),
            "metrics": {k: dec(v) for k, v in metrics.items()}, "pairings": per_pairing}


def life(world, pairings, rng, years=(2023, 2024)):
    """Activities in every status over two years in the given pairings, with figures and hours."""
    from tests.reports.conftest import activity

    program = world["program"]
    metrics = [
        f.MetricFactory(program=program, code="repairs", name="维修家电", unit="件", order=1),
        f.MetricFactory(program=program, code="served", name="服务群众", unit="人次", order=2),
        f.MetricFactory(program=program, code="income", name="人均纯收入", unit="元", aggregation="snapshot", order=3),
    ]
    for pairing in pairings:
        branch = f.OrganizationFactory(kind=Organization.Kind.BRANCH)
        for _ in range(rng.randint(0, 6)):
            day = datetime.date(rng.choice(years), rng.randint(1, 12), rng.randint(1, 28))
            act = activity(pairing, branch, day.isoformat(), status=rng.choice(["draft", "submitted", "confirmed", "confirmed", "returned"]),
                           residents_served=rng.randint(0, 50))
            for metric in rng.sample(metrics, rng.randint(0, 3)):
                f.ActivityMetricValueFactory(activity=act, metric=metric, value=Decimal(rng.randint(1, 30)))
            for _ in range(rng.randint(0, 2)):
                f.ServiceRecordFactory(activity=act, hours=Decimal(rng.randint(1, 8)) / 2,
                                       status=rng.choice(["recorded", "verified"]), verified_at=timezone.now())
            if rng.random() < 0.1:
                act.deleted_at = timezone.now()
                act.save(update_fields=["deleted_at"])
    return metrics


@pytest.fixture
def program_life(world, django_capture_on_commit_callbacks):
    rng = random.Random(2024)
    pairings = [world["pairing"]] + [f.PairingFactory(program=world["program"]) for _ in range(5)]
    with django_capture_on_commit_callbacks(execute=True):
        metrics = life(world, pairings, rng)
        # another program's work never counts here
        other = f.PairingFactory(program=world["other_program"])
        from tests.reports.conftest import activity

        activity(other, f.OrganizationFactory(kind=Organization.Kind.BRANCH), "2024-05-01", residents_served=999)
    return {"pairings": pairings, "metrics": metrics}


def test_figures_equal_raw_sql(client, world, program_life):
    client.force_login(world["users"]["admin"])
    response = client.get(url(world["program"], year=2024, sort="name"))
    assert response.status_code == 200
    page = response.context
    for year, key in ((2024, "value"), (2023, "previous")):
        expected = sql_program_year(world["program"].pk, year)
        totals = {name: getattr(change, key) for name, change in page["totals"].items()}
        assert totals["activities"] == expected["activities"] > 0
        assert totals["confirmed"] == expected["confirmed"]
        assert totals["people"] == expected["people"]
        assert dec(totals["hours"], "0.1") == expected["hours"]
        assert totals["pairings"] == len(expected["pairings"])
        sums = {metric.pk: dec(getattr(change, key)) for metric, change in page["metrics"]}
        assert sums == {m.pk: expected["metrics"].get(m.pk, dec(0)) for m in program_life["metrics"] if m.aggregation == "sum"}
    expected = sql_program_year(world["program"].pk, 2024)
    rows = {row.pk: row for row in page["rows"]}
    assert set(rows) == {p.pk for p in program_life["pairings"]}
    for pk, row in rows.items():
        assert (row.activities, row.people) == expected["pairings"].get(pk, (0, 0))
        headline = selectors.pairing_headline(type(world["pairing"]).objects.get(pk=pk), 2024)
        assert (row.activities, row.people, row.hours) == (headline.activities, headline.people_served, headline.volunteer_hours)
        for (value, link), figure in zip(row.metrics, headline.metrics):
            assert (value or Decimal(0)) == figure.value
            assert link == (figure.url if value is not None else row.url)
    months = page["months"]
    assert sum((m["this"].activities if m["this"] else 0) for m in months) == expected["activities"]


def test_each_row_links_to_the_activities_it_was_counted_from(client, world, program_life):
    client.force_login(world["users"]["admin"])
    html = client.get(url(world["program"], year=2024)).content.decode()
    pairing = world["pairing"]
    link = selectors.activity_list_url(pairing_id=pairing.pk, date_after=datetime.date(2024, 1, 1), date_before=datetime.date(2024, 12, 31))
    assert html.count(f'href="{link.replace("&", "&amp;")}"') >= 3  # activities, people, hours (and sum metrics)
    assert f'href="/pairings/{pairing.pk}/?year=2024"' in html


def test_the_latest_year_with_activity_is_shown_by_default(client, world, program_life):
    client.force_login(world["users"]["superuser"])
    response = client.get(url(world["program"]))
    assert response.status_code == 200 and response.context["year"] == 2024 and response.context["previous"] == 2023


def test_a_bad_year_is_a_form_error_not_a_500(client, world):
    client.force_login(world["users"]["admin"])
    for bad in ("abc", "1999", "3000"):
        response = client.get(url(world["program"], year=bad))
        assert response.status_code == 400
        assert response.context["form"].errors["year"]
    assert client.get(url(world["program"], sort="nonsense")).status_code == 400


def test_only_the_programs_admins_see_it(client, world):
    """An admin of another program's office: the program is not there for them (404), nor for its committee."""
    other_office = f.OrganizationFactory(name="另一项目办", kind=Organization.Kind.GOVERNMENT)
    world["other_program"].office = other_office
    world["other_program"].save()
    other_admin = f.UserFactory(username="other_admin")
    f.MembershipFactory(user=other_admin, organization=other_office, role=Membership.Role.ADMIN)
    client.force_login(other_admin)
    assert client.get(url(world["program"])).status_code == 404
    assert client.get(url(world["other_program"])).status_code == 200
    assert client.get(reverse("dashboards:program_dashboard", args=[999999])).status_code == 404
    client.force_login(world["users"]["committee"])
    assert client.get(url(world["program"])).status_code == 404


def test_the_admins_pages_link_to_it(client, world):
    client.force_login(world["users"]["admin"])
    assert reverse("dashboards:program_list") in client.get(reverse("home")).content.decode()
    listing = client.get(reverse("dashboards:program_list")).content.decode()
    assert reverse("dashboards:program_dashboard", args=[world["program"].pk]) in listing
    assert reverse("dashboards:program_dashboard", args=[world["other_program"].pk]) not in listing
    assert reverse("dashboards:program_list") in client.get(reverse("reports:report_list")).content.decode()
    client.force_login(world["users"]["secretary"])
    assert reverse("dashboards:program_list") not in client.get(reverse("home")).content.decode()


def test_dormant_pairings_come_first_and_are_flagged(client, world, django_capture_on_commit_callbacks):
    from tests.reports.conftest import activity

    today = timezone.localdate()
    lively = f.PairingFactory(program=world["program"], term_start=today - datetime.timedelta(days=400), term_end=None)
    sleepy = f.PairingFactory(program=world["program"], term_start=today - datetime.timedelta(days=400), term_end=None)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            activity(lively, world["branch"], (today - datetime.timedelta(days=5)).isoformat())
        activity(sleepy, world["branch"], (today - datetime.timedelta(days=90)).isoformat())
    client.force_login(world["users"]["admin"])
    rows = client.get(url(world["program"], year=today.year)).context["rows"]
    order = [r.pk for r in rows]
    flags = [r.dormant for r in rows]
    assert flags == sorted(flags, reverse=True)  # the dormant first
    assert flags[order.index(sleepy.pk)] and not flags[order.index(lively.pk)]
    by_activities = client.get(url(world["program"], year=today.year, sort="activities")).context["rows"]
    assert by_activities[0].pk == lively.pk
    html = client.get(url(world["program"], year=today.year)).content.decode()
    assert 'class="dormant"' in html


def test_each_row_shows_the_pairings_state(client, world):
    """A pairing past its term but still flagged active reads 期满 here too, as on the pairing pages."""
    today = timezone.localdate()
    world["pairing"].term_end = today - datetime.timedelta(days=1)
    world["pairing"].save()
    suspended = f.PairingFactory(program=world["program"], status="suspended", term_end=None)
    running = f.PairingFactory(program=world["program"], term_end=today)
    client.force_login(world["users"]["admin"])
    response = client.get(url(world["program"], year=today.year))
    states = {r.pk: r.state for r in response.context["rows"]}
    assert states == {world["pairing"].pk: "expired", suspended.pk: "suspended", running.pk: "active"}
    html = response.content.decode()
    assert '<span class="badge badge-bad">期满</span>' in html and '<span class="badge badge-warn">已暂停</span>' in html
    assert '<span class="badge badge-ok">有效</span>' not in html  # the usual state is not repeated on every row


def test_pairings_are_paged(client, world):
    for _ in range(PER_PAGE + 3):
        f.PairingFactory(program=world["program"])
    client.force_login(world["users"]["admin"])
    first = client.get(url(world["program"], year=2024, sort="name"))
    second = client.get(url(world["program"], year=2024, sort="name", page=2))
    assert len(first.context["rows"]) == PER_PAGE and len(second.context["rows"]) == 4  # + the world's pairing
    assert not {r.pk for r in first.context["rows"]} & {r.pk for r in second.context["rows"]}


def _data_queries(captured):
    """The dashboard's own queries: not the session, the user or the user's scope (shared by every page)."""
    skip = re.compile(r'"portal_usersession"|FROM "portal_user"|portal_membership|FROM "reports_notification"', re.I)
    return [q["sql"] for q in captured.captured_queries if not skip.search(q["sql"])]


@pytest.mark.parametrize("role", ["admin", "superuser"])
def test_queries_do_not_grow_with_the_pairings(client, world, django_capture_on_commit_callbacks, role):
    client.force_login(world["users"][role])
    counts = []
    rng = random.Random(5)
    for n in (1, 30):
        pairings = [f.PairingFactory(program=world["program"]) for _ in range(n)]
        with django_capture_on_commit_callbacks(execute=True):
            if n == 1:
                life(world, pairings, rng)
            else:
                from tests.reports.conftest import activity

                for pairing in pairings:
                    activity(pairing, world["branch"], "2024-06-01", residents_served=3)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url(world["program"], year=2024))
        assert response.status_code == 200
        counts.append((len(captured), len(_data_queries(captured))))
    assert counts[0] == counts[1], counts
    # the program with its figures (one UNION), one page of pairings; with the session, its user and the header's
    # unread count (one query), and scope: four
    assert counts[0] == (4, 2), counts
    assert not [q for q in _data_queries(captured) if "activities_activity" in q]  # the rollup only


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_on_a_phone_over_the_demo(chromium, live_server, settings, tmp_path):
    """The demo's program admin (office, not staff) opens the 双联双助 dashboard for this year on a 375 px phone:
    the page does not scroll sideways (wide tables scroll inside their box) and 中山中专–龙石村 shows its activities
    and 人次 of the year so far. Screenshot dashboard-phone.png in artifacts/screenshots/."""
    from django.core.management import call_command

    from pairings.models import Pairing, Program
    from tests.activities.test_browser import phone, shot

    settings.MEDIA_ROOT = tmp_path
    call_command("load_demo", verbosity=0)
    program = Program.objects.get(code="slsz")  # 双联双助
    year = timezone.localdate().year
    headline = selectors.pairing_headline(Pairing.objects.get(program=program, supported__name="龙石村"), year)
    assert headline.activities > 0
    page = phone(chromium, live_server, "office")
    page.goto(f"{live_server.url}{url(program, year=year)}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    boxes = page.eval_on_selector_all(".table-scroll", "els => els.map(e => [e.scrollWidth, e.clientWidth])")
    assert boxes and all(client <= 375 for _scroll, client in boxes)
    assert any(scroll > client for scroll, client in boxes)  # the pairing table is wider than the phone
    row = page.locator("table.dashboard-pairings tbody tr", has_text="龙石村")
    cells = row.locator("td").all_inner_texts()
    assert [int(cell.replace(",", "")) for cell in cells[:2]] == [headline.activities, headline.people_served]
    assert page.locator("svg.chart").count() == 1
    shot(page, "dashboard-phone")


def test_the_confirmed_figure_counts_the_program_wide_work_its_admins_confirmed(client, world, django_capture_on_commit_callbacks):
    """A program's 已验单 includes its program-wide activities, which its admins (not a village) confirm: the label
    says 其中已验单, not 其中村（社区）已验单."""
    day = datetime.date(2024, 5, 6)
    moment = timezone.make_aware(datetime.datetime(2024, 5, 7, 10))
    with django_capture_on_commit_callbacks(execute=True):
        f.ActivityFactory(pairing=world["pairing"], branch=world["branch"], date=day, status="confirmed",
                          submitted_at=moment, confirmed_at=moment)
        f.ActivityFactory(pairing=None, program=world["program"], branch=world["branch"], date=day, status="confirmed",
                          submitted_at=moment, confirmed_at=moment)
    client.force_login(world["users"]["admin"])
    response = client.get(url(world["program"], year=2024))
    assert response.context["totals"]["confirmed"].value == 2
    page = response.content.decode()
    assert "其中已验单" in page and "其中村（社区）已验单" not in page
