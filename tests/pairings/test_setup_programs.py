"""Issue 15: a program admin sets up their programs and the programs' metrics (unit, aggregation, default target)
through the portal's pages; another office's programs are not there for them."""

from decimal import Decimal

import pytest
from django.urls import reverse

from pairings.models import Metric, Program
from portal.models import Organization
from tests import factories as f


def program_data(**overrides):
    data = {"name": "党建共同体", "code": "djgtt", "description": "", "monthly_reports": "on", "quarterly_reports": "on",
            "is_active": "on"}
    return {**data, **overrides}


def metric_data(**overrides):
    data = {"code": "repairs", "name": "维修家电", "unit": "件", "aggregation": "sum", "default_target": "",
            "description": "", "order": "1"}
    return {**data, **overrides}


def test_the_admin_creates_a_program_of_their_office(client, world):
    client.force_login(world["users"]["admin"])
    response = client.post(reverse("pairings:program_create"), program_data(office=world["office"].pk))
    program = Program.objects.get(code="djgtt")
    assert response["Location"] == reverse("pairings:program_update", args=[program.pk])
    assert program.office == world["office"]
    assert program.history.get().history_user == world["users"]["admin"]
    # and it is on their list, with the other office's program not
    names = [p.name for p in client.get(reverse("pairings:program_setup_list")).context["programs"]]
    assert "党建共同体" in names and "双联双助" in names and "党员进社区" not in names


def test_another_office_is_not_a_valid_choice(client, world):
    client.force_login(world["users"]["admin"])
    foreign = world["other_program"].office
    response = client.post(reverse("pairings:program_create"), program_data(office=foreign.pk))
    assert "请选择有效的选项" in str(response.context["form"].errors["office"])
    assert not Program.objects.filter(code="djgtt").exists()


def test_a_name_taken_is_refused_in_chinese(client, world):
    client.force_login(world["users"]["admin"])
    response = client.post(reverse("pairings:program_create"), program_data(office=world["office"].pk, name="双联双助"))
    assert "已有同名的项目" in str(response.context["form"].errors["name"])


def test_the_other_programs_pages_are_not_found(client, world):
    client.force_login(world["users"]["admin"])
    other = world["other_program"]
    metric = f.MetricFactory(program=other)
    for url in (
        reverse("pairings:program_update", args=[other.pk]),
        reverse("pairings:metric_create", args=[other.pk]),
        reverse("pairings:metric_update", args=[metric.pk]),
    ):
        assert client.get(url).status_code == 404
        assert client.post(url, metric_data()).status_code == 404
    assert not Metric.objects.filter(code="repairs").exists()


def test_the_admin_edits_their_program(client, world):
    client.force_login(world["users"]["admin"])
    program = world["program"]
    response = client.post(reverse("pairings:program_update", args=[program.pk]), program_data(name="双联双助（2026）", code="slsz"))
    assert response.status_code == 302
    program.refresh_from_db()
    assert program.name == "双联双助（2026）" and program.office == world["office"]


def test_a_metric_is_added_with_the_unit_registry_checked(client, world):
    client.force_login(world["users"]["admin"])
    url = reverse("pairings:metric_create", args=[world["program"].pk])
    response = client.post(url, metric_data(unit="人", aggregation="sum"))
    assert response.status_code == 200
    assert "人次" in str(response.context["form"].errors["aggregation"])  # the registry's rule, in Chinese
    assert client.post(url, metric_data(default_target="2.5")).status_code == 200  # 件 are whole
    response = client.post(url, metric_data(default_target="100"))
    assert response.status_code == 302
    metric = Metric.objects.get(program=world["program"], code="repairs")
    assert metric.default_target == Decimal("100")
    page = client.get(reverse("pairings:program_update", args=[world["program"].pk]))
    assert "维修家电" in page.content.decode()


def test_a_metric_in_use_keeps_its_unit_and_aggregation(client, world):
    metric = f.MetricFactory(program=world["program"], unit="万元", aggregation="sum", name="帮扶资金", code="funds")
    activity = f.ActivityFactory(pairing=world["pairing"], branch=world["branch"])
    f.ActivityMetricValueFactory(activity=activity, metric=metric)
    client.force_login(world["users"]["admin"])
    url = reverse("pairings:metric_update", args=[metric.pk])
    response = client.post(url, metric_data(code="funds", name="帮扶资金", unit="万元", aggregation="snapshot"))
    assert response.status_code == 200
    assert "不能再修改" in str(response.context["form"].errors["aggregation"])
    metric.refresh_from_db()
    assert metric.aggregation == "sum"
    # its name may still change
    response = client.post(url, metric_data(code="funds", name="筹集帮扶资金", unit="万元", aggregation="sum"))
    assert response.status_code == 302
    metric.refresh_from_db()
    assert metric.name == "筹集帮扶资金"


def test_a_default_target_is_offered_when_a_plan_item_is_created(client, world):
    metric = f.MetricFactory(program=world["program"], default_target=Decimal("50"))
    f.MetricFactory(program=world["program"])  # no default: not offered
    plan = f.JointPlanFactory(pairing=world["pairing"], year=2026)
    client.force_login(world["users"]["admin"])
    formset = client.get(reverse("pairings:plan_item_create", args=[plan.pk])).context["formset"]
    offered = [form.initial for form in formset.forms if form.initial]
    assert offered == [{"metric": metric.pk, "value": Decimal("50")}]


@pytest.mark.parametrize("extra", [1, 6])
def test_the_program_list_queries_do_not_grow(client, world, django_assert_num_queries, extra):
    office = world["office"]
    for i in range(extra):
        program = f.ProgramFactory(name=f"项目{i}", code=f"p{i}", office=office)
        f.MetricFactory(program=program)
        f.PairingFactory(program=program)
    client.force_login(world["users"]["admin"])
    client.get(reverse("pairings:program_setup_list"))
    with django_assert_num_queries(QUERIES):
        response = client.get(reverse("pairings:program_setup_list"))
    assert len(response.context["programs"]) == extra + 1


QUERIES = 2  # the session with its user and unread notices, programs with their counts (scope: kept since the first)
