"""A metric named like one of the fixed figures (服务群众, the people served) is marked as a metric (成效指标·服务群众)
on the pairing page and on the program dashboard, so that no two figures of a page carry the same name."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import translation

from figures.selectors import metric_label
from tests import factories as f
from tests.pairings.helpers import activity

pytestmark = pytest.mark.django_db


@pytest.fixture
def served(world, django_capture_on_commit_callbacks):
    """A sum metric 服务群众 (人次) beside the people served: 12 people served, the metric 40."""
    metric = f.MetricFactory(program=world["program"], name="服务群众", unit="人次", aggregation="sum", order=1)
    other = f.MetricFactory(program=world["program"], name="维修家电", unit="件", aggregation="sum", order=2)
    with django_capture_on_commit_callbacks(execute=True):
        done = activity(world["pairing"], world["branch"], date=datetime.date(2024, 5, 1), residents_served=12)
        f.ActivityMetricValueFactory(activity=done, metric=metric, value=40)
        f.ActivityMetricValueFactory(activity=done, metric=other, value=3)
    return metric


def labels(page, css):
    """The texts of the elements of class `css` (their own text, tags dropped)."""
    return [re.sub(r"<[^>]+>", "", text).strip() for text in re.findall(rf'<div class="{css}">(.*?)</div>', page, re.S)]


def test_the_pairing_page_marks_the_metric_named_like_a_fixed_figure(client, world, served):
    client.force_login(world["users"]["committee"])
    page = client.get(reverse("pairings:pairing_detail", args=[world["pairing"].pk]) + "?year=2024").content.decode()
    shown = labels(page, "label")
    assert shown.count("服务群众") == 1  # the people served, 12 人次
    assert "成效指标·服务群众" in shown and "维修家电" in shown  # the metric, 40 人次; another metric as it is
    assert len(shown) == len(set(shown))


def test_the_dashboard_marks_it_too(client, world, served):
    client.force_login(world["users"]["admin"])
    response = client.get(reverse("dashboards:program_dashboard", args=[world["program"].pk]) + "?year=2024")
    page = response.content.decode()
    assert "服务群众" in labels(page, "label")  # the people served card
    rows = re.findall(r'<tr><th scope="row">([^<]*) <small', page)
    assert rows == ["成效指标·服务群众", "维修家电"]
    assert [metric.label for metric in response.context["key_metrics"]] == ["成效指标·服务群众", "维修家电"]


def test_the_mark_follows_the_labels_in_the_language_shown():
    with translation.override("zh-hans"):
        assert metric_label("服务群众") == "成效指标·服务群众" and metric_label("服务 群众") == "成效指标·服务 群众"
        assert metric_label("服务群众人数") == "服务群众人数"
    with translation.override("en"):
        assert metric_label("服务群众") == "服务群众"
        assert metric_label("People served") == "Metric·People served"
