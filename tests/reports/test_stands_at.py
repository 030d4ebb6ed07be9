"""A report stands at a moment: the end of its period, or the build if earlier. What tests/figures/test_one_truth.py
found where a report and the pages (or the activity export under a report's link) disagreed about that moment:

- the running period's report called an item due today overdue, where the plan page and the pairing page do not;
- a need raised days ago counted as open for over 30 days in the running year's report (30 days before the year's
  end), and a need answered and rated after a past period's end did not count as open at that end;
- a past period's program report left out a pairing past its term whose activity counted then but was returned
  since, while the pairing's own report of the period counts it;
- the activity export opened from a past period's report (its ``as_at`` link) showed the hours verified since as
  verified, so its column did not add up to the report's figure.
"""

import csv
import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from activities import exports, services
from figures.selectors import activity_list_url
from pairings.models import PlanItem
from reports.builders import build_report_data
from reports.generation import scopes_to_generate
from reports.periods import TZ
from tests import factories as f

pytestmark = pytest.mark.django_db


def at(text):
    return datetime.datetime.fromisoformat(text).replace(tzinfo=TZ)


def when(text):
    return time_machine.travel(at(text), tick=False)


def fields(world, day, **extra):
    return services.ActivityFields(
        pairing=extra.pop("pairing", world["pairing"]), activity_type=f.ActivityTypeFactory(), title="入户走访",
        date=datetime.date.fromisoformat(day), residents_served=5, **extra,
    )


def test_an_item_due_today_is_not_yet_overdue_in_the_running_periods_report(client, world):
    pairing = world["pairing"]
    plan = f.JointPlanFactory(pairing=pairing, year=2024)
    due_today = f.PlanItemFactory(
        plan=plan, title="今天到期", due_date=datetime.date(2024, 5, 20), status=PlanItem.Status.IN_PROGRESS
    )
    due_before = f.PlanItemFactory(plan=plan, title="昨天到期", due_date=datetime.date(2024, 5, 19), status=PlanItem.Status.PLANNED)
    with when("2024-05-20 10:00"):
        running = build_report_data("monthly", "2024-05", world["program"], pairing)
        client.force_login(world["users"]["admin"])
        page = client.get(reverse("pairings:plan_detail", args=[plan.pk]))
    assert [row["id"] for row in running["plan"]["overdue"]] == [due_before.pk]
    assert page.context["overdue"] == 1  # the plan page says the same
    with when("2024-06-01 10:00"):  # the month has ended: open at its end and due by then
        ended = build_report_data("monthly", "2024-05", world["program"], pairing)
    assert {row["id"] for row in ended["plan"]["overdue"]} == {due_today.pk, due_before.pk}


def needs_open_over_30(data):
    return data["needs"]["open_over_30"], [need["title"] for need in data["needs"]["stale"]]


def test_needs_open_over_30_days_are_counted_at_the_moment_the_report_stands(world):
    pairing, village, secretary = world["pairing"], world["users"]["village"], world["users"]["secretary"]
    with when("2024-01-02 10:00"):
        old = services.need_raise(actor=village, pairing=pairing, title="修缮健身器材")
    with when("2024-05-10 10:00"):
        services.need_raise(actor=village, pairing=pairing, title="路灯维修")
    with when("2024-05-20 10:00"):  # the year is under way: the May need has waited ten days, not thirty
        running = build_report_data("annual", "2024", world["program"], pairing)
    assert needs_open_over_30(running) == (1, ["修缮健身器材"])
    assert running["needs"]["stale"][0]["days_open"] == 139  # up to the build, not up to the year's end
    # the old need is answered and rated in April: at the end of March it was still open, for 89 days
    with when("2024-04-02 10:00"):
        services.need_claim(need=old, actor=secretary)
        answer = services.activity_create(actor=secretary, fields=fields(world, "2024-04-02"), submit=True).activity
        services.need_fulfil(need=old, actor=secretary, activity=answer)
        services.need_rate(need=old, actor=village, rating=5)
    with when("2024-05-20 10:00"):
        march = build_report_data("monthly", "2024-03", world["program"], pairing)
    assert needs_open_over_30(march) == (1, ["修缮健身器材"])


def test_a_past_periods_program_report_covers_a_pairing_by_what_counted_then(world):
    """A pairing past its term is covered where it has counted activities: those that counted at the period's
    end, as the report counts them, not those that count today."""
    program, pairing, secretary = world["program"], world["pairing"], world["users"]["secretary"]
    pairing.term_end = datetime.date(2023, 12, 31)
    pairing.save()
    with when("2024-03-05 10:00"):
        activity = services.activity_create(actor=secretary, fields=fields(world, "2024-03-05"), submit=True).activity
    with when("2024-04-03 10:00"):
        services.activity_return(activity=activity, actor=world["users"]["village"], comment="请补充照片")
        program_report = build_report_data("quarterly", "2024Q1", program)
        pairing_report = build_report_data("quarterly", "2024Q1", program, pairing)
        scopes = scopes_to_generate("quarterly", "2024Q1")
    assert pairing_report["activities"]["total"] == 1  # submitted at the end of March
    assert [p["id"] for p in program_report["pairings"]] == [pairing.pk]
    assert program_report["activities"]["total"] == 1
    assert (program.pk, pairing.pk) in scopes  # and the scheduled job gives it its own report


def export_hours(client, url, fmt):
    """(verified, pending) hours added up from the export of the list's filters in `url`."""
    query = url.split("?", 1)[1]
    response = client.get(f"{reverse('activities:export' if fmt == 'csv' else 'activities:export_xlsx')}?{query}")
    assert response.status_code == 200
    columns = [exports.CSV_FIELDS.index("verified_hours"), exports.CSV_FIELDS.index("pending_hours")]
    if fmt == "csv":
        body = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
        _header, *rows = list(csv.reader(io.StringIO(body)))
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
        _header, *rows = list(sheet.iter_rows(values_only=True))
    assert rows
    return tuple(sum((Decimal(str(row[n])) for row in rows if row[n] not in (None, "")), Decimal(0)) for n in columns)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_export_of_a_past_reports_link_shows_the_hours_as_they_stood(client, world, fmt):
    secretary = world["users"]["secretary"]
    volunteers = [f.VolunteerFactory(organization=world["branch"]) for _ in range(2)]
    with when("2024-03-05 10:00"):
        activity = services.activity_create(
            actor=secretary, fields=fields(world, "2024-03-05"), submit=True,
            service_records=[services.HoursEntry(hours=Decimal("2"), volunteer=volunteers[0]),
                             services.HoursEntry(hours=Decimal("3"), volunteer=volunteers[1])],
        ).activity
    with when("2024-03-20 10:00"):
        services.service_records_verify(records=activity.service_records.filter(volunteer=volunteers[0]), actor=secretary)
    with when("2024-04-10 10:00"):  # after the quarter: verified since, so pending at its end
        services.service_records_verify(records=activity.service_records.all(), actor=secretary)
        data = build_report_data("quarterly", "2024Q1", world["program"], world["pairing"])
        assert (data["volunteers"]["verified_hours"], data["volunteers"]["pending_hours"]) == (2, 3)
        link = activity_list_url(
            pairing_id=world["pairing"].pk, date_after=datetime.date(2024, 1, 1), date_before=datetime.date(2024, 3, 31),
            as_at=datetime.date(2024, 3, 31),
        )
        client.force_login(world["users"]["admin"])
        assert export_hours(client, link, fmt) == (Decimal(2), Decimal(3))
        # without the as-at day, the hours as they stand now
        assert export_hours(client, link.replace("&as_at=2024-03-31", ""), fmt) == (Decimal(5), Decimal(0))
