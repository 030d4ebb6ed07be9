"""Joint plans: creating and editing items with targets, bad targets refused with a clear message and nothing
changed, the village's agreement (and its withdrawal when the plan changes)."""

import datetime
from decimal import Decimal

import pytest
from django.contrib import messages
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from pairings import services
from pairings.models import JointPlan, PlanItem, PlanTarget
from tests import factories as f
from tests.pairings.helpers import activity, plan_items_with_progress
from tests.pairings.test_pages import item_data, targets_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def plan(world):
    return f.JointPlanFactory(pairing=world["pairing"], year=2024)


@pytest.fixture
def metrics(world):
    return {
        "repairs": f.MetricFactory(program=world["program"], name="维修家电", unit="件"),
        "income": f.MetricFactory(program=world["program"], name="人均纯收入", unit="元", aggregation="snapshot"),
        "foreign": f.MetricFactory(program=world["other_program"], name="别的项目的指标", unit="件"),
    }


def snapshot():
    """Everything a failed write must leave as it was."""
    return (
        list(PlanItem.objects.values_list("id", "title", "status", "progress", "due_date").order_by("id")),
        list(PlanTarget.objects.values_list("id", "item_id", "metric_id", "value").order_by("id")),
        list(JointPlan.objects.values_list("id", "village_agreed_on", "title").order_by("id")),
    )


def post_item(client, url, targets, **values):
    return client.post(url, {**item_data(**values), **targets_data(targets)})


def chinese(text):
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_create_item_with_targets(client, world, plan, metrics):
    client.force_login(world["users"]["committee"])
    url = reverse("pairings:plan_item_create", args=[plan.pk])
    response = post_item(
        client,
        url,
        [(metrics["repairs"].pk, "100"), (metrics["income"].pk, "18000")],
        title="小电匠进村",
        owner_branch=world["branch"].pk,
        village_counterpart="李国强",
        due_date="2024-12-31",
    )
    assert response.status_code == 302
    item = PlanItem.objects.get(title="小电匠进村")
    assert item.owner_branch == world["branch"]
    assert item.village_counterpart == "李国强"
    assert {(t.metric_id, t.value) for t in item.targets.all()} == {
        (metrics["repairs"].pk, Decimal("100")),
        (metrics["income"].pk, Decimal("18000")),
    }


@pytest.mark.parametrize(
    "case",
    ["foreign_metric", "zero", "negative", "duplicate", "unknown_metric", "not_a_number", "owner_not_in_pairing"],
)
def test_bad_targets_are_refused_in_chinese_and_nothing_changes(client, world, plan, metrics, case):
    item = f.PlanItemFactory(plan=plan, title="原来的项目")
    f.PlanTargetFactory(item=item, metric=metrics["repairs"], value=Decimal("50"))
    before = snapshot()
    repairs = metrics["repairs"].pk
    values = {"title": "改了标题"}
    targets = {
        "foreign_metric": [(metrics["foreign"].pk, "10")],
        "zero": [(repairs, "0")],
        "negative": [(repairs, "-5")],
        "duplicate": [(repairs, "10"), (repairs, "20")],
        "unknown_metric": [(999999, "10")],
        "not_a_number": [(repairs, "很多")],
        "owner_not_in_pairing": [(repairs, "10")],
    }[case]
    if case == "owner_not_in_pairing":
        values["owner_branch"] = f.OrganizationFactory(kind="branch").pk
    client.force_login(world["users"]["committee"])
    with translation.override("zh-hans"):
        response = post_item(client, reverse("pairings:plan_item_edit", args=[item.pk]), targets, **values)
    assert response.status_code == 200  # the form again, with the message
    assert snapshot() == before
    errors = [str(e) for e in response.context["form"].errors.get("owner_branch", [])]
    formset = response.context["formset"]
    errors += [str(e) for form in formset.forms for field_errors in form.errors.values() for e in field_errors]
    errors += [str(e) for e in formset.non_form_errors()]
    assert errors, case
    assert all(chinese(e) for e in errors), errors
    page = response.content.decode()
    assert all(e.replace("“", "&ldquo;") in page or e in page for e in errors)


def test_foreign_metric_refused_by_the_service_too(world, plan, metrics):
    item = f.PlanItemFactory(plan=plan)
    before = snapshot()
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as caught:
            services.plan_item_update(
                item=item,
                actor=world["users"]["committee"],
                values={"title": "新标题"},
                targets=[(metrics["foreign"], Decimal("5")), (metrics["repairs"], Decimal("-1"))],
            )
    assert snapshot() == before
    messages = caught.value.messages
    assert len(messages) == 2 and all(chinese(m) for m in messages)
    assert metrics["foreign"].name in messages[0]


def test_service_refuses_people_who_may_not_edit_plans(world, plan):
    for role in ("secretary", "village", "other_secretary", "outsider"):
        with pytest.raises(ValidationError):
            services.plan_item_create(plan=plan, actor=world["users"][role], values={"title": "x"})
    assert not PlanItem.objects.exists()


def test_duplicate_year_is_refused(client, world, plan):
    client.force_login(world["users"]["committee"])
    with translation.override("zh-hans"):
        response = client.post(reverse("pairings:plan_create", args=[world["pairing"].pk]), {"year": 2024, "title": "又一个"})
    assert response.status_code == 200
    assert JointPlan.objects.count() == 1
    assert chinese(str(response.context["form"].errors["year"][0]))


def test_agreement_is_recorded_once_and_withdrawn_when_the_plan_changes(client, world, plan, metrics, time_machine):
    time_machine.move_to(datetime.datetime(2024, 3, 1, 4, tzinfo=datetime.timezone.utc))
    item = f.PlanItemFactory(plan=plan, title="小电匠进村")
    village = world["users"]["village"]
    client.force_login(village)
    assert client.post(reverse("pairings:plan_agree", args=[plan.pk]), {"confirm": "on"}).status_code == 302
    plan.refresh_from_db()
    assert (plan.village_agreed_on, plan.village_agreed_by) == (datetime.date(2024, 3, 1), village)

    # agreeing twice (a second click): "already done", back to the plan, nothing changes
    client.get(reverse("pairings:plan_detail", args=[plan.pk]))  # the first answer's message is read
    with translation.override("zh-hans"):
        response = client.post(reverse("pairings:plan_agree", args=[plan.pk]), {"confirm": "on"})
    assert response.status_code == 302 and response["Location"] == reverse("pairings:plan_detail", args=[plan.pk])
    said = [(m.level, str(m)) for m in get_messages(response.wsgi_request)]
    assert [level for level, _text in said] == [messages.INFO] and chinese(said[0][1])

    # progress and status are routine: the agreement stands
    committee = world["users"]["committee"]
    _, withdrawn = services.plan_item_update(item=item, actor=committee, values={"status": "in_progress", "progress": 30})
    assert not withdrawn
    plan.refresh_from_db()
    assert plan.village_agreed_on

    # a new target changes what was agreed: withdrawn, the village is asked again
    client.force_login(committee)
    response = post_item(
        client, reverse("pairings:plan_item_edit", args=[item.pk]), [(metrics["repairs"].pk, "100")], title="小电匠进村",
        status="in_progress", progress=30,
    )
    assert response.status_code == 302
    plan.refresh_from_db()
    assert plan.village_agreed_on is None and plan.village_agreed_by is None


def test_the_village_cannot_agree_to_an_empty_plan(client, world, plan):
    client.force_login(world["users"]["village"])
    with translation.override("zh-hans"):
        response = client.post(reverse("pairings:plan_agree", args=[plan.pk]), {"confirm": "on"})
    assert response.status_code == 200
    plan.refresh_from_db()
    assert plan.village_agreed_on is None
    assert chinese(str(response.context["form"].non_field_errors()))


def test_agree_needs_the_box_ticked(client, world, plan):
    f.PlanItemFactory(plan=plan)
    client.force_login(world["users"]["village"])
    assert client.post(reverse("pairings:plan_agree", args=[plan.pk]), {}).status_code == 200
    plan.refresh_from_db()
    assert plan.village_agreed_on is None


def test_an_item_with_linked_activities_cannot_be_deleted(client, world, plan):
    item = f.PlanItemFactory(plan=plan)
    activity(world["pairing"], world["branch"], plan_item=item)
    client.force_login(world["users"]["committee"])
    response = client.post(reverse("pairings:plan_item_delete", args=[item.pk]), follow=True)
    assert response.status_code == 200
    assert PlanItem.objects.filter(pk=item.pk).exists()


def test_hand_set_progress_only_for_items_without_targets(client, world, plan, metrics):
    manual = f.PlanItemFactory(plan=plan, progress=70)
    derived = f.PlanItemFactory(plan=plan, progress=70)
    f.PlanTargetFactory(item=derived, metric=metrics["repairs"], value=Decimal("40"))
    act = activity(world["pairing"], world["branch"], plan_item=derived)
    f.ActivityMetricValueFactory(activity=act, metric=metrics["repairs"], value=Decimal("10"))
    draft = activity(world["pairing"], world["branch"], plan_item=derived, status="draft")
    f.ActivityMetricValueFactory(activity=draft, metric=metrics["repairs"], value=Decimal("30"))
    client.force_login(world["users"]["village"])
    items = {i.pk: i for i in client.get(reverse("pairings:plan_detail", args=[plan.pk])).context["items"]}
    assert items[manual.pk].derived_progress == 70
    assert items[derived.pk].derived_progress == 25  # 10 of 40; the draft's 30 does not count


def test_a_deleted_activity_no_longer_counts_towards_progress(world, plan, metrics):
    item = f.PlanItemFactory(plan=plan)
    f.PlanTargetFactory(item=item, metric=metrics["repairs"], value=Decimal("10"))
    act = activity(world["pairing"], world["branch"], plan_item=item)
    f.ActivityMetricValueFactory(activity=act, metric=metrics["repairs"], value=Decimal("10"))
    assert plan_items_with_progress(plan, today=datetime.date(2024, 1, 1))[0].derived_progress == 100
    type(act).all_objects.filter(pk=act.pk).update(deleted_at=timezone.now())
    assert plan_items_with_progress(plan, today=datetime.date(2024, 1, 1))[0].derived_progress == 0
