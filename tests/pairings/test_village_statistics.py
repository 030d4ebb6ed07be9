"""Village statistics (人均纯收入, 村集体经济收入 …) as the villages' own records: who reads and records them (every
role of the cast), the service's rules, the "latest as at a day" selector, the page and the pairing page."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from pairings import permissions, selectors, services
from pairings.models import VillageStatistic
from portal.models import Membership, Organization
from tests import factories as f

pytestmark = pytest.mark.django_db
ROLES = ("secretary", "other_secretary", "member", "committee", "village", "admin", "outsider", "superuser")
READERS = {"secretary", "other_secretary", "member", "committee", "village", "admin", "superuser"}
RECORDERS = {"village", "admin", "superuser"}
END_2023, END_2024 = datetime.date(2023, 12, 31), datetime.date(2024, 12, 31)


@pytest.fixture
def income(db):
    return f.VillageIndicatorFactory(code="per_capita_net_income")


@pytest.fixture
def collective(db):
    return f.VillageIndicatorFactory(code="collective_income")


def record(village, actor, indicator, as_at, value, source="村统计年报"):
    return services.village_statistic_record(
        village=village, indicator=indicator, as_at=as_at, value=Decimal(value), source=source, actor=actor
    )


# ---------------------------------------------------------------- who


def who(cast, predicate, *args):
    return {role for role in ROLES if predicate(cast[role], *args)}


def test_who_reads_and_who_records_a_villages_statistics(world, cast, income):
    village = world["village"]
    assert who(cast, permissions.can_read_statistics, village) == READERS
    assert who(cast, permissions.can_record_statistics, village) == RECORDERS
    statistic = f.VillageStatisticFactory(village=village, indicator=income)
    for role in ROLES:  # the QuerySet forms say the same
        assert (statistic in VillageStatistic.objects.visible_to(cast[role])) == (role in READERS), role
        assert (statistic in VillageStatistic.objects.editable_by(cast[role])) == (role in RECORDERS), role


def test_a_program_admin_records_only_for_the_villages_their_programs_pair(world, cast):
    """The other program's admin has no say over 龙石村 until their program pairs it too."""
    village = world["village"]
    other_admin = f.UserFactory(username="other_admin")
    f.MembershipFactory(user=other_admin, organization=world["other_program"].office, role=Membership.Role.ADMIN)
    assert not permissions.can_record_statistics(other_admin, village)
    assert not permissions.can_read_statistics(other_admin, village)
    f.PairingFactory(program=world["other_program"], supported=village)
    assert permissions.can_record_statistics(other_admin, village)
    assert permissions.can_read_statistics(other_admin, village)


def test_a_liaison_and_a_subdistrict_committee_speak_for_the_village(world):
    village = world["village"]
    liaison = f.UserFactory(username="liaison")
    f.MembershipFactory(user=liaison, organization=village, role=Membership.Role.LIAISON)
    subdistrict = f.OrganizationFactory(name="五桂山街道", kind=Organization.Kind.SUBDISTRICT)
    village.parent = subdistrict
    village.save()
    above = f.UserFactory(username="subdistrict")
    f.MembershipFactory(user=above, organization=subdistrict, role=Membership.Role.VILLAGE_COMMITTEE)
    assert permissions.can_record_statistics(liaison, village)
    assert permissions.can_record_statistics(above, village)


# ---------------------------------------------------------------- the service


def test_recording_and_correcting_keep_the_history(world, income):
    village, user = world["village"], world["users"]["village"]
    statistic, previous = record(village, user, income, END_2023, "16000")
    assert previous is None
    assert (statistic.value, statistic.recorded_by, statistic.source) == (Decimal("16000"), user, "村统计年报")
    corrected, previous = record(village, world["users"]["admin"], income, END_2023, "16861", source="镇统计站")
    assert corrected.pk == statistic.pk and previous == Decimal("16000")
    corrected.refresh_from_db()
    assert (corrected.value, corrected.source, corrected.recorded_by) == (Decimal("16861"), "镇统计站", world["users"]["admin"])
    assert [h.value for h in corrected.history.order_by("history_id")] == [Decimal("16000"), Decimal("16861")]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"as_at": datetime.date(2999, 1, 1)}, "as_at"),  # the future
        ({"as_at": datetime.date(1999, 12, 31)}, "as_at"),
        ({"as_at": None}, "as_at"),
        ({"value": None}, "value"),  # not reported: no row, never a 0
        ({"value": Decimal("-1")}, "value"),
        ({"value": Decimal("10") ** 13}, "value"),
        ({"source": "  "}, "source"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(world, income, change, field):
    values = dict(village=world["village"], indicator=income, as_at=END_2023, value=Decimal("16861"), source="村统计年报")
    values.update(change)
    with pytest.raises(ValidationError) as raised:
        services.village_statistic_record(actor=world["users"]["village"], **values)
    assert field in raised.value.message_dict
    assert not VillageStatistic.objects.exists()


def test_an_inactive_indicator_or_a_school_is_refused(world, income):
    income.is_active = False
    income.save()
    with pytest.raises(ValidationError) as raised:
        record(world["village"], world["users"]["superuser"], income, END_2023, "1")
    assert "indicator" in raised.value.message_dict
    income.is_active = True
    income.save()
    with pytest.raises(ValidationError) as raised:
        record(world["school"], world["users"]["superuser"], income, END_2023, "1")
    assert "village" in raised.value.message_dict
    assert not VillageStatistic.objects.exists()


@pytest.mark.parametrize("role", sorted(set(ROLES) - RECORDERS))
def test_only_recorders_write_or_delete(world, cast, income, role):
    with pytest.raises(ValidationError):
        record(world["village"], cast[role], income, END_2023, "1")
    assert not VillageStatistic.objects.exists()
    statistic = f.VillageStatisticFactory(village=world["village"], indicator=income)
    with pytest.raises(ValidationError):
        services.village_statistic_delete(statistic=statistic, actor=cast[role])
    assert VillageStatistic.objects.filter(pk=statistic.pk).exists()


def test_deleting_keeps_the_value_in_the_history(world, income):
    statistic = f.VillageStatisticFactory(village=world["village"], indicator=income)
    pk = statistic.pk
    services.village_statistic_delete(statistic=statistic, actor=world["users"]["admin"])
    assert not VillageStatistic.objects.exists()
    assert VillageStatistic.history.filter(id=pk, history_type="-").get().value == Decimal("16861")


# ---------------------------------------------------------------- latest as at a day


def test_latest_as_at_a_day_never_takes_a_later_value(world, income, collective):
    village, other = world["village"], world["other_pairing"].supported
    for as_at, value in ((END_2023, 15000), (datetime.date(2024, 6, 30), 16000), (END_2024, 16861)):
        f.VillageStatisticFactory(village=village, indicator=income, as_at=as_at, value=value)
    f.VillageStatisticFactory(village=village, indicator=collective, as_at=datetime.date(2022, 12, 31), value=30)
    f.VillageStatisticFactory(village=other, indicator=income, as_at=datetime.date(2024, 3, 1), value=9000)

    def shown(day):
        with CaptureQueriesContext(connection) as captured:
            latest = selectors.latest_statistics([village.pk, other.pk], as_at=day)
        assert len(captured) == 1  # one query, whatever the villages
        return {vid: [(s.indicator.code, s.as_at, s.value) for s in rows] for vid, rows in latest.items()}

    assert shown(datetime.date(2024, 6, 29)) == {
        village.pk: [("per_capita_net_income", END_2023, 15000), ("collective_income", datetime.date(2022, 12, 31), 30)],
        other.pk: [("per_capita_net_income", datetime.date(2024, 3, 1), 9000)],
    }
    assert shown(datetime.date(2024, 6, 30))[village.pk][0] == ("per_capita_net_income", datetime.date(2024, 6, 30), 16000)
    assert shown(datetime.date(2025, 1, 1))[village.pk][0] == ("per_capita_net_income", END_2024, 16861)
    assert shown(datetime.date(2022, 1, 1)) == {}


# ---------------------------------------------------------------- the page


def url(village):
    return reverse("pairings:village_statistics", args=[village.pk])


def post(client, village, **fields):
    data = {"indicator": "", "as_at": "2023-12-31", "value": "16861", "source": "村统计年报", **fields}
    return client.post(url(village), data, HTTP_ACCEPT_LANGUAGE="zh-hans")


def test_the_village_records_a_value_on_its_page(client, world, income):
    client.force_login(world["users"]["village"])
    response = post(client, world["village"], indicator=income.pk)
    assert response.status_code == 302 and response["Location"] == url(world["village"])
    statistic = VillageStatistic.objects.get()
    assert (statistic.value, statistic.as_at, statistic.recorded_by) == (Decimal("16861"), END_2023, world["users"]["village"])
    page = client.get(url(world["village"]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "已登记：人均纯收入，截至2023-12-31，16861 元。" in page
    assert "16861 元" in page and "村统计年报" in page and "删除" in page


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"value": ""}, "请填写数值。未上报的数据不要登记"),
        ({"value": "一万"}, "请输入数字。"),
        ({"value": "-5"}, "确保该值大于或等于0。"),
        ({"as_at": "2999-01-01"}, "截至日期不能晚于今天。"),
        ({"as_at": "2023-13-40"}, "输入一个有效的日期。"),
        ({"source": ""}, "这个字段是必填项。"),
        ({"indicator": "999999"}, "请从列表中选择指标。"),
    ],
)
def test_bad_input_gets_a_chinese_message_and_saves_nothing(client, world, income, fields, message):
    client.force_login(world["users"]["admin"])
    response = post(client, world["village"], **{"indicator": income.pk, **fields})
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page and "请修改下方标出的内容" in page
    assert not VillageStatistic.objects.exists()


@pytest.mark.parametrize("role", sorted(READERS - RECORDERS))
def test_a_reader_sees_the_values_but_no_form_and_cannot_post(client, world, cast, income, role):
    f.VillageStatisticFactory(village=world["village"], indicator=income)
    client.force_login(cast[role])
    response = client.get(url(world["village"]))
    assert response.status_code == 200
    assert not response.context["can_record"] and b'name="value"' not in response.content
    assert b"16861" in response.content
    assert post(client, world["village"], indicator=income.pk, as_at="2024-12-31").status_code == 403
    assert VillageStatistic.objects.count() == 1


def test_outside_the_scope_the_village_is_not_there(client, world, cast, income):
    client.force_login(cast["outsider"])
    assert client.get(url(world["village"])).status_code == 404
    assert post(client, world["village"], indicator=income.pk).status_code == 404
    assert client.get(reverse("pairings:village_statistics", args=[999999])).status_code == 404
    assert not VillageStatistic.objects.exists()
    client.logout()
    assert client.get(url(world["village"])).status_code == 302  # to the sign-in page


@pytest.mark.parametrize("role, status, kept", [("village", 302, False), ("admin", 302, False), ("committee", 403, True), ("outsider", 404, True)])
def test_deleting_from_the_page(client, world, cast, income, role, status, kept):
    statistic = f.VillageStatisticFactory(village=world["village"], indicator=income)
    client.force_login(cast[role])
    response = client.post(reverse("pairings:village_statistic_delete", args=[statistic.pk]))
    assert response.status_code == status
    assert VillageStatistic.objects.filter(pk=statistic.pk).exists() == kept


def queries(client, address):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(address).status_code == 200
    return len(captured)


def test_the_page_runs_the_same_queries_for_1_and_30_values(client, world):
    """The session with its user and the header's unread notifications (1), the scope (1), the village (1), its values with
    their indicators and recorders (1), its pairings (1), the indicators of the form (1)."""
    village = world["village"]
    client.force_login(world["users"]["village"])
    counts = []
    for n in (1, 29):
        for i in range(n):
            indicator = f.VillageIndicatorFactory(code=f"indicator-{i % 6}")
            f.VillageStatisticFactory(
                village=village, indicator=indicator, as_at=datetime.date(1990 + len(counts) * 30 + i, 12, 31),
                recorded_by=f.UserFactory(),
            )
        counts.append(queries(client, url(village)))
    assert VillageStatistic.objects.count() == 30
    assert counts == [6, 6]


# ---------------------------------------------------------------- the pairing page


def test_the_pairing_page_shows_the_latest_value_with_its_day_and_source(client, world, income, collective):
    village = world["village"]
    f.VillageStatisticFactory(village=village, indicator=income, as_at=END_2023, value=15000, source="2023年报")
    f.VillageStatisticFactory(village=village, indicator=income, as_at=END_2024, value=16861, source="2024年报")
    client.force_login(world["users"]["secretary"])
    response = client.get(reverse("pairings:pairing_detail", args=[world["pairing"].pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    page = response.content.decode()
    assert [(s.indicator.name, s.value, s.as_at) for s in response.context["page"].statistics] == [
        ("人均纯收入", Decimal("16861"), END_2024)
    ]
    assert "16861 元" in page and "截至2024-12-31" in page and "2024年报" in page and "15000" not in page
    assert "村集体经济收入" not in page  # not reported: not shown, not 0
    assert url(village) in page and "全部数值" in page  # a reader may look, not record
    client.force_login(world["users"]["village"])
    assert "登记或更正" in client.get(reverse("pairings:pairing_detail", args=[world["pairing"].pk])).content.decode()


def test_a_value_dated_today_is_shown_from_today(client, world, income):
    today = timezone.localdate()
    record(world["village"], world["users"]["village"], income, today, "17000")
    client.force_login(world["users"]["village"])
    statistics = client.get(reverse("pairings:pairing_detail", args=[world["pairing"].pk])).context["page"].statistics
    assert [(s.value, s.as_at) for s in statistics] == [(Decimal("17000"), today)]


# ---------------------------------------------------------------- whole units and how values read


@pytest.fixture
def population(db):
    return f.VillageIndicatorFactory(code="registered_population", name="户籍人口", unit="人")


def test_a_count_of_people_is_whole_and_nothing_is_saved_otherwise(client, world, population):
    client.force_login(world["users"]["village"])
    response = post(client, world["village"], indicator=population.pk, value="1234.5")
    assert response.status_code == 200
    assert "“户籍人口”以整人计，请填写整数。" in response.content.decode()
    assert not VillageStatistic.objects.exists()
    with pytest.raises(ValidationError) as caught:
        record(world["village"], world["users"]["village"], population, END_2023, "0.5")
    assert list(caught.value.message_dict) == ["value"]
    record(world["village"], world["users"]["village"], population, END_2023, "1234.00")  # whole, however written
    assert VillageStatistic.objects.get().value == Decimal("1234")


def test_values_read_as_written_without_trailing_zeros(client, world, income, collective):
    village, actor = world["village"], world["users"]["village"]
    record(village, actor, income, END_2023, "21500.00")
    record(village, actor, collective, END_2023, "12.50")
    client.force_login(actor)
    page = client.get(url(village), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "21500 元" in page and "12.5 万元" in page
    assert "21500.00" not in page and "12.50" not in page
    detail = client.get(reverse("pairings:pairing_detail", args=[world["pairing"].pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "21500 元" in detail.content.decode() and "12.5 万元" in detail.content.decode()
