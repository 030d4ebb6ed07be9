"""The volunteer service certificate: numbered, stable, only verified hours, read back with python-docx."""

import datetime
import io
import re
import zipfile
from decimal import Decimal

import docx
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from activities.models import ServiceRecord
from figures.models import PairingMonth
from figures.rollups import rollups_rebuild
from tests import factories as f
from tests.pairings.helpers import activity
from reports import certificates
from reports.certificates import CONTENT_TYPE
from volunteers.models import Certificate

pytestmark = pytest.mark.django_db

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture
def served(world):
    """A volunteer with verified, unverified, deleted and out-of-period service."""
    volunteer = f.VolunteerFactory(organization=world["branch"], name="贾珍", kind="teacher", is_party_member=True)
    pairing, branch = world["pairing"], world["branch"]

    def record(date, hours, status="verified", content="", title="活动"):
        act = activity(pairing, branch, date=datetime.date.fromisoformat(date), title=title)
        return f.ServiceRecordFactory(
            activity=act, volunteer=volunteer, hours=Decimal(hours), status=status, content=content,
            verified_at=timezone.now() if status == "verified" else None,
        )

    records = [
        record("2024-03-02", "3.5", content="家电维修", title="小电匠进村"),
        record("2024-06-15", "2.0", title="宣讲二十大精神"),
        record("2024-11-30", "4.0", content="血压检测"),
    ]
    record("2024-07-01", "6.0", status="recorded")  # not verified: never certified
    gone = record("2024-08-01", "5.0")
    ServiceRecord.all_objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    record("2023-12-31", "1.0")  # before the period
    record("2025-01-01", "1.0")  # after it
    return {"volunteer": volunteer, "records": records}


def issue(client, volunteer, start="2024-01-01", end="2024-12-31"):
    return client.post(reverse("reports:certificate_issue", args=[volunteer.pk]), {"start": start, "end": end})


def read(client, certificate):
    response = client.get(reverse("reports:certificate_download", args=[certificate.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE
    assert response["Content-Disposition"].startswith("attachment;")
    assert certificate.number in response["Content-Disposition"]
    return docx.Document(io.BytesIO(response.content)), response.content


def all_text(document):
    parts = [p.text for p in document.paragraphs]
    parts += [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    parts += [p.text for section in document.sections for p in section.footer.paragraphs]
    return "\n".join(parts)


def test_certificate_is_numbered_and_lists_each_verified_service(client, world, served, time_machine):
    time_machine.move_to(datetime.datetime(2025, 1, 10, 2, tzinfo=datetime.timezone.utc))
    client.force_login(world["users"]["secretary"])
    response = issue(client, served["volunteer"])
    assert response.status_code == 302
    certificate = Certificate.objects.get()
    assert certificate.number == "ZYFW-2025-000001"
    assert re.fullmatch(r"ZYFW-\d{4}-\d{6}", certificate.number)
    assert certificate.total_hours == Decimal("9.5")
    assert certificate.issuer_name == "学校第三党支部"
    assert certificate.issued_by == world["users"]["secretary"]

    document, raw = read(client, certificate)
    text = all_text(document)
    assert certificate.number in text
    assert "贾珍" in text
    assert "9.5" in text
    table = document.tables[0]
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert len(rows) == 1 + 3 + 1  # header, three services, total
    assert [r[1] for r in rows[1:4]] == ["2024-03-02", "2024-06-15", "2024-11-30"]
    assert [r[2] for r in rows[1:4]] == ["家电维修", "宣讲二十大精神", "血压检测"]  # content, else the activity
    assert [r[4] for r in rows[1:4]] == ["3.5", "2.0", "4.0"]
    assert rows[-1][-1] == "9.5"
    assert "6.0" not in [r[4] for r in rows]  # the unverified record
    # Chinese shows: the East Asian font is named in the Normal style and on the runs
    fonts = document.styles["Normal"].element.rPr.find(f"{W}rFonts")
    assert fonts.get(f"{W}eastAsia") == "SimSun"
    with zipfile.ZipFile(io.BytesIO(raw)) as package:
        assert 'w:eastAsia="SimSun"' in package.read("word/styles.xml").decode()
        assert 'w:eastAsia="SimSun"' in package.read("word/document.xml").decode()
    run_fonts = {r.element.rPr.find(f"{W}rFonts").get(f"{W}eastAsia") for p in document.paragraphs for r in p.runs}
    assert run_fonts <= {"SimSun", "SimHei"} and "SimHei" in run_fonts


def test_same_period_and_services_give_the_same_number_new_hours_a_new_one(client, world, served):
    client.force_login(world["users"]["secretary"])
    issue(client, served["volunteer"])
    issue(client, served["volunteer"])
    assert Certificate.objects.count() == 1
    first = Certificate.objects.get()

    # a further verified service in the period: a new certificate, the old one unchanged
    pending = ServiceRecord.objects.get(status="recorded")
    ServiceRecord.objects.filter(pk=pending.pk).update(status="verified", verified_at=timezone.now())
    issue(client, served["volunteer"])
    assert Certificate.objects.count() == 2
    second = Certificate.objects.exclude(pk=first.pk).get()
    assert second.serial == first.serial + 1 and second.total_hours == first.total_hours + Decimal("6.0")

    # the first certificate still reads as issued, even after one of its records is deleted
    ServiceRecord.objects.filter(pk=served["records"][0].pk).update(deleted_at=timezone.now())
    document, _ = read(client, first)
    assert "家电维修" in all_text(document)
    assert first.number in all_text(document)


def sql_certified_hours(volunteer_id, start, end):
    """The verified hours a certificate of the period may certify, without the ORM: verified, not deleted, on a
    submitted or confirmed activity that is not deleted."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT SUM(r.hours) FROM activities_servicerecord r JOIN activities_activity a ON a.id = r.activity_id "
            "WHERE r.volunteer_id = %s AND r.status = 'verified' AND r.deleted_at IS NULL AND a.deleted_at IS NULL "
            "AND a.status IN ('submitted', 'confirmed') AND a.date >= %s AND a.date <= %s",
            [volunteer_id, start, end],
        )
        (total,) = cursor.fetchone()
    return Decimal(str(total or 0)).quantize(Decimal("0.1"))


def test_hours_on_a_draft_or_returned_activity_are_never_certified(client, world, served):
    """Issue 13: a certificate certified 16.0 h where 12.0 h were on counted activities."""
    volunteer, pairing, branch = served["volunteer"], world["pairing"], world["branch"]
    for status, hours in [("submitted", "2.5"), ("draft", "3.0"), ("returned", "1.0")]:
        act = activity(pairing, branch, status=status, date=datetime.date(2024, 9, 9), title=f"{status}活动")
        f.ServiceRecordFactory(
            activity=act, volunteer=volunteer, hours=Decimal(hours), status="verified", verified_at=timezone.now()
        )
    # 9.5 h (the fixture's) + 2.5 h submitted = 12.0 h counted; the 4.0 h on the draft and the returned one are not
    start, end = datetime.date(2024, 1, 1), datetime.date(2024, 12, 31)
    assert sql_certified_hours(volunteer.pk, start, end) == Decimal("12.0")
    today = datetime.date(2025, 1, 10)
    certificate, created = certificates.certificate_issue(
        volunteer=volunteer, start=start, end=end, actor=world["users"]["secretary"], today=today
    )
    assert created and certificate.total_hours == Decimal("12.0")
    assert {line["activity"] for line in certificate.lines}.isdisjoint({"draft活动", "returned活动"})
    assert sum(Decimal(line["hours"]) for line in certificate.lines) == Decimal("12.0")
    # the volunteer page and the rollup (pairing page, dashboards, reports) count the same 12.0 h in the period
    client.force_login(world["users"]["secretary"])
    totals = client.get(reverse("dashboards:volunteer_detail", args=[volunteer.pk])).context["totals"]
    assert Decimal(totals["verified_hours"]) == Decimal("12.0") + Decimal("2.0")  # + 2023-12-31 and 2025-01-01
    rollups_rebuild()  # the fixture's records were saved without running the on-commit refresh
    months = PairingMonth.objects.filter(pairing=pairing, month__range=(start, end)).aggregate(h=Sum("verified_hours"))
    assert Decimal(str(months["h"])).quantize(Decimal("0.1")) == Decimal("12.0")


def test_numbers_are_unique_across_volunteers(world, served):
    other = f.VolunteerFactory(organization=world["branch"], name="李四")
    act = activity(world["pairing"], world["branch"], date=datetime.date(2024, 5, 5))
    f.ServiceRecordFactory(activity=act, volunteer=other, status="verified", verified_at=timezone.now())
    secretary = world["users"]["secretary"]
    today = datetime.date(2024, 12, 31)
    a, _ = certificates.certificate_issue(volunteer=served["volunteer"], start=datetime.date(2024, 1, 1), end=today, actor=secretary, today=today)
    b, _ = certificates.certificate_issue(volunteer=other, start=datetime.date(2024, 1, 1), end=today, actor=secretary, today=today)
    c, _ = certificates.certificate_issue(volunteer=other, start=datetime.date(2024, 5, 1), end=today, actor=secretary, today=today)
    assert [x.number for x in (a, b, c)] == ["ZYFW-2024-000001", "ZYFW-2024-000002", "ZYFW-2024-000003"]


@pytest.mark.parametrize(
    "start, end, field",
    [
        ("2022-01-01", "2022-12-31", None),  # no service at all
        ("2024-07-01", "2024-07-01", None),  # only unverified hours that day
        ("2024-08-01", "2024-08-01", None),  # only a deleted record
        ("2024-12-31", "2024-01-01", "end"),  # the period backwards
        ("2099-01-01", "2099-12-31", "start"),  # the future
        ("", "2024-12-31", "start"),
        ("2024-13-01", "2024-12-31", "start"),
    ],
)
def test_bad_periods_are_refused_in_chinese_and_nothing_is_issued(client, world, served, start, end, field):
    client.force_login(world["users"]["secretary"])
    with translation.override("zh-hans"):
        response = issue(client, served["volunteer"], start, end)
    assert response.status_code == 200
    assert not Certificate.objects.exists()
    form = response.context["form"]
    errors = form.errors.get(field or "__all__")
    assert errors, form.errors
    message = str(errors[0])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message
    if field is None:
        assert "贾珍" in message
    assert escape(message) in response.content.decode()


def test_only_the_volunteers_own_managers_issue(world, served):
    for role in ("admin", "village", "other_secretary", "outsider"):
        with pytest.raises(PermissionDenied):
            certificates.certificate_issue(
                volunteer=served["volunteer"], start=datetime.date(2024, 1, 1), end=datetime.date(2024, 12, 31),
                actor=world["users"][role],
            )
    assert not Certificate.objects.exists()


@pytest.mark.parametrize(
    "role, expected",
    [("secretary", 200), ("committee", 200), ("admin", 200), ("superuser", 200), ("village", 404), ("outsider", 404), ("other_secretary", 404)],
)
def test_download_per_role(client, world, served, role, expected):
    certificate, _ = certificates.certificate_issue(
        volunteer=served["volunteer"], start=datetime.date(2024, 1, 1), end=datetime.date(2024, 12, 31),
        actor=world["users"]["secretary"],
    )
    client.force_login(world["users"][role])
    assert client.get(reverse("reports:certificate_download", args=[certificate.pk])).status_code == expected


def test_the_volunteer_page_lists_certificates_and_the_issue_form(client, world, served):
    client.force_login(world["users"]["secretary"])
    issue(client, served["volunteer"])
    page = client.get(reverse("dashboards:volunteer_detail", args=[served["volunteer"].pk]))
    assert page.context["can_issue"]
    number = Certificate.objects.get().number
    assert number in page.content.decode()
    client.force_login(world["users"]["admin"])
    page = client.get(reverse("dashboards:volunteer_detail", args=[served["volunteer"].pk]))
    assert not page.context["can_issue"] and number in page.content.decode()


def test_service_rejects_a_period_without_hours_with_a_validation_error(world, served):
    with pytest.raises(ValidationError):
        certificates.certificate_issue(
            volunteer=served["volunteer"], start=datetime.date(2020, 1, 1), end=datetime.date(2020, 12, 31),
            actor=world["users"]["secretary"],
        )


@pytest.mark.django_db(transaction=True)
def test_concurrent_issues_get_distinct_consecutive_numbers(postgres_only, world):
    """Eight certificates issued at once on PostgreSQL: the serial taken twice is retried, none is lost."""
    import threading

    from django.db import connection as default_connection

    secretary = world["users"]["secretary"]
    volunteers = []
    for n in range(8):
        volunteer = f.VolunteerFactory(organization=world["branch"], name=f"并发{n}")
        act = activity(world["pairing"], world["branch"], date=datetime.date(2024, 5, n + 1))
        f.ServiceRecordFactory(activity=act, volunteer=volunteer, status="verified", verified_at=timezone.now())
        volunteers.append(volunteer)
    start = threading.Barrier(len(volunteers))
    numbers, errors = [], []

    def issue_one(volunteer):
        from django.db import connection

        try:
            start.wait()
            certificate, _ = certificates.certificate_issue(
                volunteer=volunteer, start=datetime.date(2024, 1, 1), end=datetime.date(2024, 12, 31),
                actor=secretary, today=datetime.date(2024, 12, 31),
            )
            numbers.append(certificate.number)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue_one, args=(v,)) for v in volunteers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert default_connection.vendor == "postgresql"
    assert not errors, errors
    assert sorted(numbers) == [f"ZYFW-2024-{n:06d}" for n in range(1, 9)]
