"""factory-boy factories for every model; the fixed cast of users is built from these in conftest."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from activities.models import (
    ActionItem, Activity, ActivityMetricValue, ActivityPhoto, ActivityType, Meeting, MeetingAttachment, MeetingAttendee, Need,
    ServiceRecord,
)
from pairings import units
from pairings.models import (
    JointPlan, Liaison, Metric, Pairing, PairingBranch, PlanItem, PlanTarget, Program, VillageIndicator, VillageStatistic,
)
from portal.models import Membership, Organization, OutboxMessage, User
from reports.models import AnnualExport, Delivery, Notification, Preference, Report, Webhook
from volunteers.models import ServiceOffering, Team, Volunteer

PASSWORD = "test-pass-9x7!"
SEEDED_INDICATORS = {"per_capita_net_income": ("人均纯收入", "元"), "collective_income": ("村集体经济收入", "万元")}


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.django.Password(PASSWORD)


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"单位{n}")
    kind = Organization.Kind.SCHOOL


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(OrganizationFactory)
    role = Membership.Role.MEMBER


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Program

    name = factory.Sequence(lambda n: f"结对项目{n}")
    code = factory.Sequence(lambda n: f"program-{n}")
    office = factory.SubFactory(OrganizationFactory, kind=Organization.Kind.GOVERNMENT)


class MetricFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Metric

    program = factory.SubFactory(ProgramFactory)
    code = factory.Sequence(lambda n: f"metric-{n}")
    name = factory.Sequence(lambda n: f"指标{n}")
    unit = Metric.Unit.ITEMS
    aggregation = factory.LazyAttribute(lambda m: units.default_aggregation(m.unit))  # the unit registry's usual one


class PairingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pairing

    program = factory.SubFactory(ProgramFactory)
    supporter = factory.SubFactory(OrganizationFactory, kind=Organization.Kind.SCHOOL)
    supported = factory.SubFactory(OrganizationFactory, kind=Organization.Kind.VILLAGE)
    term_start = datetime.date(2023, 1, 1)
    term_end = datetime.date(2025, 12, 31)


class PairingBranchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PairingBranch

    pairing = factory.SubFactory(PairingFactory)
    branch = factory.SubFactory(
        OrganizationFactory,
        kind=Organization.Kind.BRANCH,
        parent=factory.SelfAttribute("..pairing.supporter"),
    )


class LiaisonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Liaison

    pairing = factory.SubFactory(PairingFactory)
    side = Liaison.Side.SUPPORTED
    name = factory.Sequence(lambda n: f"联络员{n}")


class JointPlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JointPlan

    pairing = factory.SubFactory(PairingFactory)
    year = 2024
    title = factory.LazyAttribute(lambda p: f"{p.year}年度共建计划")


class PlanItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanItem

    plan = factory.SubFactory(JointPlanFactory)
    title = factory.Sequence(lambda n: f"项目{n}")


class PlanTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanTarget

    item = factory.SubFactory(PlanItemFactory)
    metric = factory.SubFactory(MetricFactory, program=factory.SelfAttribute("..item.plan.pairing.program"))
    value = Decimal("10")


class VillageIndicatorFactory(factory.django.DjangoModelFactory):
    """A migration seeds the registry's indicators: asked for by their code, the same row comes back."""

    class Meta:
        model = VillageIndicator
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"indicator-{n}")
    name = factory.LazyAttribute(lambda i: SEEDED_INDICATORS.get(i.code, (f"村情指标{i.code}",))[0])
    unit = factory.LazyAttribute(lambda i: SEEDED_INDICATORS.get(i.code, ("", units.Unit.YUAN))[1])


class VillageStatisticFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VillageStatistic

    village = factory.SubFactory("tests.factories.OrganizationFactory", kind="village")
    indicator = factory.SubFactory(VillageIndicatorFactory)
    as_at = datetime.date(2023, 12, 31)
    value = Decimal("16861")
    source = "村统计年报"


class ActivityTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActivityType
        django_get_or_create = ("code",)

    code = "volunteer-service"
    name = "志愿服务"


class NeedFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Need

    pairing = factory.SubFactory(PairingFactory)
    title = factory.Sequence(lambda n: f"微心愿{n}")
    raised_at = factory.LazyFunction(timezone.now)


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    pairing = factory.SubFactory(PairingFactory)
    branch = factory.SubFactory(
        OrganizationFactory, kind=Organization.Kind.BRANCH, parent=factory.SelfAttribute("..pairing.supporter")
    )
    activity_type = factory.SubFactory(ActivityTypeFactory)
    title = factory.Sequence(lambda n: f"活动{n}")
    date = datetime.date(2024, 3, 15)


class ActivityMetricValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActivityMetricValue

    activity = factory.SubFactory(ActivityFactory)
    metric = factory.SubFactory(MetricFactory, program=factory.SelfAttribute("..activity.pairing.program"))
    value = Decimal("1")


class ActivityPhotoFactory(factory.django.DjangoModelFactory):
    """Writes a small JPEG under MEDIA_ROOT: point it at a temporary folder (the `settings` fixture)."""

    class Meta:
        model = ActivityPhoto

    activity = factory.SubFactory(ActivityFactory)
    image = factory.django.ImageField(filename="photo.jpg", format="JPEG", width=8, height=8)
    caption = factory.Sequence(lambda n: f"照片{n}")
    width = 8
    height = 8


class VolunteerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Volunteer

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"志愿者{n}")
    kind = Volunteer.Kind.TEACHER


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"志愿服务队{n}")


class ServiceOfferingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceOffering

    team = factory.SubFactory(TeamFactory)
    name = factory.Sequence(lambda n: f"服务{n}")


class ServiceRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceRecord

    activity = factory.SubFactory(ActivityFactory)
    volunteer = factory.SubFactory(VolunteerFactory, organization=factory.SelfAttribute("..activity.branch"))
    hours = Decimal("2.0")


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Report

    kind = Report.Kind.MONTHLY
    period = "2024-03"
    program = factory.SubFactory(ProgramFactory)


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    report = factory.SubFactory(ReportFactory)
    user = factory.SubFactory(UserFactory)
    message = factory.Sequence(lambda n: f"报告{n}已发布")


class PreferenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Preference

    user = factory.SubFactory(UserFactory)


class WebhookFactory(factory.django.DjangoModelFactory):
    """A 企业微信 group robot of a program (the address is never called in tests: they run their own server)."""

    class Meta:
        model = Webhook

    kind = Webhook.Kind.WECOM
    name = factory.Sequence(lambda n: f"结对工作群{n}")
    program = factory.SubFactory(ProgramFactory)
    url = factory.Sequence(lambda n: f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=test-{n}")


class DeliveryFactory(factory.django.DjangoModelFactory):
    """A group robot message waiting in the outbox."""

    class Meta:
        model = Delivery

    channel = Delivery.Channel.WECOM
    webhook = factory.SubFactory(WebhookFactory)
    key = factory.Sequence(lambda n: f"hook:test:{n}")
    subject = factory.Sequence(lambda n: f"龙石村活动{n}待验单")


class AnnualExportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AnnualExport

    program = factory.SubFactory(ProgramFactory)
    year = 2024


class MeetingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Meeting

    pairing = factory.SubFactory(PairingFactory)
    program = factory.SelfAttribute("pairing.program")
    title = factory.Sequence(lambda n: f"联席会议{n}")
    date = datetime.date(2024, 3, 10)


class MeetingAttendeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MeetingAttendee

    meeting = factory.SubFactory(MeetingFactory)
    side = MeetingAttendee.Side.SUPPORTED
    name = factory.Sequence(lambda n: f"参会人{n}")


class MeetingAttachmentFactory(factory.django.DjangoModelFactory):
    """A row only (the file is not on disk): the portal's form writes real ones."""

    class Meta:
        model = MeetingAttachment

    meeting = factory.SubFactory(MeetingFactory)
    kind = MeetingAttachment.Kind.DOCUMENT
    file = factory.Sequence(lambda n: f"meetings/2024/03/{n}.pdf")
    content_type = "application/pdf"


class ActionItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ActionItem

    meeting = factory.SubFactory(MeetingFactory)
    text = factory.Sequence(lambda n: f"决定事项{n}")
    owner_org = factory.SelfAttribute("meeting.pairing.supported")
    due_date = datetime.date(2024, 4, 30)


class OutboxMessageFactory(factory.django.DjangoModelFactory):
    """A task kept while the broker was away (portal/queue.py)."""

    class Meta:
        model = OutboxMessage

    task = "reports.tasks.send_deliveries"
    last_error = "ConnectionError: Error 111 connecting to 127.0.0.1:6379. Connection refused."
