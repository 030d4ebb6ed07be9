"""Fixtures for the activity tests: a temporary MEDIA_ROOT, a type, metrics and volunteers on the world."""

import pytest

from pairings.models import Metric
from tests import factories as f


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def kit(world, media):
    """The world plus what the activity form offers: a type, two metrics of the program, one of another
    program, volunteers of both branches, a plan item and a need of the pairing."""
    pairing = world["pairing"]
    plan = f.JointPlanFactory(pairing=pairing)
    return {
        **world,
        "type": f.ActivityTypeFactory(code="volunteer-service", name="志愿服务"),
        "repairs": f.MetricFactory(program=world["program"], code="repairs", name="家电维修", unit=Metric.Unit.ITEMS),
        "income": f.MetricFactory(program=world["program"], code="income", name="增收", unit=Metric.Unit.YUAN),
        "foreign_metric": f.MetricFactory(program=world["other_program"], code="trees", name="植树", unit=Metric.Unit.PLANTS),
        "volunteer": f.VolunteerFactory(organization=world["branch"], name="张老师"),
        "foreign_volunteer": f.VolunteerFactory(organization=world["other_branch"], name="李老师"),
        "plan_item": f.PlanItemFactory(plan=plan, owner_branch=world["branch"]),
        "need": f.NeedFactory(pairing=pairing),
    }
