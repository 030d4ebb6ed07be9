"""Generating (idempotent), regenerating (new versions), notes, publishing and notifications."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from pairings.models import Pairing

from reports import generation, services, tasks
from reports.digest import digests_build
from reports.channels import deliveries_send
from reports.models import Notification, Report
from tests import factories as f

pytestmark = pytest.mark.django_db


def generate(records, kind="monthly", period="2024-03", pairing="pairing"):
    return generation.report_generate(
        kind=kind, period=period, program=records["program"], pairing=records[pairing] if pairing else None
    )


def test_generate_twice_keeps_one_draft_and_rebuilds_it(records, caplog):
    first, created = generate(records)
    assert created and first.status == "draft" and first.version == 1
    assert first.scope_key == f"pairing:{records['pairing'].pk}"
    f.ActivityFactory(pairing=records["pairing"], branch=records["branch"], status="submitted", submitted_at="2024-03-30T10:00+08:00", date="2024-03-30")
    again, created = generate(records)
    assert not created and again.pk == first.pk
    assert again.data["activities"]["total"] == first.data["activities"]["total"] + 1
    assert Report.objects.count() == 1
    assert "inserted concurrently" not in caplog.text  # a plain rebuild is not mistaken for a race


def test_generate_after_an_insert_race_updates_the_winner(records, monkeypatch, caplog):
    """The IntegrityError path: another worker inserted version 1 between our check and our insert."""
    winner, _ = generate(records)
    Report.objects.filter(pk=winner.pk).update(data={"stale": True})
    real_filter = Report.objects.filter
    calls = {"n": 0}

    def first_lookup_misses(*args, **kwargs):
        calls["n"] += 1
        queryset = real_filter(*args, **kwargs)
        return queryset.none() if calls["n"] == 1 else queryset

    monkeypatch.setattr(Report.objects, "filter", first_lookup_misses)
    report, created = generate(records)
    monkeypatch.undo()
    assert not created and report.pk == winner.pk
    assert Report.objects.count() == 1
    assert Report.objects.get(pk=winner.pk).data["activities"]["total"] == 3
    assert "inserted concurrently elsewhere" in caplog.text


def test_program_and_pairing_scopes_are_separate(records):
    program_report, _ = generate(records, pairing=None)
    pairing_report, _ = generate(records)
    assert program_report.pk != pairing_report.pk
    assert program_report.scope_key == "program" and program_report.pairing is None


def test_published_is_frozen_and_regenerate_makes_a_version(records):
    admin = records["users"]["admin"]
    report, _ = generate(records)
    report, _ticket = services.report_publish(report=report, actor=admin)
    assert report.status == "published" and report.published_at and report.published_by == admin
    frozen = dict(report.data)
    f.ActivityFactory(pairing=records["pairing"], branch=records["branch"], status="submitted", submitted_at="2024-03-30T10:00+08:00", date="2024-03-30")
    same, created = generate(records)  # the scheduled job leaves a published report alone
    assert same.pk == report.pk and not created
    assert Report.objects.get(pk=report.pk).data == frozen
    with pytest.raises(ValidationError):
        services.report_set_notes(report=report, notes="x", actor=admin)
    with pytest.raises(ValidationError):
        services.report_publish(report=report, actor=admin)
    v2 = services.report_regenerate(report=report, actor=admin)
    assert (v2.version, v2.status) == (2, "draft")
    assert v2.data["activities"]["total"] == frozen["activities"]["total"] + 1
    assert services.report_regenerate(report=report, actor=admin).pk == v2.pk  # the draft v2 is rebuilt
    again, _ = generate(records)  # the job now rebuilds the draft v2
    assert again.pk == v2.pk
    assert Report.objects.filter(kind="monthly", period="2024-03").count() == 2
    assert Report.objects.get(pk=report.pk).data == frozen  # v1 still downloadable as it was


def test_a_published_report_stays_frozen_when_a_confirmed_activity_is_corrected(records):
    """Confirmed means confirmed: the admin's correction sends a1 back to the village; the published report keeps
    what it said, the activity's history shows the correction, a new version counts the corrected figures."""
    from activities import services as activity_services

    admin = records["users"]["admin"]
    report, _ = generate(records)
    report, _ticket = services.report_publish(report=report, actor=admin)
    frozen = dict(report.data)
    a1 = records["activities"]["a1"]
    values = [activity_services.MetricEntry(metric=v.metric, value=v.value) for v in a1.metric_values.all()]
    values = [v if v.metric.code != "repairs" else activity_services.MetricEntry(metric=v.metric, value=v.value + 3)
              for v in values]
    activity_services.activity_update(
        activity=a1, actor=admin, correction_reason="维修台账核对后补录",
        fields=activity_services.ActivityFields(
            pairing=a1.pairing, activity_type=a1.activity_type, title=a1.title, date=a1.date,
            party_members=a1.party_members, teachers=a1.teachers, students=a1.students, residents_served=45,
        ),
        metric_values=values,
        service_records=[activity_services.HoursEntry(volunteer=r.volunteer, hours=r.hours, content=r.content)
                         for r in a1.service_records.all()],
    )
    a1.refresh_from_db()
    assert a1.status == "submitted" and a1.confirmed_at is None and "45" in a1.correction_summary
    assert Report.objects.get(pk=report.pk).data == frozen
    assert [h.history_change_reason for h in a1.history.all()[:1]] == ["corrected"]
    v2 = services.report_regenerate(report=report, actor=admin)
    assert v2.data != frozen


@pytest.mark.parametrize("role", ["committee", "secretary", "village", "outsider"])
def test_only_program_admins_write(records, role):
    report, _ = generate(records)
    user = records["users"][role]
    for call in (
        lambda: services.report_set_notes(report=report, notes="x", actor=user),
        lambda: services.report_publish(report=report, actor=user),
        lambda: services.report_regenerate(report=report, actor=user),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert Report.objects.get(pk=report.pk).status == "draft"


def test_publish_notifies_liaisons_in_portal_and_in_the_next_digest(records, django_capture_on_commit_callbacks):
    admin = records["users"]["admin"]
    report, _ = generate(records, kind="quarterly", period="2024Q1")
    services.report_set_notes(report=report, notes="加快推进小电匠项目。", actor=admin)
    with django_capture_on_commit_callbacks(execute=True):
        report, _ticket = services.report_publish(report=report, actor=admin)
    notifications = Notification.objects.filter(report=report).order_by("id")
    # notify(): a person with an account is told in the portal (and by the daily digest, if chosen); an
    # address without one is mailed now
    assert [(n.user, n.email, n.kind, n.url) for n in notifications] == [
        (records["users"]["village"], "", "report_published", f"/reports/{report.pk}/"),
        (None, "school-liaison@example.org", "report_published", f"/reports/{report.pk}/"),
    ]
    assert mail.outbox == []  # no mail per report: the daily digest carries it
    # the village sees it in the portal, and now may open the published report
    assert Notification.objects.for_user(records["users"]["village"]).unread().count() == 1
    assert Report.objects.visible_to(records["users"]["village"]).filter(pk=report.pk).exists()
    assert digests_build() == 2
    assert deliveries_send().sent == 2
    assert all(n.emailed_at for n in Notification.objects.filter(report=report))
    assert sorted(m.to[0] for m in mail.outbox) == ["school-liaison@example.org", "village@example.org"]
    assert f"/reports/{report.pk}/" in mail.outbox[0].body
    # building and sending again sends nothing twice
    assert digests_build() == 0
    assert deliveries_send().sent == 0
    assert len(mail.outbox) == 2


def test_program_report_notifies_program_admins(records, django_capture_on_commit_callbacks):
    admin = records["users"]["admin"]
    report, _ = generate(records, pairing=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.report_publish(report=report, actor=admin)
    assert [n.user for n in Notification.objects.filter(report=report)] == [admin]
    # village users never see program-wide reports, published or not
    assert not Report.objects.visible_to(records["users"]["village"]).filter(pk=report.pk).exists()


def test_scopes_to_generate(records):
    # suspended today, but its term (2023-2025) covers the period: reported, whatever the flag says today
    suspended = f.PairingFactory(program=records["program"], status="suspended")
    ended = f.PairingFactory(program=records["program"])
    ended.term_end = ended.term_start  # its term ended in 2023: not reported on 2024-03
    ended.save()
    f.PairingFactory(program=records["program"], status="ended", term_end=None)  # no term to go by, no activity
    records["other_program"].monthly_reports = False
    records["other_program"].save()
    scopes = generation.scopes_to_generate("monthly", "2024-03")
    program = records["program"].pk
    assert scopes == [(program, None), (program, records["pairing"].pk), (program, suspended.pk)]
    quarterly = generation.scopes_to_generate("quarterly", "2024Q1")
    assert (records["other_program"].pk, records["other_pairing"].pk) in quarterly


def test_monthly_job_defaults_to_the_previous_month(records, time_machine, django_capture_on_commit_callbacks):
    time_machine.move_to("2024-04-01 06:00:00+08:00")
    # the fan-out enqueues each scope's task once its transaction commits (portal.queue.enqueue)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.generate_monthly_reports.delay().get() == 4  # eager: two programs and their two pairings
    assert set(Report.objects.values_list("kind", "period").distinct()) == {("monthly", "2024-03")}
    assert Report.objects.count() == 4
    with django_capture_on_commit_callbacks(execute=True):
        tasks.generate_monthly_reports.delay("2024-03")  # again: nothing new
    assert Report.objects.count() == 4
    time_machine.move_to("2024-03-31 22:30:00+00:00")  # 1 April 06:30 in Shanghai
    with django_capture_on_commit_callbacks(execute=True):
        tasks.generate_quarterly_reports.delay()
    assert set(Report.objects.filter(kind="quarterly").values_list("period", flat=True)) == {"2024Q1"}


def test_beat_schedule(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    monthly, quarterly = schedule["monthly-reports"]["schedule"], schedule["quarterly-reports"]["schedule"]
    assert schedule["monthly-reports"]["task"] == "reports.tasks.generate_monthly_reports"
    assert (monthly.hour, monthly.minute, monthly.day_of_month) == ({6}, {0}, {1})
    assert monthly.month_of_year == set(range(1, 13))
    assert (quarterly.hour, quarterly.minute, quarterly.day_of_month) == ({6}, {0}, {1})
    assert quarterly.month_of_year == {1, 4, 7, 10}
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"
    assert tasks.generate_report.autoretry_for and tasks.generate_report.retry_backoff


def test_a_pairing_is_reported_for_its_term_whatever_its_flag_says_today(client, records):
    """Issue 13: a pairing past its term but still flagged 有效, or flagged ended during the period, got no
    pairing report for the quarter. Every pairing the program report covers now gets its own."""
    program, pairing = records["program"], records["pairing"]
    pairing.term_end = datetime.date(2024, 2, 29)  # past its term, still flagged active (期满)
    pairing.save()
    ended = f.PairingFactory(program=program, status="ended", term_end=datetime.date(2024, 3, 31))
    later = f.PairingFactory(program=program, term_start=datetime.date(2024, 4, 1), term_end=None)
    scopes = generation.scopes_to_generate("quarterly", "2024Q1", [program.pk])
    assert scopes == [(program.pk, None), (program.pk, pairing.pk), (program.pk, ended.pk)]
    assert (program.pk, pairing.pk) not in generation.scopes_to_generate("quarterly", "2024Q2", [program.pk])  # after its term
    assert (program.pk, later.pk) in generation.scopes_to_generate("quarterly", "2024Q2", [program.pk])

    reports = {}
    for _program, pairing_id in scopes:
        scope = None if pairing_id is None else Pairing.objects.get(pk=pairing_id)
        report, created = generation.report_generate(kind="quarterly", period="2024Q1", program=program, pairing=scope)
        assert created
        reports[pairing_id] = services.report_publish(report=report, actor=records["users"]["admin"])[0]
    program_report = reports[None]
    assert {p["id"] for p in program_report.data["pairings"]} >= {pairing.pk, ended.pk}
    # the committee (who reads the pairing) reads its published pairing report; the program-wide report stays
    # its program admins' (Report.objects.visible_to), as it carries every pairing's data
    client.force_login(records["users"]["committee"])
    assert client.get(reverse("reports:report_detail", args=[reports[pairing.pk].pk])).status_code == 200
    assert client.get(reverse("reports:report_detail", args=[program_report.pk])).status_code == 404
    client.force_login(records["users"]["admin"])
    assert client.get(reverse("reports:report_detail", args=[program_report.pk])).status_code == 200
