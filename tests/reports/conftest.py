"""Fixtures of the report tests: the world of tests/conftest.py with a year of records around 龙石村."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from activities.models import Activity, Need, ServiceRecord
from pairings.models import Metric, PlanItem
from portal.models import Organization
from figures import rollups
from reports.periods import TZ
from tests import factories as f


def at(text):
    """An aware datetime in Asia/Shanghai from "2024-03-05 10:00"."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=TZ)


def activity(pairing, branch, day, status="confirmed", **kwargs):
    submitted = at(f"{day} 20:00") if status in ("submitted", "confirmed") else None
    confirmed = at(f"{day} 21:00") if status == "confirmed" else None
    return f.ActivityFactory(
        pairing=pairing,
        branch=branch,
        date=datetime.date.fromisoformat(day),
        status=status,
        submitted_at=submitted,
        confirmed_at=confirmed,
        **kwargs,
    )


@pytest.fixture
def records(world, settings, tmp_path):
    """March 2024 in the 双联双助 pairing, with everything that must and must not count.

    Counted in March: a1 (confirmed, branch, co-hosted by other_branch), a2 (submitted, branch),
    a3 (confirmed, other_branch). Not counted: a draft, a returned and a deleted activity.
    February: a0 (confirmed). Metrics: repairs (sum, 件), visits (sum, 人次), income (snapshot, 元)."""
    settings.MEDIA_ROOT = tmp_path
    # These tests publish their reports by hand; the publishing policy (monthly reminders published as soon as
    # they are built) has its own tests in tests/reports/test_publishing.py.
    world["program"].publish_monthly = world["other_program"].publish_monthly = False
    world["program"].save(update_fields=["publish_monthly"])
    world["other_program"].save(update_fields=["publish_monthly"])
    pairing, branch, other = world["pairing"], world["branch"], world["other_branch"]
    program = world["program"]
    third = f.OrganizationFactory(name="第五党支部", kind=Organization.Kind.BRANCH, parent=world["school"])
    f.PairingBranchFactory(pairing=pairing, branch=third)  # participates, logs nothing in March

    repairs = f.MetricFactory(program=program, code="repairs", name="维修家电", unit=Metric.Unit.ITEMS, order=1)
    visits = f.MetricFactory(program=program, code="visits", name="服务群众", unit=Metric.Unit.PERSON_TIMES, order=2)
    income = f.MetricFactory(
        program=program, code="income", name="人均纯收入", unit=Metric.Unit.YUAN, aggregation=Metric.Aggregation.SNAPSHOT, order=3
    )
    plan = f.JointPlanFactory(pairing=pairing, year=2024)
    item_repairs = f.PlanItemFactory(plan=plan, title="小电匠家电维修", owner_branch=branch, due_date=datetime.date(2024, 4, 20), status=PlanItem.Status.IN_PROGRESS)
    f.PlanTargetFactory(item=item_repairs, metric=repairs, value=Decimal("100"))
    item_income = f.PlanItemFactory(plan=plan, title="产业帮扶增收", owner_branch=other, due_date=datetime.date(2024, 12, 31))
    f.PlanTargetFactory(item=item_income, metric=income, value=Decimal("20000"))
    overdue = f.PlanItemFactory(plan=plan, title="井上添画", owner_branch=branch, due_date=datetime.date(2024, 3, 10), status=PlanItem.Status.PLANNED)
    f.PlanItemFactory(plan=plan, title="联席会议", owner_branch=branch, due_date=datetime.date(2024, 2, 1), status=PlanItem.Status.DONE)
    cancelled = f.PlanItemFactory(plan=plan, title="取消的项目", status=PlanItem.Status.CANCELLED, due_date=datetime.date(2024, 4, 2))
    f.PlanTargetFactory(item=cancelled, metric=repairs, value=Decimal("50"))  # a cancelled item's target does not count

    meeting = f.ActivityTypeFactory(code="joint-meeting", name="联席会议", order=2)
    service = f.ActivityTypeFactory(code="volunteer-service", name="志愿服务", order=5)

    a0 = activity(pairing, branch, "2024-02-20", activity_type=service, residents_served=10)
    f.ActivityMetricValueFactory(activity=a0, metric=repairs, value=Decimal("7"))
    f.ActivityMetricValueFactory(activity=a0, metric=income, value=Decimal("15000"))
    a1 = activity(pairing, branch, "2024-03-05", activity_type=service, party_members=5, teachers=3, students=12, residents_served=40)
    a1.co_branches.add(other, branch)  # the host listed again is not credited twice
    f.ActivityMetricValueFactory(activity=a1, metric=repairs, value=Decimal("9"))
    f.ActivityMetricValueFactory(activity=a1, metric=visits, value=Decimal("40"))
    f.ActivityMetricValueFactory(activity=a1, metric=income, value=Decimal("16861"))
    a2 = activity(pairing, branch, "2024-03-18", status="submitted", activity_type=meeting, party_members=4)
    f.ActivityMetricValueFactory(activity=a2, metric=repairs, value=Decimal("2.5"))
    a3 = activity(pairing, other, "2024-03-28", activity_type=service, residents_served=25, description="为龙石村老人检测血压。")
    f.ActivityMetricValueFactory(activity=a3, metric=visits, value=Decimal("25"))
    f.ActivityMetricValueFactory(activity=a3, metric=income, value=Decimal("16000"))  # the latest value: 16000, not the larger 16861

    draft = activity(pairing, branch, "2024-03-10", status="draft", activity_type=service)
    f.ActivityMetricValueFactory(activity=draft, metric=repairs, value=Decimal("1000"))
    returned = activity(pairing, branch, "2024-03-11", status="returned", activity_type=service)
    f.ActivityMetricValueFactory(activity=returned, metric=repairs, value=Decimal("1000"))
    deleted = activity(pairing, branch, "2024-03-12", activity_type=service)
    f.ActivityMetricValueFactory(activity=deleted, metric=repairs, value=Decimal("1000"))
    Activity.all_objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    foreign = activity(world["other_pairing"], f.OrganizationFactory(kind=Organization.Kind.BRANCH), "2024-03-05", activity_type=service)

    teacher = f.VolunteerFactory(organization=branch, name="贾珍")
    student = f.VolunteerFactory(organization=branch, name="学生甲")
    verified = {"status": ServiceRecord.Status.VERIFIED, "verified_at": at("2024-03-30 10:00")}
    f.ServiceRecordFactory(activity=a1, volunteer=teacher, hours=Decimal("3.5"), **verified)
    f.ServiceRecordFactory(activity=a1, volunteer=student, hours=Decimal("2.0"), **verified)
    f.ServiceRecordFactory(activity=a3, volunteer=teacher, hours=Decimal("1.5"), **verified)  # same person again: 人次 2, 人 2
    f.ServiceRecordFactory(activity=a2, volunteer=student, hours=Decimal("4.0"))  # recorded, not verified
    gone = f.ServiceRecordFactory(activity=a3, volunteer=student, hours=Decimal("9.0"), **verified)
    gone.deleted_at = timezone.now()  # as the form removes hours (a save: the kept hours follow)
    gone.save(update_fields=["deleted_at"])
    f.ServiceRecordFactory(activity=draft, volunteer=student, hours=Decimal("8.0"), **verified)  # draft activity

    needs = {
        "fulfilled": f.NeedFactory(
            pairing=pairing, title="修课桌", status=Need.Status.FULFILLED, raised_at=at("2024-03-01 09:00"),
            claimed_by_branch=branch, claimed_at=at("2024-03-03 09:00"), fulfilled_at=at("2024-03-11 09:00"),
            rating=5, rated_at=at("2024-03-12 09:00"),
        ),
        "claimed": f.NeedFactory(
            pairing=pairing, title="修路灯", status=Need.Status.CLAIMED, raised_at=at("2024-03-20 09:00"),
            claimed_by_branch=other, claimed_at=at("2024-03-21 09:00"),
        ),
        "stale": f.NeedFactory(pairing=pairing, title="健身器材", raised_at=at("2024-01-15 09:00")),
        "fresh": f.NeedFactory(pairing=pairing, title="图书角", raised_at=at("2024-03-25 09:00")),
        "april": f.NeedFactory(pairing=pairing, title="四月的需求", raised_at=at("2024-04-02 09:00")),
    }
    photo = f.ActivityPhotoFactory(activity=a3, caption="血压检测")
    minors = f.ActivityPhotoFactory(activity=a3, caption="小朋友", shows_minors=True)
    village_user = world["users"]["village"]
    village_user.email = "village@example.org"
    village_user.save()
    liaisons = [
        f.LiaisonFactory(pairing=pairing, name="龙石村联络员", user=village_user, email=""),
        f.LiaisonFactory(pairing=pairing, name="学校联络员", side="supporter", email="school-liaison@example.org"),
    ]
    # The test's transaction never commits, so the rollup's on-commit refresh does not run (and the deleted
    # activity and record above were written behind the portal's back): bring the rollup up to date, as
    # `manage.py rebuild_rollups` does, since the reports read the months before their period from it.
    rollups.rollups_rebuild()
    return {
        **world,
        "metrics": {"repairs": repairs, "visits": visits, "income": income},
        "activities": {"a0": a0, "a1": a1, "a2": a2, "a3": a3, "draft": draft, "returned": returned, "deleted": deleted, "foreign": foreign},
        "third_branch": third,
        "overdue_item": overdue,
        "needs": needs,
        "photo": photo,
        "minors_photo": minors,
        "liaisons": liaisons,
    }
