"""The publishing policy (monthly reminders out as soon as built, quarterly reports waiting for 调度意见) and the
bulk publish: one pass, each recipient told once, idempotent, only the actor's programs."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pairings.models import Program
from reports import generation, publishing, services, tasks
from reports.models import Delivery, Notification, Report, Webhook
from tests import factories as f

pytestmark = pytest.mark.django_db


def policy(program, monthly=True, quarterly=False):
    Program.objects.filter(pk=program.pk).update(publish_monthly=monthly, publish_quarterly=quarterly)
    program.refresh_from_db()


def generate(records, kind="monthly", period="2024-03", pairing="pairing"):
    return generation.report_generate(
        kind=kind, period=period, program=records["program"], pairing=records[pairing] if pairing else None
    )


# ---------------------------------------------------------------- the policy


def test_program_policy_defaults():
    program = f.ProgramFactory()
    assert (program.publish_monthly, program.publish_quarterly) == (True, False)


def test_a_monthly_reminder_is_published_as_soon_as_it_is_built(records):
    policy(records["program"])
    report, created = generate(records)
    assert created and report.status == "published" and report.published_at and report.published_by is None
    stored = Report.objects.get(pk=report.pk)
    assert stored.status == "published" and stored.version == 1
    assert stored.history.first().history_type == "~"  # the publishing is in the report's history
    # told as if an admin had published it: the liaisons, each once, linked to the report
    rows = list(Notification.objects.filter(report=report).order_by("id").values_list("user__username", "email", "kind", "url"))
    assert rows == [
        ("village", "", "report_published", f"/reports/{report.pk}/"),
        (None, "school-liaison@example.org", "report_published", f"/reports/{report.pk}/"),
    ]
    # the report's name ends in its version ("v1"): a space keeps "v1" apart from "已发布"
    assert Notification.objects.filter(report=report).first().message.endswith(" · v1 已发布。")


def test_a_quarterly_report_waits_for_the_coordination_notes(records):
    policy(records["program"])
    report, _ = generate(records, kind="quarterly", period="2024Q1")
    assert report.status == "draft" and not Notification.objects.exists()
    policy(records["program"], quarterly=True)  # a program may choose otherwise
    other, _ = generate(records, kind="quarterly", period="2024Q1", pairing=None)
    assert other.status == "published"


def test_a_retried_generation_publishes_once_and_makes_no_second_version(records):
    policy(records["program"])
    first, _ = generate(records)
    told = Notification.objects.count()
    for _attempt in range(3):  # a redelivered task, a second beat run
        again, created = generate(records)
        assert again.pk == first.pk and not created
    tasks.generate_pairing_reports.delay("monthly", "2024-03", records["program"].pk, [records["pairing"].pk])
    assert Report.objects.filter(kind="monthly", period="2024-03").count() == 1
    assert Notification.objects.count() == told


def test_a_worker_dying_between_storing_and_publishing_leaves_a_draft_the_retry_publishes(records):
    policy(records["program"])
    draft, _ = generation.report_generate(
        kind="monthly", period="2024-03", program=records["program"], pairing=records["pairing"], apply_policy=False
    )
    assert draft.status == "draft"  # stored, then the worker died
    report, created = generate(records)
    assert report.pk == draft.pk and not created and report.status == "published"
    assert Report.objects.filter(kind="monthly").count() == 1
    assert Notification.objects.filter(report=report).count() == 2


def test_a_batch_of_generated_reminders_tells_each_person_once(records):
    """The scheduled job builds pairings in batches: a person who is liaison of several is told once a batch."""
    policy(records["program"])
    village_user = records["users"]["village"]
    second = f.PairingFactory(program=records["program"], supporter=records["school"])
    f.LiaisonFactory(pairing=second, user=village_user, email="")
    results = generation.reports_generate(
        kind="monthly", period="2024-03", program=records["program"], pairings=[records["pairing"], second]
    )
    assert [r.status for r, _created in results] == ["published", "published"]
    mine = Notification.objects.get(user=village_user)
    ids = sorted(r.pk for r, _created in results)
    assert mine.kind == "reports_published" and mine.report is None
    assert mine.url == f"/reports/?ids={ids[0]},{ids[1]}"
    assert mine.message == "已发布 2 份月度提示"
    generation.reports_generate(kind="monthly", period="2024-03", program=records["program"], pairings=[records["pairing"], second])
    assert Notification.objects.filter(user=village_user).count() == 1


def test_the_command_over_many_months_tells_each_person_once(records):
    """`generate_reports 2024-01 … 2024-06` (a backfill, `make run`): one notice per person for the run, not six."""
    from django.core.management import call_command

    policy(records["program"])
    village_user = records["users"]["village"]
    months = [f"2024-{m:02d}" for m in range(1, 7)]
    call_command("generate_reports", *months, verbosity=0)
    reminders = Report.objects.filter(kind="monthly", program=records["program"], pairing=records["pairing"])
    assert reminders.count() == 6 and set(reminders.values_list("status", flat=True)) == {"published"}
    mine = Notification.objects.get(user=village_user)
    assert mine.kind == "reports_published" and mine.message == "已发布 6 份月度提示"
    call_command("generate_reports", *months, verbosity=0)  # a second run: all frozen, nobody told again
    assert Notification.objects.filter(user=village_user).count() == 1


def test_regenerating_a_draft_by_hand_does_not_publish_it(records):
    report, _ = generate(records)  # the fixture's programs publish by hand
    policy(records["program"])
    fresh = services.report_regenerate(report=report, actor=records["users"]["admin"])
    assert fresh.pk == report.pk and Report.objects.get(pk=report.pk).status == "draft"


def test_policy_page(client, records):
    program = records["program"]
    url = reverse("pairings:program_publishing", args=[program.pk])
    client.force_login(records["users"]["admin"])
    page = client.get(url)
    assert page.status_code == 200 and 'name="publish_monthly"' in page.content.decode()
    assert page.context["form"].initial == {"publish_monthly": False, "publish_quarterly": False}  # as the fixture set
    response = client.post(url, {"publish_quarterly": "on"})
    assert response.status_code == 302
    program.refresh_from_db()
    assert (program.publish_monthly, program.publish_quarterly) == (False, True)
    assert program.history.first().history_change_reason == "publishing policy"
    client.force_login(records["users"]["committee"])  # reads the program through its pairing, may not change it
    assert client.post(url, {"publish_monthly": "on"}).status_code == 403
    program.refresh_from_db()
    assert program.publish_quarterly and not program.publish_monthly
    # linked from the programs the admin runs
    client.force_login(records["users"]["admin"])
    assert url in client.get(reverse("dashboards:program_list")).content.decode()
    assert url in client.get(reverse("dashboards:program_dashboard", args=[program.pk])).content.decode()


def test_policy_in_the_django_admin(client, records):
    client.force_login(records["users"]["superuser"])
    text = client.get(reverse("admin:pairings_program_change", args=[records["program"].pk])).content.decode()
    assert 'name="publish_monthly"' in text and 'name="publish_quarterly"' in text


# ---------------------------------------------------------------- bulk publish


def many_drafts(records, n, *, shared=None, kind="monthly", period="2024-03"):
    """n pairings of the program, each with its own liaison (a user) and, if given, a shared liaison; a draft each."""
    program = records["program"]
    drafts, own = [], []
    for i in range(n):
        pairing = f.PairingFactory(program=program)
        user = f.UserFactory()
        f.LiaisonFactory(pairing=pairing, user=user)
        if shared is not None:
            f.LiaisonFactory(pairing=pairing, user=shared)
        drafts.append(f.ReportFactory(program=program, pairing=pairing, kind=kind, period=period))
        own.append(user)
    return drafts, own


def test_bulk_publish_tells_each_liaison_once(records):
    shared = f.UserFactory(username="county-liaison")
    drafts, own = many_drafts(records, 12, shared=shared)
    published, _ticket = services.reports_publish(reports=[d.pk for d in drafts], actor=records["users"]["admin"])
    assert len(published.reports) == 12
    assert Report.objects.filter(pk__in=[d.pk for d in drafts], status="published").count() == 12
    assert set(Report.objects.filter(pk__in=[d.pk for d in drafts]).values_list("published_by", flat=True)) == {
        records["users"]["admin"].pk
    }
    theirs = Notification.objects.get(user=shared)
    assert theirs.message == "已发布 12 份月度提示" and theirs.kind == "reports_published"
    assert theirs.url == "/reports/?ids=" + ",".join(str(d.pk) for d in drafts)
    for user, draft in zip(own, drafts):
        mine = Notification.objects.get(user=user)
        assert mine.report_id == draft.pk and mine.url == f"/reports/{draft.pk}/"
    assert published.notifications == Notification.objects.count() == 13  # one per person


def test_the_batch_link_opens_the_list_on_those_reports(client, records):
    drafts, _own = many_drafts(records, 3)
    published, _ = services.reports_publish(reports=Report.objects.filter(pk__in=[d.pk for d in drafts]),
                                            actor=records["users"]["admin"])
    url = publishing.list_url(published.reports)
    client.force_login(records["users"]["admin"])
    response = client.get(url)
    assert {r.pk for r in response.context["object_list"]} == {d.pk for d in drafts}


def test_bulk_publish_skips_published_reports_and_other_programs(records):
    admin = records["users"]["admin"]
    drafts, _own = many_drafts(records, 3)
    done, _ = services.report_publish(report=drafts[0], actor=admin)
    at = Report.objects.get(pk=done.pk).published_at
    foreign = f.ReportFactory(program=records["other_program"], pairing=records["other_pairing"])
    told = Notification.objects.count()
    published, _ = services.reports_publish(reports=[d.pk for d in drafts] + [foreign.pk, "junk", 999999], actor=admin)
    assert sorted(published.ids) == sorted(d.pk for d in drafts[1:])
    assert Report.objects.get(pk=done.pk).published_at == at  # not published twice
    assert Report.objects.get(pk=foreign.pk).status == "draft"  # not the admin's program: as if not there
    assert Notification.objects.count() == told + 2
    again, ticket = services.reports_publish(reports=[d.pk for d in drafts], actor=admin)  # a retry, a double click
    assert again.reports == [] and again.notifications == 0 and ticket is None
    assert Notification.objects.count() == told + 2


def test_a_program_robot_hears_one_summary_and_a_pairing_robot_its_report(records):
    drafts, _own = many_drafts(records, 4)
    program_hook = Webhook.objects.create(kind="wecom", name="项目群", program=records["program"], url="https://example.org/p")
    pairing_hook = Webhook.objects.create(kind="dingtalk", name="村群", pairing=drafts[1].pairing, url="https://example.org/v")
    services.reports_publish(reports=[d.pk for d in drafts], actor=records["users"]["admin"])
    assert list(Delivery.objects.filter(webhook=program_hook).values_list("subject", flat=True)) == ["双联双助：已发布 4 份月度提示"]
    [post] = Delivery.objects.filter(webhook=pairing_hook)
    assert str(drafts[1].pairing) in post.subject and post.body.endswith(f"/reports/{drafts[1].pk}/")


def warm_up(records):
    """A first publish, so that what the connection prepares once (SQLite) is not counted below."""
    drafts, _own = many_drafts(records, 1, period="2023-12")
    publishing.publish_drafts(reports=[d.pk for d in drafts], actor=records["users"]["admin"])


def test_bulk_publish_queries_do_not_grow_with_the_reports_when_the_people_are_the_same(records):
    """The same recipients (one county liaison for every pairing): 5 and 50 drafts cost the same queries."""
    admin = records["users"]["admin"]
    shared = f.UserFactory(username="county-liaison")
    warm_up(records)
    counts = {}
    for n, period in ((5, "2024-01"), (50, "2024-02")):
        drafts = []
        for _i in range(n):
            pairing = f.PairingFactory(program=records["program"])
            f.LiaisonFactory(pairing=pairing, user=shared)
            drafts.append(f.ReportFactory(program=records["program"], pairing=pairing, period=period))
        with CaptureQueriesContext(connection) as queries:
            published = publishing.publish_drafts(reports=[d.pk for d in drafts], actor=admin)
        assert len(published.reports) == n
        counts[n] = len(queries)
    assert counts[5] == counts[50]
    assert Notification.objects.filter(user=shared).count() == 2


def test_bulk_publish_queries_bound(records):
    """Distinct people per report: a fixed number, plus one notify() (4 statements: who was told already, the
    notifications, the robots, their posts) per distinct set of reports people are told about (here one per report)."""
    admin = records["users"]["admin"]
    warm_up(records)
    counts = {}
    for n, period in ((5, "2024-01"), (50, "2024-02")):
        drafts, _own = many_drafts(records, n, period=period)
        with CaptureQueriesContext(connection) as queries:
            publishing.publish_drafts(reports=[d.pk for d in drafts], actor=admin)
        counts[n] = len(queries)
    assert counts[50] - counts[5] == 45 * 4


# ---------------------------------------------------------------- the pages


def draft_rows(records, n=3):
    drafts, _own = many_drafts(records, n)
    quarterly = f.ReportFactory(program=records["program"], pairing=records["pairing"], kind="quarterly", period="2024Q1")
    noted = f.ReportFactory(program=records["program"], kind="quarterly", period="2024Q1", notes="加快推进。")
    return drafts, quarterly, noted


def test_list_has_tick_boxes_for_the_admins_drafts(client, records):
    drafts, quarterly, noted = draft_rows(records)
    client.force_login(records["users"]["admin"])
    text = client.get(reverse("reports:report_list"), {"status": "draft"}).content.decode()
    assert f'name="report" value="{drafts[0].pk}"' in text
    assert reverse("reports:reports_publish") in text
    assert "发布此筛选条件下的全部 5 份草稿" in text
    client.force_login(records["users"]["village"])
    text = client.get(reverse("reports:report_list")).content.decode()
    assert 'name="report"' not in text and reverse("reports:reports_publish") not in text


def test_confirmation_shows_how_many_which_kinds_and_warns_of_missing_notes(client, records):
    drafts, quarterly, noted = draft_rows(records)
    client.force_login(records["users"]["admin"])
    response = client.get(reverse("reports:reports_publish"), {"all": "1", "status": "draft"})
    assert response.status_code == 200
    text = response.content.decode()
    assert response.context["total"] == 5
    assert {row["kind"]: row["count"] for row in response.context["kinds"]} == {"monthly": 3, "quarterly": 2}
    assert response.context["without_notes"] == 1
    assert "1 份季度调度报告尚无调度意见" in text
    assert "发布 5 份报告" in text
    # ticked rows only
    picked = client.get(reverse("reports:reports_publish"), {"report": [drafts[0].pk, drafts[1].pk]})
    assert picked.context["total"] == 2 and picked.context["without_notes"] == 0
    assert "尚无调度意见" not in picked.content.decode()


def test_confirmation_without_a_choice_or_with_bad_input(client, records):
    draft_rows(records)
    client.force_login(records["users"]["admin"])
    response = client.get(reverse("reports:reports_publish"), {"kind": "monthly"})
    assert response.status_code == 302 and response["Location"] == reverse("reports:report_list") + "?kind=monthly"
    assert "请勾选要发布的草稿" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert client.get(reverse("reports:reports_publish"), {"report": "x"}).status_code == 400
    assert client.get(reverse("reports:reports_publish"), {"all": "1", "ids": "1,x"}).status_code == 400
    assert client.post(reverse("reports:reports_publish"), {"all": "1"}).status_code == 302  # no "top": nothing
    assert not Report.objects.filter(status="published").exists()


def test_publish_selected_and_posted_foreign_ids_are_ignored(client, records):
    drafts, quarterly, noted = draft_rows(records)
    foreign = f.ReportFactory(program=records["other_program"], pairing=records["other_pairing"])
    client.force_login(records["users"]["admin"])
    confirm = client.get(reverse("reports:reports_publish"), {"report": [drafts[0].pk, foreign.pk]})
    assert confirm.context["total"] == 1
    response = client.post(
        reverse("reports:reports_publish"),
        {"report": [drafts[0].pk, drafts[1].pk, foreign.pk], "top": str(foreign.pk)},
    )
    assert response.status_code == 302
    assert set(Report.objects.filter(status="published").values_list("pk", flat=True)) == {drafts[0].pk, drafts[1].pk}
    assert Report.objects.get(pk=foreign.pk).status == "draft"
    assert response["Location"] == f"/reports/?ids={drafts[0].pk},{drafts[1].pk}"


def test_publish_all_the_filter_shows_and_not_drafts_made_since(client, records):
    drafts, quarterly, noted = draft_rows(records)
    client.force_login(records["users"]["admin"])
    confirm = client.get(reverse("reports:reports_publish"), {"all": "1", "kind": "monthly"})
    top = confirm.context["top"]
    later = f.ReportFactory(program=records["program"], pairing=records["pairing"], period="2024-04")
    response = client.post(reverse("reports:reports_publish"), {"all": "1", "kind": "monthly", "top": top})
    assert response.status_code == 302
    assert {r.pk for r in drafts} == set(Report.objects.filter(status="published").values_list("pk", flat=True))
    assert Report.objects.get(pk=later.pk).status == "draft"  # built after the confirmation: not shown, not published
    assert Report.objects.get(pk=quarterly.pk).status == "draft"  # not in the filter


def test_a_big_batch_goes_to_a_task(client, records, monkeypatch, django_capture_on_commit_callbacks):
    from reports import report_views

    drafts, _own = many_drafts(records, 4)
    monkeypatch.setattr(report_views, "PUBLISH_INLINE", 2)
    client.force_login(records["users"]["admin"])
    confirm = client.get(reverse("reports:reports_publish"), {"all": "1"})
    assert not confirm.context["inline"] and "在后台发布" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # eager here: the task runs at once
        response = client.post(reverse("reports:reports_publish"), {"all": "1", "top": confirm.context["top"]})
    assert response.status_code == 302
    assert "正在发布 4 份报告" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert Report.objects.filter(status="published").count() == 4
    assert Notification.objects.count() == 4
    assert tasks.publish_reports.delay([d.pk for d in drafts], records["users"]["admin"].pk).get() == 0  # again: nothing


def test_the_single_publish_still_works_through_the_same_path(client, records):
    drafts, _own = many_drafts(records, 1)
    client.force_login(records["users"]["admin"])
    response = client.post(reverse("reports:report_publish", args=[drafts[0].pk]))
    assert response.status_code == 302
    [told] = Notification.objects.all()
    assert told.key == publishing.batch_key([drafts[0].pk]) and told.report_id == drafts[0].pk


@pytest.mark.parametrize("role, status", [("village", 403), ("secretary", 403), ("committee", 403), ("outsider", 403)])
def test_only_program_admins_publish_in_bulk(client, records, role, status):
    drafts, _own = many_drafts(records, 2)
    client.force_login(records["users"][role])
    response = client.post(reverse("reports:reports_publish"), {"all": "1", "top": str(drafts[-1].pk)})
    assert response.status_code == status
    assert not Report.objects.filter(status="published").exists()
    client.logout()
    assert client.post(reverse("reports:reports_publish"), {"all": "1"}).status_code == 302  # to the sign-in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_publishers_at_once_publish_each_draft_once(postgres_only, world):
    """A double click, or a retried task next to the first: two bulk publishes of the same drafts in two threads
    with their own connections. Each draft is published once and each person told once."""
    import threading

    from django.db import connections

    drafts = []
    for _i in range(6):
        pairing = f.PairingFactory(program=world["program"])
        f.LiaisonFactory(pairing=pairing, user=world["users"]["village"])
        drafts.append(f.ReportFactory(program=world["program"], pairing=pairing))
    ids = [d.pk for d in drafts]
    barrier = threading.Barrier(2)
    results = []

    def publish():
        try:
            barrier.wait(timeout=10)
            results.append(len(publishing.publish_drafts(reports=ids, actor=world["users"]["admin"]).reports))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [0, 6]
    assert Report.history.filter(id__in=ids, status="published").count() == 6
    assert Notification.objects.filter(user=world["users"]["village"]).count() == 1
