"""Who may serve on a branch's activity: the volunteers the form offers are the ones the service accepts (as in
the demo, where a department's team brings the department's teachers and a village's residents serve too), and
hours already on an activity never stop its other fields being saved."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from activities import services
from activities.models import Activity, ServiceRecord
from activities.permissions import serving_volunteers
from portal.models import Organization
from tests import factories as f
from tests.activities.test_views import form_data

pytestmark = pytest.mark.django_db
S = Activity.Status
DAY = timezone.localdate() - datetime.timedelta(days=1)


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


@pytest.fixture
def crew(kit):
    """The demo's shape: 创意设计部 (a department of the school, not a branch) runs a team with its own teacher
    许嘉欣 and the branch's 张老师; 龙石村 has a resident volunteer; a stranger serves in another village's team."""
    department = f.OrganizationFactory(name="创意设计部", kind=Organization.Kind.DEPARTMENT, parent=kit["school"])
    designer = f.VolunteerFactory(organization=department, name="许嘉欣")
    retired = f.VolunteerFactory(organization=department, name="退队的老师", is_active=False)
    team = f.TeamFactory(organization=department, name="创意设计部志愿服务队")
    team.members.add(designer, retired, kit["volunteer"])
    resident = f.VolunteerFactory(organization=kit["village"], name="村民老陈")
    elsewhere = f.TeamFactory(organization=kit["other_pairing"].supported, name="田心村服务队")
    stranger = f.VolunteerFactory(organization=kit["other_pairing"].supported, name="外村人")
    elsewhere.members.add(stranger)
    return {"designer": designer, "retired": retired, "resident": resident, "stranger": stranger,
            "department": department}


def test_the_form_offers_exactly_who_the_service_accepts(client, kit, crew):
    client.force_login(kit["users"]["secretary"])
    offered = set(client.get(reverse("activities:create")).context["hours"].volunteers)
    assert offered == {kit["volunteer"], crew["designer"], crew["resident"]}
    # not the sibling branch's teacher (no team of ours), an inactive member, another village's team
    assert not offered & {kit["foreign_volunteer"], crew["retired"], crew["stranger"]}
    assert offered == set(serving_volunteers([kit["branch"].pk]))

    activity = services.activity_create(
        actor=kit["users"]["secretary"], fields=fields(kit),
        service_records=[services.HoursEntry(volunteer=v, hours=Decimal("2")) for v in offered],
    ).activity
    assert {r.volunteer for r in activity.service_records.all()} == offered
    for outsider in (kit["foreign_volunteer"], crew["retired"], crew["stranger"]):
        with pytest.raises(ValidationError) as caught:
            services.activity_create(
                actor=kit["users"]["secretary"], fields=fields(kit, title="另一次"),
                service_records=[services.HoursEntry(volunteer=outsider, hours=Decimal("2"))],
            )
        assert caught.value.message_dict["service_records"] == [
            f"“{outsider.name}”不能登记在本支部的活动上：请选择本支部或结对村（社区）的志愿者，或它们服务队的队员。"
        ]
    assert Activity.objects.count() == 1


def fields(kit, **overrides):
    values = {"pairing": kit["pairing"], "activity_type": kit["type"], "title": "创意手绘美化环境", "date": DAY,
              "party_members": 3, "residents_served": 20}
    values.update(overrides)
    return services.ActivityFields(**values)


def edit_data(kit, activity, **overrides):
    """The edit form as the page sends it back, with the activity's hours rows as rendered."""
    records = list(activity.service_records.order_by("id"))
    data = form_data(
        kit, hours=[{"volunteer": r.volunteer_id, "hours": str(r.hours)} for r in records],
        title=activity.title, date=activity.date.isoformat(), start_time="", end_time="", place="", description="",
        party_members="3", teachers="0", students="0", residents_served="20",
    )
    data.update({"hours-INITIAL_FORMS": str(len(records)), "photos-TOTAL_FORMS": "0", "photos-INITIAL_FORMS": "0"})
    data.update(overrides)
    return data


def draft_with_team_hours(kit, crew):
    return services.activity_create(
        actor=kit["users"]["secretary"], fields=fields(kit),
        service_records=[services.HoursEntry(volunteer=crew["designer"], hours=Decimal("3")),
                         services.HoursEntry(volunteer=crew["resident"], hours=Decimal("2"))],
    ).activity


@pytest.mark.parametrize("role", ["secretary", "admin"])
def test_a_draft_with_team_and_village_hours_can_be_edited(client, kit, crew, role):
    activity = draft_with_team_hours(kit, crew)
    client.force_login(kit["users"][role])
    url = reverse("activities:update", args=[activity.pk])
    assert {crew["designer"], crew["resident"]} <= set(client.get(url).context["hours"].volunteers)
    response = client.post(url, edit_data(kit, activity, title="井盖彩绘"))
    assert response.status_code == 302, response.context and response.context["hours"].non_form_errors()
    activity.refresh_from_db()
    assert (activity.title, activity.status) == ("井盖彩绘", S.DRAFT)


def test_hours_standing_on_the_activity_never_block_saving_other_fields(client, kit, crew):
    """Someone the branch could not pick today (the sibling branch's teacher, a member since retired) keeps the
    hours recorded earlier, and the activity's title can still be changed."""
    activity = draft_with_team_hours(kit, crew)
    f.ServiceRecordFactory(activity=activity, volunteer=kit["foreign_volunteer"], hours=Decimal("1.5"))
    f.ServiceRecordFactory(activity=activity, volunteer=crew["retired"], hours=Decimal("1"))
    client.force_login(kit["users"]["secretary"])
    url = reverse("activities:update", args=[activity.pk])
    offered = set(client.get(url).context["hours"].volunteers)
    assert {kit["foreign_volunteer"], crew["retired"]} <= offered
    assert offered == set(serving_volunteers([kit["branch"].pk], activity_id=activity.pk))
    response = client.post(url, edit_data(kit, activity, title="井盖彩绘"))
    assert response.status_code == 302
    activity.refresh_from_db()
    assert activity.title == "井盖彩绘"
    assert ServiceRecord.objects.filter(activity=activity).count() == 4


def test_a_confirmed_activity_with_team_hours_is_corrected_as_any_other(client, kit, crew):
    activity = draft_with_team_hours(kit, crew)
    services.activity_submit(activity=activity, actor=kit["users"]["secretary"])
    activity = services.activity_confirm(activity=activity, actor=kit["users"]["village"])
    client.force_login(kit["users"]["admin"])
    url = reverse("activities:update", args=[activity.pk])

    response = client.post(url, edit_data(kit, activity, title="井盖彩绘"))
    assert response.status_code == 302
    activity.refresh_from_db()
    assert (activity.title, activity.status) == ("井盖彩绘", S.CONFIRMED)

    more_hours = {"hours-0-hours": "4"}
    refused = client.post(url, edit_data(kit, activity, **more_hours))
    assert refused.status_code == 200 and "correction_reason" in refused.context["form"].errors
    activity.refresh_from_db()
    assert activity.status == S.CONFIRMED

    response = client.post(url, edit_data(kit, activity, correction_reason="签到表核对后更正", **more_hours))
    assert response.status_code == 302
    activity.refresh_from_db()
    assert activity.status == S.SUBMITTED
    assert ServiceRecord.objects.get(activity=activity, volunteer=crew["designer"]).hours == Decimal("4")
