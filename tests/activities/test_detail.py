"""The detail page reads an activity's parts in one query and decides "may edit / may confirm" without asking
the database: both give what the QuerySets give."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from activities import permissions, services
from activities.models import Activity
from tests import factories as f

pytestmark = pytest.mark.django_db
S = Activity.Status
ROLES = ["outsider", "village", "other_secretary", "secretary", "committee", "admin", "superuser"]


def one_of_each_status(kit):
    made = []
    for pairing, branch in [(kit["pairing"], kit["branch"]), (kit["pairing"], kit["other_branch"]),
                            (kit["other_pairing"], None)]:
        for status in S.values:
            extra = {} if branch is None else {"branch": branch}
            made.append(f.ActivityFactory(
                pairing=pairing, status=status, activity_type=kit["type"],
                submitted_at=None if status in (S.DRAFT, S.RETURNED) else timezone.now(),
                confirmed_at=timezone.now() if status == S.CONFIRMED else None, **extra,
            ))
    return made


@pytest.mark.parametrize("role", ROLES)
def test_may_edit_and_may_confirm_agree_with_the_querysets(kit, role):
    activities = one_of_each_status(kit)
    user = kit["users"][role]
    editable = set(Activity.objects.editable_by(user).values_list("id", flat=True))
    confirmable = set(Activity.objects.confirmable_by(user).values_list("id", flat=True))
    for activity in Activity.objects.select_related("pairing__program"):
        assert permissions.can_edit(user, activity) == (activity.pk in editable), (role, activity.status)
        assert permissions.can_confirm(user, activity) == (activity.pk in confirmable), (role, activity.status)
    gone = activities[0]
    gone.deleted_at = timezone.now()
    gone.save()
    gone = Activity.all_objects.select_related("pairing__program").get(pk=gone.pk)
    assert not permissions.can_edit(user, gone) and not permissions.can_confirm(user, gone)


def test_the_page_shows_every_part_in_order(client, kit):
    activity = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"],
                                 date=datetime.date(2024, 5, 1))
    activity.co_branches.add(kit["other_branch"])
    second = f.MetricFactory(program=kit["program"], name="植树", unit="株", order=9)
    f.ActivityMetricValueFactory(activity=activity, metric=second, value=Decimal("30"))
    f.ActivityMetricValueFactory(activity=activity, metric=kit["repairs"], value=Decimal("12"))
    f.ServiceRecordFactory(activity=activity, volunteer=kit["volunteer"], hours=Decimal("2.5"))
    f.ServiceRecordFactory(activity=activity, volunteer=f.VolunteerFactory(organization=kit["branch"], name="王老师"),
                           hours=Decimal("1"))
    photo = f.ActivityPhotoFactory(activity=activity, sha256="same", caption="合影")
    mine = f.ActivityFactory(pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"], title="我的另一次")
    f.ActivityPhotoFactory(activity=mine, sha256="same")
    theirs = f.ActivityFactory(pairing=kit["other_pairing"], activity_type=kit["type"], title="别人的")
    f.ActivityPhotoFactory(activity=theirs, sha256="same")

    client.force_login(kit["users"]["secretary"])
    response = client.get(reverse("activities:detail", args=[activity.pk]))
    context, text = response.context, response.content.decode()
    assert [(v.name, v.value, v.unit) for v in context["metric_values"]] == [
        (kit["repairs"].name, Decimal("12"), "件"), ("植树", Decimal("30"), "株")
    ]
    assert [(r.volunteer_name, r.hours) for r in context["service_records"]] == [
        ("张老师", Decimal("2.5")), ("王老师", Decimal("1"))
    ]
    assert context["hours_total"] == Decimal("3.5")
    assert f"{kit['branch'].name}、{kit['other_branch'].name}" in text
    # the same file: the secretary's other activity by name, the other pairing's only counted
    [(shown, (seen, hidden))] = context["photos"]
    assert shown.pk == photo.pk and shown.caption == "合影"
    assert seen == [mine] and hidden == 1
    assert "我的另一次" in text and "别人的" not in text
    assert context["can_edit"] and context["can_submit"]

    services.activity_submit(activity=activity, actor=kit["users"]["secretary"])
    context = client.get(reverse("activities:detail", args=[activity.pk])).context
    assert [change["to"] for change in context["history"]] == [S.DRAFT, S.SUBMITTED]
    assert context["history"][-1]["who"] == kit["users"]["secretary"]
    assert not context["can_edit"]  # submitted: the branch waits for the village

    # the village confirms and does not see where else the file is
    client.force_login(kit["users"]["village"])
    context = client.get(reverse("activities:detail", args=[activity.pk])).context
    assert context["can_confirm"] and not context["can_edit"]
    assert context["photos"][0][1] is None
