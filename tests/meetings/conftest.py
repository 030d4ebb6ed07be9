"""Fixtures for the joint-meeting tests: a meeting of the world's pairing with attendees of both sides and two
decisions, one owned by each side; a temporary MEDIA_ROOT for its files."""

import datetime

import pytest

from activities import services
from activities.models import ActionItem
from portal.models import Membership
from tests import factories as f

MEETING_DAY = datetime.date(2024, 3, 10)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def attendees(world):
    return [
        services.AttendeeEntry(side="supporter", user=world["users"]["secretary"], organization=world["branch"], title="支部书记"),
        services.AttendeeEntry(side="supporter", name="王校长", organization=world["school"]),
        services.AttendeeEntry(side="supported", user=world["users"]["village"], organization=world["village"], title="村两委委员"),
        services.AttendeeEntry(side="other", name="镇党委组织委员", organization_name="龙山镇党委"),
    ]


def decisions(world, **overrides):
    return [
        services.DecisionEntry(
            text="第三党支部牵头组织“小电匠”进村维修", owner_org=world["branch"], due_date=datetime.date(2024, 3, 31),
            owner_user=world["users"]["secretary"],
        ),
        services.DecisionEntry(text="村委会摸排独居老人需求清单", owner_org=world["village"], due_date=datetime.date(2024, 6, 30)),
    ]


def fields(**overrides):
    values = {"date": MEETING_DAY, "title": "", "place": "龙石村党群服务中心", "minutes": "共同商讨结对共建的各项工作,研究解决遇到的困难和问题。"}
    values.update(overrides)
    return services.MeetingFields(**values)


@pytest.fixture
def cast(world):
    """The world's users and a read-only one: a plain member (not the secretary) of the first branch."""
    member = f.UserFactory(username="member")
    f.MembershipFactory(user=member, organization=world["branch"], role=Membership.Role.MEMBER)
    return {**world["users"], "member": member}


@pytest.fixture
def meeting(world, cast):
    """The pairing's meeting of 2024-03-10, recorded by the program admin."""
    return services.meeting_create(
        actor=world["users"]["admin"], program=world["program"], pairing=world["pairing"], fields=fields(),
        attendees=attendees(world), decisions=decisions(world),
    )


def items(meeting):
    by_owner = {item.owner_org_id: item for item in ActionItem.objects.filter(meeting=meeting)}
    return by_owner
