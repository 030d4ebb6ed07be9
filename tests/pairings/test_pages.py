"""Every pairing and plan view for every role: who reads (200), who may not see (404), who sees but may not
change (403), and that the writes happen only for those allowed."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from activities.models import Activity
from pairings.models import JointPlan, PlanItem
from tests import factories as f
from tests.pairings.helpers import activity

pytestmark = pytest.mark.django_db

LOGIN = "login"
ROLES = ["anonymous", "outsider", "village", "other_secretary", "secretary", "committee", "admin", "superuser"]


def expect(*statuses):
    return dict(zip(ROLES, statuses))


READ = expect(LOGIN, 404, 200, 200, 200, 200, 200, 200)
PLAN_EDIT = expect(LOGIN, 404, 403, 403, 403, 200, 200, 200)
AGREEMENT_EDIT = expect(LOGIN, 404, 403, 403, 403, 403, 200, 200)
AGREE = expect(LOGIN, 404, 200, 403, 403, 403, 403, 200)


@pytest.fixture
def objects(world):
    plan = f.JointPlanFactory(pairing=world["pairing"], year=2024)
    item = f.PlanItemFactory(plan=plan, owner_branch=world["branch"])
    return {**world, "plan": plan, "item": item}


def login(client, world, role):
    if role != "anonymous":
        client.force_login(world["users"][role])


def status(response):
    if response.status_code == 302 and response["Location"].startswith(reverse("account_login")):
        return LOGIN
    return response.status_code


PAGES = [
    ("pairings:pairing_detail", lambda o: [o["pairing"].pk], READ),
    ("pairings:plan_detail", lambda o: [o["plan"].pk], READ),
    ("pairings:agreement_edit", lambda o: [o["pairing"].pk], AGREEMENT_EDIT),
    ("pairings:plan_create", lambda o: [o["pairing"].pk], PLAN_EDIT),
    ("pairings:plan_edit", lambda o: [o["plan"].pk], PLAN_EDIT),
    ("pairings:plan_item_create", lambda o: [o["plan"].pk], PLAN_EDIT),
    ("pairings:plan_item_edit", lambda o: [o["item"].pk], PLAN_EDIT),
    ("pairings:plan_item_delete", lambda o: [o["item"].pk], PLAN_EDIT),
    ("pairings:plan_agree", lambda o: [o["plan"].pk], AGREE),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, args, expected", PAGES, ids=[p[0] for p in PAGES])
def test_get_per_role(client, objects, role, name, args, expected):
    login(client, objects, role)
    assert status(client.get(reverse(name, args=args(objects)))) == expected[role]


@pytest.mark.parametrize("role", ROLES)
def test_pairing_list_per_role(client, objects, role):
    login(client, objects, role)
    response = client.get(reverse("pairings:pairing_list"))
    if role == "anonymous":
        assert status(response) == LOGIN
        return
    assert response.status_code == 200
    listed = {p.pk for p in response.context["object_list"]}
    sees_pairing = role != "outsider"
    assert (objects["pairing"].pk in listed) is sees_pairing
    assert (objects["other_pairing"].pk in listed) is (role in ("outsider", "superuser"))


# --- writes per role: only the allowed change anything ----------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_plan_create_post_per_role(client, objects, role):
    login(client, objects, role)
    response = client.post(
        reverse("pairings:plan_create", args=[objects["pairing"].pk]), {"year": 2025, "title": "2025年度共建计划"}
    )
    created = JointPlan.objects.filter(pairing=objects["pairing"], year=2025).exists()
    assert created is (PLAN_EDIT[role] == 200)
    assert status(response) == (302 if created else PLAN_EDIT[role])


@pytest.mark.parametrize("role", ROLES)
def test_plan_item_post_per_role(client, objects, role):
    login(client, objects, role)
    response = client.post(
        reverse("pairings:plan_item_edit", args=[objects["item"].pk]),
        {**item_data(title="改过的标题"), **targets_data([])},
    )
    changed = PlanItem.objects.get(pk=objects["item"].pk).title == "改过的标题"
    assert changed is (PLAN_EDIT[role] == 200)
    assert status(response) == (302 if changed else PLAN_EDIT[role])


@pytest.mark.parametrize("role", ROLES)
def test_plan_item_delete_post_per_role(client, objects, role):
    login(client, objects, role)
    response = client.post(reverse("pairings:plan_item_delete", args=[objects["item"].pk]))
    gone = not PlanItem.objects.filter(pk=objects["item"].pk).exists()
    assert gone is (PLAN_EDIT[role] == 200)
    assert status(response) == (302 if gone else PLAN_EDIT[role])


@pytest.mark.parametrize("role", ROLES)
def test_plan_agree_post_per_role(client, objects, role):
    login(client, objects, role)
    response = client.post(reverse("pairings:plan_agree", args=[objects["plan"].pk]), {"confirm": "on"})
    plan = JointPlan.objects.get(pk=objects["plan"].pk)
    agreed = plan.village_agreed_on is not None
    assert agreed is (AGREE[role] == 200)
    if agreed:
        assert status(response) == 302
        assert plan.village_agreed_on == timezone.localdate()
        assert plan.village_agreed_by == objects["users"][role]
    else:
        assert status(response) == AGREE[role]


@pytest.mark.parametrize("role", ROLES)
def test_agreement_post_per_role(client, objects, role, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    login(client, objects, role)
    pairing = objects["pairing"]
    response = client.post(
        reverse("pairings:agreement_edit", args=[pairing.pk]),
        {"signed_on": "2023-03-01", "term_start": "2023-03-01", "term_end": "2026-02-28", "goals": "三年共建"},
    )
    pairing.refresh_from_db()
    changed = pairing.goals == "三年共建"
    assert changed is (AGREEMENT_EDIT[role] == 200)
    assert status(response) == (302 if changed else AGREEMENT_EDIT[role])


def item_data(**values):
    data = {
        "title": "小电匠进村",
        "category": "service",
        "description": "",
        "owner_branch": "",
        "village_counterpart": "",
        "due_date": "",
        "status": "planned",
        "progress": "0",
        "order": "0",
    }
    data.update({k: "" if v is None else str(v) for k, v in values.items()})
    return data


def targets_data(rows, prefix="targets"):
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "20",
    }
    for index, (metric, value) in enumerate(rows):
        data[f"{prefix}-{index}-metric"] = str(metric)
        data[f"{prefix}-{index}-value"] = str(value)
    return data


# --- what the pages show ------------------------------------------------------------------------------


def test_pairing_page_shows_parties_agreement_plan_activities_and_open_needs(client, objects):
    pairing = objects["pairing"]
    pairing.supported.contact_name, pairing.supported.contact_phone = "王主任", "0760-8888888"
    pairing.supported.save()
    f.LiaisonFactory(pairing=pairing, side="supporter", name="陈老师", phone="13900000001")
    f.LiaisonFactory(pairing=pairing, side="supported", name="李书记", phone="13900000002")
    activity(pairing, objects["branch"], title="主题党日活动")
    activity(pairing, objects["branch"], status="draft", title="本支部草稿")
    f.NeedFactory(pairing=pairing, title="修理路灯")
    f.NeedFactory(
        pairing=pairing,
        title="已认领的心愿",
        status="claimed",
        claimed_by_branch=objects["branch"],
        raised_at=timezone.now() - datetime.timedelta(days=1),
        claimed_at=timezone.now(),
    )
    deleted = f.NeedFactory(pairing=pairing, title="删掉的心愿")
    type(deleted).all_objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())

    client.force_login(objects["users"]["village"])
    page = client.get(reverse("pairings:pairing_detail", args=[pairing.pk]) + "?year=2024").content.decode()
    for text in ("学校", "龙石村", "陈老师", "李书记", "13900000002", "王主任", "第三党支部", "第四党支部", "主题党日活动", "修理路灯", objects["plan"].title):
        assert text in page, text
    for text in ("本支部草稿", "已认领的心愿", "删掉的心愿"):  # the village sees no drafts; only open needs
        assert text not in page, text

    shown = Activity.objects.get(title="主题党日活动")
    assert f'href="/activities/{shown.pk}/"' in page  # the activities app's page, linked by URL
    need = pairing.needs.get(title="修理路灯")
    assert f'href="/activities/needs/{need.pk}/"' in page
    assert f'href="/activities/needs/?pairing={pairing.pk}&amp;status=open"' in page
    listed = client.get(f"/activities/needs/?pairing={pairing.pk}&status=open")  # the activities app's list
    assert listed.status_code == 200 and "修理路灯" in listed.content.decode()
    assert "已认领的心愿" not in listed.content.decode()
    assert client.get(f"/activities/needs/{need.pk}/").status_code == 200

    client.force_login(objects["users"]["secretary"])
    assert "本支部草稿" in client.get(reverse("pairings:pairing_detail", args=[pairing.pk])).content.decode()


def test_pairing_page_year_parameter_is_forgiving(client, objects):
    client.force_login(objects["users"]["committee"])
    for year in ("abc", "1800", "", "2024"):
        response = client.get(reverse("pairings:pairing_detail", args=[objects["pairing"].pk]), {"year": year})
        assert response.status_code == 200


def test_plan_page_marks_overdue_items(client, objects, time_machine):
    time_machine.move_to(datetime.datetime(2024, 7, 1, 12, tzinfo=datetime.timezone.utc))
    plan = objects["plan"]
    late = f.PlanItemFactory(plan=plan, title="逾期项目", due_date=datetime.date(2024, 6, 30), status="in_progress")
    f.PlanItemFactory(plan=plan, title="已完成项目", due_date=datetime.date(2024, 6, 1), status="done")
    f.PlanItemFactory(plan=plan, title="未到期项目", due_date=datetime.date(2024, 7, 1))
    client.force_login(objects["users"]["village"])
    response = client.get(reverse("pairings:plan_detail", args=[plan.pk]))
    overdue = {item.title for item in response.context["items"] if item.is_overdue}
    assert overdue == {late.title}
    assert response.context["overdue"] == 1


def test_plan_page_offers_editing_and_agreeing_to_the_right_people(client, objects):
    url = reverse("pairings:plan_detail", args=[objects["plan"].pk])
    for role, can_edit, can_agree in [
        ("committee", True, False),
        ("admin", True, False),
        ("village", False, True),
        ("secretary", False, False),
    ]:
        client.force_login(objects["users"][role])
        context = client.get(url).context
        assert (context["can_edit"], context["can_agree"]) == (can_edit, can_agree), role


# --- warnings ---------------------------------------------------------------------------------------------


def test_warnings_on_the_list(client, world, time_machine, django_capture_on_commit_callbacks):
    time_machine.move_to(datetime.datetime(2024, 10, 1, 4, tzinfo=datetime.timezone.utc))  # 2024-10-01 Shanghai
    # the list reads each pairing's last activity as the rollup keeps it, when the writes commit
    with django_capture_on_commit_callbacks(execute=True):
        program = world["program"]
        ending = world["pairing"]
        ending.term_end = datetime.date(2024, 11, 30)  # 60 days from today
        ending.save()
        activity(ending, world["branch"], date=datetime.date(2024, 9, 1))
        dormant = f.PairingFactory(program=program, term_start=datetime.date(2023, 1, 1), term_end=None)
        activity(dormant, f.OrganizationFactory(kind="branch"), date=datetime.date(2024, 8, 2))  # 60 days ago
        awake = f.PairingFactory(program=program, term_start=datetime.date(2023, 1, 1), term_end=None)
        activity(awake, f.OrganizationFactory(kind="branch"), date=datetime.date(2024, 8, 3))  # 59 days ago
        fresh = f.PairingFactory(program=program, term_start=datetime.date(2024, 9, 1), term_end=None)  # too young
        never = f.PairingFactory(program=program, term_start=datetime.date(2024, 1, 1), term_end=None)
        draft_only = f.PairingFactory(program=program, term_start=datetime.date(2024, 1, 1), term_end=None)
        activity(draft_only, f.OrganizationFactory(kind="branch"), status="draft", date=datetime.date(2024, 9, 30))
        expired = f.PairingFactory(program=program, term_start=datetime.date(2022, 1, 1), term_end=datetime.date(2024, 9, 30))
        ended = f.PairingFactory(program=program, status="ended", term_end=datetime.date(2024, 9, 30))

    client.force_login(world["users"]["admin"])
    response = client.get(reverse("pairings:pairing_list"))
    warnings = {p.pk: {(w.code, w.days) for w in p.warnings} for p in response.context["object_list"]}
    assert warnings[ending.pk] == {("ending", 60)}
    assert warnings[dormant.pk] == {("dormant", 60)}
    assert warnings[awake.pk] == set()
    assert warnings[fresh.pk] == set()
    assert warnings[never.pk] == {("dormant", None)}
    assert warnings[draft_only.pk] == {("dormant", None)}
    assert warnings[expired.pk] == {("expired", 1)}
    assert warnings[ended.pk] == set()

    def listed(**params):
        return {p.pk for p in client.get(reverse("pairings:pairing_list"), params).context["object_list"]}

    assert listed(warning="ending") == {ending.pk}
    assert listed(warning="dormant") == {dormant.pk, never.pk, draft_only.pk}
    assert listed(warning="expired") == {expired.pk}


def test_a_pairing_past_its_term_shows_one_clear_state_on_every_page(client, world, time_machine, settings):
    """Issue 13: a pairing whose term has ended but is still flagged active reads 期满 (term ended), not 有效,
    on the list and on its page; the flag itself is unchanged."""
    time_machine.move_to(datetime.datetime(2024, 10, 1, 4, tzinfo=datetime.timezone.utc))  # 2024-10-01 Shanghai
    program = world["program"]
    expired = world["pairing"]
    expired.term_end = datetime.date(2024, 9, 30)
    expired.save()
    running = f.PairingFactory(program=program, term_end=datetime.date(2024, 10, 1))  # its last day: still running
    suspended = f.PairingFactory(program=program, status="suspended", term_end=datetime.date(2024, 1, 31))
    ended = f.PairingFactory(program=program, status="ended", term_end=datetime.date(2024, 9, 30))
    states = {p.pk: p.state for p in (expired, running, suspended, ended)}
    assert states == {expired.pk: "expired", running.pk: "active", suspended.pk: "suspended", ended.pk: "ended"}
    assert expired.status == "active" and expired.state_on(datetime.date(2024, 9, 30)) == "active"
    with translation.override("zh-hans"):
        assert [str(p.get_state_display()) for p in (expired, running, suspended, ended)] == ["期满", "有效", "已暂停", "已结束"]

    client.force_login(world["users"]["admin"])
    listing = client.get(reverse("pairings:pairing_list")).content.decode()
    page = client.get(reverse("pairings:pairing_detail", args=[expired.pk])).content.decode()
    for html in (listing, page):
        assert '<span class="badge badge-bad">期满</span>' in html
    assert '<span class="badge badge-ok">有效</span>' not in page
    assert '<span class="badge badge-ok">有效</span>' in listing  # the running one
    assert '<span class="badge badge-warn">已暂停</span>' in listing and '<span class="badge badge-muted">已结束</span>' in listing
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("pairings:pairing_detail", args=[expired.pk])).content.decode()
    assert '<span class="badge badge-bad">term ended</span>' in page


def test_list_filters(client, world):
    program, other_program = world["program"], world["other_program"]
    school = world["school"]
    village = world["village"]
    second = f.PairingFactory(program=program, supporter=school, term_start=datetime.date(2025, 1, 1), term_end=None, status="suspended")
    third = f.PairingFactory(program=program, supported=village, term_start=datetime.date(2020, 1, 1), term_end=datetime.date(2022, 12, 31))
    client.force_login(world["users"]["superuser"])

    def listed(**params):
        response = client.get(reverse("pairings:pairing_list"), params)
        assert response.status_code == 200
        return {p.pk for p in response.context["object_list"]}

    first = world["pairing"]
    assert listed(program=program.pk) == {first.pk, second.pk, third.pk}
    assert listed(program=other_program.pk) == {world["other_pairing"].pk}
    assert listed(status="suspended") == {second.pk}
    assert listed(school=school.pk) == {first.pk, second.pk}
    assert listed(village=village.pk) == {first.pk, third.pk}
    assert listed(year=2024) == {first.pk, world["other_pairing"].pk}
    assert listed(year=2026) == {second.pk}
    assert listed(year=2021, village=village.pk) == {third.pk}
    # nonsense is ignored or refused, never a 500
    for params in ({"year": "x"}, {"program": "999999"}, {"status": "nope"}, {"warning": "x"}):
        assert client.get(reverse("pairings:pairing_list"), params).status_code == 200


def test_list_filter_choices_only_offer_what_the_user_sees(client, world):
    client.force_login(world["users"]["village"])
    form = client.get(reverse("pairings:pairing_list")).context["filter"].form
    assert list(form.fields["program"].queryset) == [world["program"]]
    assert list(form.fields["village"].queryset) == [world["village"]]
    assert list(form.fields["school"].queryset) == [world["school"]]
