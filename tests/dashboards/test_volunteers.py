"""Volunteer and team pages for every role, verifying hours in bulk, masked phones, hours checked with raw SQL."""

import datetime
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone, translation

from activities.models import Activity, ServiceRecord
from figures import selectors
from figures.models import PairingMonth
from tests import factories as f
from tests.pairings.helpers import activity

pytestmark = pytest.mark.django_db

LOGIN = "login"
ROLES = ["anonymous", "outsider", "village", "other_secretary", "secretary", "committee", "admin", "superuser"]


def expect(*statuses):
    return dict(zip(ROLES, statuses))


READ = expect(LOGIN, 404, 404, 404, 200, 200, 200, 200)
ISSUE = expect(LOGIN, 404, 404, 404, 200, 200, 403, 200)
# 谁记录谁证明: the organising branch's secretary (and the program admin) verify; the school committee reads.
VERIFY = expect(LOGIN, 404, 404, 404, 302, 403, 302, 302)


@pytest.fixture
def objects(world):
    volunteer = f.VolunteerFactory(organization=world["branch"], name="张小电", phone="13812345678")
    team = f.TeamFactory(organization=world["branch"], name="小电匠家电维修队", leader=volunteer)
    team.members.add(volunteer)
    f.ServiceOfferingFactory(team=team, name="家电维修")
    act = activity(world["pairing"], world["branch"], title="小电匠进村维修")
    record = f.ServiceRecordFactory(activity=act, volunteer=volunteer, hours=Decimal("3.5"), content="维修电饭锅")
    return {**world, "volunteer": volunteer, "team": team, "activity": act, "record": record}


def login(client, world, role):
    if role != "anonymous":
        client.force_login(world["users"][role])


def status(response):
    if response.status_code == 302 and response["Location"].startswith(reverse("account_login")):
        return LOGIN
    return response.status_code


PAGES = [
    ("dashboards:volunteer_detail", lambda o: [o["volunteer"].pk], READ),
    ("dashboards:team_detail", lambda o: [o["team"].pk], READ),
    ("reports:certificate_issue", lambda o: [o["volunteer"].pk], ISSUE),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name, args, expected", PAGES, ids=[p[0] for p in PAGES])
def test_get_per_role(client, objects, role, name, args, expected):
    login(client, objects, role)
    assert status(client.get(reverse(name, args=args(objects)))) == expected[role]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", ["dashboards:volunteer_list", "dashboards:team_list"])
def test_lists_per_role(client, objects, role, name):
    login(client, objects, role)
    response = client.get(reverse(name))
    if role == "anonymous":
        assert status(response) == LOGIN
        return
    assert response.status_code == 200
    shown = {obj.pk for obj in response.context["object_list"]}
    target = objects["volunteer" if name.endswith("volunteer_list") else "team"]
    assert (target.pk in shown) is (READ[role] == 200)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("via", ["volunteer", "team"])
def test_verify_per_role(client, objects, role, via):
    login(client, objects, role)
    url = reverse(f"activities:{via}_verify", args=[objects[via].pk])
    assert status(client.get(url)) == (LOGIN if role == "anonymous" else 405)
    response = client.post(url, {"records": [objects["record"].pk]})
    record = ServiceRecord.objects.get(pk=objects["record"].pk)
    assert status(response) == VERIFY[role]
    assert (record.status == "verified") is (VERIFY[role] == 302)
    if record.status == "verified":
        assert record.verified_by == objects["users"][role]
        assert record.verified_at is not None
        assert record.history.first().history_user == objects["users"][role]


def test_bulk_verify_from_the_team_page_only_touches_what_the_user_may_verify(client, objects, world):
    team, branch = objects["team"], world["branch"]
    members = [f.VolunteerFactory(organization=branch) for _ in range(3)]
    team.members.add(*members)
    mine = [f.ServiceRecordFactory(activity=objects["activity"], volunteer=m) for m in members]
    # hours another branch organised: its secretary verifies them, not ours
    foreign_activity = activity(world["pairing"], world["other_branch"])
    foreign = f.ServiceRecordFactory(activity=foreign_activity, volunteer=members[0])
    deleted = f.ServiceRecordFactory(activity=activity(world["pairing"], branch), volunteer=members[1])
    ServiceRecord.all_objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    outsider_record = f.ServiceRecordFactory(activity=objects["activity"])  # not a member of the team

    client.force_login(world["users"]["secretary"])
    page = client.get(reverse("dashboards:team_detail", args=[team.pk]))
    pending = {r.pk for r in page.context["pending"]}
    assert pending == {objects["record"].pk, *(r.pk for r in mine)}

    ids = [r.pk for r in mine] + [foreign.pk, deleted.pk, outsider_record.pk]
    with translation.override("zh-hans"):
        response = client.post(reverse("activities:team_verify", args=[team.pk]), {"records": ids}, follow=True)
    statuses = dict(ServiceRecord.all_objects.values_list("pk", "status"))
    assert all(statuses[r.pk] == "verified" for r in mine)
    assert statuses[foreign.pk] == statuses[deleted.pk] == statuses[outsider_record.pk] == "recorded"
    assert statuses[objects["record"].pk] == "recorded"  # not ticked
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 2 and all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for m in shown), shown


def test_verify_without_ticking_anything(client, objects):
    client.force_login(objects["users"]["secretary"])
    with translation.override("zh-hans"):
        response = client.post(reverse("activities:volunteer_verify", args=[objects["volunteer"].pk]), {}, follow=True)
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]]
    assert ServiceRecord.objects.get().status == "recorded"


def test_verify_ignores_garbage_ids(client, objects):
    client.force_login(objects["users"]["secretary"])
    response = client.post(reverse("activities:volunteer_verify", args=[objects["volunteer"].pk]), {"records": ["x", "-1", "99999999"]})
    assert response.status_code == 302
    assert ServiceRecord.objects.get().status == "recorded"


# --- phones ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role, full", [("secretary", True), ("committee", True), ("superuser", True), ("admin", False)]
)
def test_phone_is_masked_except_for_the_volunteers_own_managers(client, objects, role, full):
    client.force_login(objects["users"][role])
    for url in (
        reverse("dashboards:volunteer_list"),
        reverse("dashboards:volunteer_detail", args=[objects["volunteer"].pk]),
        reverse("dashboards:team_detail", args=[objects["team"].pk]),
    ):
        page = client.get(url).content.decode()
        assert ("13812345678" in page) is full, (role, url)
        assert ("138****5678" in page) is (not full), (role, url)


# --- hours: only verified service on counted activities; recomputed with raw SQL --------------------------


def sql_verified_hours(volunteer_ids, status="verified"):
    """Each volunteer's hours of the given record status on counted (submitted or confirmed, not deleted)
    activities, computed without the ORM."""
    placeholders = ", ".join(["%s"] * len(volunteer_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.volunteer_id, SUM(r.hours) FROM activities_servicerecord r JOIN activities_activity a "
            "ON a.id = r.activity_id WHERE r.status = %s AND r.deleted_at IS NULL AND a.deleted_at IS NULL "
            f"AND a.status IN ('submitted', 'confirmed') AND r.volunteer_id IN ({placeholders}) GROUP BY r.volunteer_id",
            [status, *volunteer_ids],
        )
        found = {vid: Decimal(str(hours)).quantize(Decimal("0.1")) for vid, hours in cursor.fetchall()}
    return {vid: found.get(vid, Decimal("0.0")) for vid in volunteer_ids}


def test_hours_match_raw_sql(client, world):
    rng = random.Random(7)
    branch = world["branch"]
    volunteers = [f.VolunteerFactory(organization=branch) for _ in range(8)]
    teams = [f.TeamFactory(organization=branch) for _ in range(3)]
    for team in teams:
        team.members.add(*rng.sample(volunteers, 4))
    activities = [activity(world["pairing"], branch, status=rng.choice(["draft", "returned", "submitted", "confirmed"]), date=datetime.date(2024, 1, 1) + datetime.timedelta(days=n)) for n in range(12)]
    Activity.all_objects.filter(pk=activities[0].pk).update(deleted_at=timezone.now())
    for act in activities:
        for volunteer in rng.sample(volunteers, 4):
            record = f.ServiceRecordFactory(
                activity=act, volunteer=volunteer, hours=Decimal(rng.randint(1, 16)) / 2,
                status=rng.choice(["recorded", "verified"]), verified_at=timezone.now(),
            )
            if rng.random() < 0.15:
                ServiceRecord.all_objects.filter(pk=record.pk).update(deleted_at=timezone.now())
    expected = sql_verified_hours([v.pk for v in volunteers])
    assert sum(expected.values()) > 0

    client.force_login(world["users"]["committee"])
    listed = {v.pk: v.verified_hours for v in client.get(reverse("dashboards:volunteer_list")).context["object_list"]}
    assert {pk: Decimal(h).quantize(Decimal("0.1")) for pk, h in listed.items()} == expected
    for volunteer in volunteers[:3]:
        totals = client.get(reverse("dashboards:volunteer_detail", args=[volunteer.pk])).context["totals"]
        assert Decimal(totals["verified_hours"]).quantize(Decimal("0.1")) == expected[volunteer.pk]
    team_hours = {t.pk: t.verified_hours for t in client.get(reverse("dashboards:team_list")).context["object_list"]}
    for team in teams:
        members = list(team.members.values_list("pk", flat=True))
        want = sum((expected[pk] for pk in members), Decimal("0"))
        assert Decimal(team_hours[team.pk]).quantize(Decimal("0.1")) == want
        detail = client.get(reverse("dashboards:team_detail", args=[team.pk])).context
        assert Decimal(detail["team_hours"]).quantize(Decimal("0.1")) == want
        assert len(detail["members"]) == 4


def test_hours_on_a_draft_or_returned_activity_do_not_count(client, world, django_capture_on_commit_callbacks):
    """Issue 13: the volunteer pages counted verified hours on drafts and returned activities; the pairing page,
    dashboards and reports (the rollup) did not. Now they agree, and agree with raw SQL."""
    branch, pairing = world["branch"], world["pairing"]
    volunteer = f.VolunteerFactory(organization=branch)
    team = f.TeamFactory(organization=branch)
    team.members.add(volunteer)
    with django_capture_on_commit_callbacks(execute=True):
        for status, hours, record_status in [
            ("confirmed", "8.0", "verified"), ("submitted", "4.0", "verified"), ("draft", "3.0", "verified"),
            ("returned", "1.0", "verified"), ("submitted", "2.5", "recorded"), ("draft", "6.0", "recorded"),
        ]:
            act = activity(pairing, branch, status=status, date=datetime.date(2024, 5, 1))
            f.ServiceRecordFactory(
                activity=act, volunteer=volunteer, hours=Decimal(hours), status=record_status,
                verified_at=timezone.now() if record_status == "verified" else None,
            )
    assert sql_verified_hours([volunteer.pk]) == {volunteer.pk: Decimal("12.0")}
    assert sql_verified_hours([volunteer.pk], "recorded") == {volunteer.pk: Decimal("2.5")}

    client.force_login(world["users"]["committee"])
    totals = client.get(reverse("dashboards:volunteer_detail", args=[volunteer.pk])).context["totals"]
    assert Decimal(totals["verified_hours"]) == Decimal("12.0")
    assert (totals["verified_records"], totals["pending_records"]) == (2, 1)  # the draft's record waits for no one
    listed = {v.pk: v for v in client.get(reverse("dashboards:volunteer_list")).context["object_list"]}
    assert (Decimal(listed[volunteer.pk].verified_hours), listed[volunteer.pk].pending_records) == (Decimal("12.0"), 1)
    teams = {t.pk: t for t in client.get(reverse("dashboards:team_list")).context["object_list"]}
    assert Decimal(teams[team.pk].verified_hours) == Decimal("12.0")
    assert Decimal(client.get(reverse("dashboards:team_detail", args=[team.pk])).context["team_hours"]) == Decimal("12.0")

    # the same hours as the rollup behind the pairing page, the dashboards and the reports
    rollup = PairingMonth.objects.filter(pairing=pairing).aggregate(h=Sum("verified_hours"))["h"]
    assert Decimal(str(rollup)).quantize(Decimal("0.1")) == Decimal(totals["verified_hours"]).quantize(Decimal("0.1"))
    assert selectors.pairing_headline(pairing, 2024).volunteer_hours == Decimal("12.0")


def test_pages_say_hours_are_actual_service_time(client, objects, settings):
    client.force_login(objects["users"]["secretary"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("dashboards:volunteer_detail", args=[objects["volunteer"].pk])).content.decode()
    assert "actual service time" in page


def test_volunteer_page_hides_drafts_of_other_branches(client, objects, world):
    other = activity(world["pairing"], world["other_branch"], status="draft", title="别的支部草稿")
    f.ServiceRecordFactory(activity=other, volunteer=objects["volunteer"])
    client.force_login(world["users"]["secretary"])
    page = client.get(reverse("dashboards:volunteer_detail", args=[objects["volunteer"].pk])).content.decode()
    assert "小电匠进村维修" in page and "别的支部草稿" not in page
    client.force_login(world["users"]["committee"])
    assert "别的支部草稿" in client.get(reverse("dashboards:volunteer_detail", args=[objects["volunteer"].pk])).content.decode()


def test_volunteer_list_filters(client, objects, world):
    f.VolunteerFactory(organization=world["branch"], name="王学生", kind="student")
    client.force_login(world["users"]["secretary"])

    def names(**params):
        return {v.name for v in client.get(reverse("dashboards:volunteer_list"), params).context["object_list"]}

    assert names(q="小电") == {"张小电"}
    assert names(kind="student") == {"王学生"}
    assert names(pending="on") == {"张小电"}
    assert client.get(reverse("dashboards:volunteer_list"), {"kind": "nonsense"}).status_code == 200


def test_a_team_the_user_cannot_open_is_named_not_linked(client, objects):
    """A volunteer of the branch may belong to a team of another organisation (创意设计部志愿服务队 in the demo):
    the branch's secretary sees its name on the volunteer's page, but no link that would answer 404."""
    foreign = f.TeamFactory(name="创意设计部志愿服务队")  # an organisation outside the secretary's scope
    foreign.members.add(objects["volunteer"])
    client.force_login(objects["users"]["secretary"])
    page = client.get(reverse("dashboards:volunteer_detail", args=[objects["volunteer"].pk])).content.decode()
    own, other = (reverse("dashboards:team_detail", args=[t.pk]) for t in (objects["team"], foreign))
    assert own in page and "创意设计部志愿服务队" in page and other not in page
    assert client.get(other).status_code == 404


@pytest.mark.parametrize("status", ["draft", "returned"])
def test_hours_on_an_activity_not_yet_submitted_wait_for_it(client, objects, world, status):
    """The volunteer and team pages offer to verify only hours that await verification (the activity was
    submitted), as the pending figure counts them; the service leaves the others alone even if posted."""
    waiting = f.ServiceRecordFactory(activity=activity(world["pairing"], world["branch"], status=status),
                                     volunteer=objects["volunteer"], hours=Decimal("2.0"))
    secretary = world["users"]["secretary"]
    client.force_login(secretary)
    page = client.get(reverse("dashboards:volunteer_detail", args=[objects["volunteer"].pk]))
    verifiable = {r.pk for r in page.context["records"].object_list if r.can_verify}
    assert objects["record"].pk in verifiable and waiting.pk not in verifiable
    team_page = client.get(reverse("dashboards:team_detail", args=[objects["team"].pk]))
    assert [r.pk for r in team_page.context["pending"]] == [objects["record"].pk]
    client.post(reverse("activities:volunteer_verify", args=[objects["volunteer"].pk]),
                {"records": [waiting.pk, objects["record"].pk]})
    assert ServiceRecord.objects.get(pk=waiting.pk).status == "recorded"
    assert ServiceRecord.objects.get(pk=objects["record"].pk).status == "verified"
