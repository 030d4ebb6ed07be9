"""The program dashboard's note on latest-value figures gives no village statistic as an example: 人均纯收入 is a
village statistic (pairings.VillageStatistic), not a metric any more."""

import datetime

import pytest
from django.urls import reverse

from tests import factories as f
from tests.pairings.helpers import activity

pytestmark = pytest.mark.django_db


def test_the_metrics_note_gives_no_village_statistic_as_example(client, world, django_capture_on_commit_callbacks):
    repairs = f.MetricFactory(program=world["program"], name="维修家电", unit="件", aggregation="sum")
    with django_capture_on_commit_callbacks(execute=True):
        done = activity(world["pairing"], world["branch"], date=datetime.date(2024, 5, 1))
        f.ActivityMetricValueFactory(activity=done, metric=repairs, value=3)
    client.force_login(world["users"]["admin"])
    response = client.get(reverse("dashboards:program_dashboard", args=[world["program"].pk]) + "?year=2024")
    page = response.content.decode()
    assert response.context["metrics"]  # the outcome table and its note are shown
    assert "取最新值的指标（如智慧灌溉覆盖面积）不能跨结对累加" in page
    assert "人均纯收入" not in page
