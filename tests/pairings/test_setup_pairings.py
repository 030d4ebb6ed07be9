"""Issue 15: a program admin sets up a pairing (its branches and both sides' liaisons) through the portal's pages,
scoped to the programs of the office they administer."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity
from pairings.models import Liaison, Pairing, PairingBranch
from portal.models import Membership, Organization
from tests import factories as f


@pytest.fixture
def newcomers(world):
    """A school the office keeps (two branches, a secretary on one) and a village it keeps: not paired yet."""
    office = world["office"]
    school = f.OrganizationFactory(name="中山中专", kind=Organization.Kind.SCHOOL, managed_by=office)
    third = f.OrganizationFactory(name="中山中专第三党支部", kind=Organization.Kind.BRANCH, parent=school)
    fifth = f.OrganizationFactory(name="中山中专第五党支部", kind=Organization.Kind.BRANCH, parent=school)
    village = f.OrganizationFactory(name="大坑村", kind=Organization.Kind.VILLAGE, managed_by=office)
    secretary = f.UserFactory(username="third_secretary")
    f.MembershipFactory(user=secretary, organization=third, role=Membership.Role.SECRETARY)
    cadre = f.UserFactory(username="cadre", full_name="李村官")
    f.MembershipFactory(user=cadre, organization=village, role=Membership.Role.VILLAGE_COMMITTEE)
    return dict(school=school, third=third, fifth=fifth, village=village, secretary=secretary, cadre=cadre)


def create_data(world, new, **overrides):
    data = {
        "program": world["program"].pk, "supporter": new["school"].pk, "supported": new["village"].pk,
        "signed_on": "2026-03-01", "term_start": "2026-03-01", "term_end": "2028-12-31", "goals": "党建引领乡村振兴",
    }
    return {**data, **overrides}


def setup_data(pairing, *, branches, supporter=(), supported=(), **overrides):
    data = {
        "status": "active", "signed_on": "2026-03-01", "term_start": "2026-03-01", "term_end": "2028-12-31",
        "goals": "", "branches": [b.pk for b in branches],
    }
    for side, rows in (("supporter", supporter), ("supported", supported)):
        prefix = f"liaison-{side}"
        existing = [liaison for liaison in pairing.liaisons.all() if liaison.side == side]
        data[f"{prefix}-TOTAL_FORMS"] = str(len(rows))
        data[f"{prefix}-INITIAL_FORMS"] = str(len(existing))
        for i, row in enumerate(rows):
            for key, value in row.items():
                data[f"{prefix}-{i}-{key}"] = value
    return {**data, **overrides}


def test_the_admin_creates_a_pairing_and_its_secretary_records_an_activity(client, world, newcomers):
    new = newcomers
    client.force_login(world["users"]["admin"])
    response = client.post(reverse("pairings:pairing_create"), create_data(world, new))
    pairing = Pairing.objects.get(supporter=new["school"], supported=new["village"])
    assert response.status_code == 302 and response["Location"] == reverse("pairings:pairing_setup", args=[pairing.pk])

    response = client.post(
        reverse("pairings:pairing_setup", args=[pairing.pk]),
        setup_data(
            pairing, branches=[new["third"], new["fifth"]],
            supporter=[{"name": "王老师", "title": "党委委员", "phone": "13800001111"}],
            supported=[{"name": "李村官", "user": new["cadre"].pk}],
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    assert set(pairing.branches.values_list("name", flat=True)) == {"中山中专第三党支部", "中山中专第五党支部"}
    assert set(Liaison.objects.filter(pairing=pairing).values_list("side", "name")) == {
        ("supporter", "王老师"), ("supported", "李村官"),
    }
    # the audit trail names the admin
    assert PairingBranch.history.filter(pairing_id=pairing.pk).first().history_user == world["users"]["admin"]

    listed = client.get(reverse("pairings:pairing_list"))
    assert pairing in listed.context["object_list"]
    # the village's liaison account now reads the pairing
    client.force_login(new["cadre"])
    assert client.get(reverse("pairings:pairing_detail", args=[pairing.pk])).status_code == 200

    client.force_login(new["secretary"])
    kind = f.ActivityTypeFactory(code="ztdr", name="主题党日")
    response = client.post(reverse("activities:create"), {
        "pairing": pairing.pk, "activity_type": kind.pk, "title": "主题党日进大坑村",
        "date": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(), "action": "draft",
        "metrics-TOTAL_FORMS": "0", "metrics-INITIAL_FORMS": "0", "hours-TOTAL_FORMS": "0", "hours-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302
    assert Activity.objects.get(pairing=pairing).branch == new["third"]


def test_the_pairing_page_links_to_its_set_up_for_its_admin_only(client, world):
    url = reverse("pairings:pairing_setup", args=[world["pairing"].pk])
    client.force_login(world["users"]["admin"])
    assert url in client.get(reverse("pairings:pairing_detail", args=[world["pairing"].pk])).content.decode()
    client.force_login(world["users"]["committee"])
    assert url not in client.get(reverse("pairings:pairing_detail", args=[world["pairing"].pk])).content.decode()


def test_foreign_programs_and_organisations_are_not_valid_choices(client, world, newcomers):
    foreign_school = f.OrganizationFactory(name="别人的学校", kind=Organization.Kind.SCHOOL)
    client.force_login(world["users"]["admin"])
    for field, value in (
        ("program", world["other_program"].pk),
        ("supporter", foreign_school.pk),
        ("supported", world["other_pairing"].supported_id),
    ):
        response = client.post(reverse("pairings:pairing_create"), create_data(world, newcomers, **{field: value}))
        assert response.status_code == 200
        assert "请选择有效的选项" in str(response.context["form"].errors[field])
    assert not Pairing.objects.filter(supported=newcomers["village"]).exists()


def test_the_other_programs_pairing_is_not_found(client, world):
    client.force_login(world["users"]["admin"])
    url = reverse("pairings:pairing_setup", args=[world["other_pairing"].pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {}).status_code == 404


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"term_end": "2025-01-01"}, "term_end", "不能早于起始日期"),
        ({"supported": "SAME"}, "supported", "请选择有效的选项"),
    ],
)
def test_bad_input_is_refused_in_chinese(client, world, newcomers, overrides, field, message):
    if overrides.get("supported") == "SAME":
        overrides = {"supported": newcomers["school"].pk}
    client.force_login(world["users"]["admin"])
    response = client.post(reverse("pairings:pairing_create"), create_data(world, newcomers, **overrides))
    assert response.status_code == 200
    assert message in str(response.context["form"].errors[field])
    assert not Pairing.objects.filter(supporter=newcomers["school"]).exists()


def test_a_pairing_already_made_is_refused_with_its_reason(client, world):
    client.force_login(world["users"]["admin"])
    response = client.post(reverse("pairings:pairing_create"), {
        "program": world["program"].pk, "supporter": world["school"].pk, "supported": world["village"].pk,
        "term_start": "2026-01-01",
    })
    assert response.status_code == 200
    assert "已经结对" in str(response.context["form"].errors["supported"])


def test_a_branch_of_another_school_or_a_bad_liaison_saves_nothing(client, world, newcomers):
    pairing = world["pairing"]
    client.force_login(world["users"]["admin"])
    url = reverse("pairings:pairing_setup", args=[pairing.pk])
    response = client.post(url, setup_data(
        pairing, branches=[world["branch"], newcomers["third"]], supporter=[{"name": "王老师"}],
        term_end="2030-01-01",
    ))
    assert response.status_code == 200
    assert "branches" in response.context["form"].errors
    # the liaison of the village side must be one of the village's people
    response = client.post(url, setup_data(
        pairing, branches=[world["branch"], world["other_branch"]],
        supporter=[{"name": "王老师"}], supported=[{"name": "外人", "user": world["users"]["secretary"].pk}],
        term_end="2030-01-01",
    ))
    assert response.status_code == 200
    pairing.refresh_from_db()
    assert pairing.term_end != datetime.date(2030, 1, 1)
    assert not Liaison.objects.filter(pairing=pairing, name__in=["王老师", "外人"]).exists()


def test_a_branch_that_recorded_work_stays(client, world):
    pairing = world["pairing"]
    f.ActivityFactory(pairing=pairing, branch=world["other_branch"])
    client.force_login(world["users"]["admin"])
    response = client.post(reverse("pairings:pairing_setup", args=[pairing.pk]), setup_data(pairing, branches=[world["branch"]]))
    assert response.status_code == 200
    assert "第四党支部" in str(response.context["form"].errors["branches"])
    assert pairing.pairing_branches.count() == 2


def test_liaisons_are_edited_and_removed(client, world):
    pairing = world["pairing"]
    liaison = f.LiaisonFactory(pairing=pairing, side="supported", name="张书记")
    client.force_login(world["users"]["admin"])
    url = reverse("pairings:pairing_setup", args=[pairing.pk])
    data = setup_data(pairing, branches=[world["branch"], world["other_branch"]],
                      supported=[{"id": liaison.pk, "name": "张书记", "phone": "13912345678"}])
    assert client.post(url, data).status_code == 302
    liaison.refresh_from_db()
    assert liaison.phone == "13912345678"
    data = setup_data(pairing, branches=[world["branch"], world["other_branch"]],
                      supported=[{"id": liaison.pk, "name": "张书记", "DELETE": "on"}])
    assert client.post(url, data).status_code == 302
    assert not Liaison.objects.filter(pk=liaison.pk).exists()


def test_a_party_branch_is_not_offered_as_the_supporting_side(world):
    """A branch takes part in its school's pairing; the supporting side is the school (or organ) itself."""
    from pairings.permissions import supporter_choices

    offered = set(supporter_choices(world["users"]["admin"]))
    assert world["school"] in offered
    assert world["branch"] not in offered and world["other_branch"] not in offered
    assert world["village"] not in offered


def test_several_liaisons_of_a_side_are_added_in_one_save(client, world):
    """The page offers one blank row per side and an 添加联络员 button that copies the empty row (with the side's
    accounts to choose from); three rows sent at once make three liaisons."""
    pairing = world["pairing"]
    client.force_login(world["users"]["admin"])
    url = reverse("pairings:pairing_setup", args=[pairing.pk])
    page = client.get(url).content.decode()
    template = page[page.index('<template data-empty>'):page.index("</template>")]
    assert 'name="liaison-supporter-__prefix__-name"' in template and "添加联络员" in page
    assert template.count("<option") > 1  # the side's accounts, not only 无
    before = pairing.liaisons.filter(side="supporter").count()
    rows = [{"name": n, "title": "联络员", "phone": "13800000000"} for n in ("甲老师", "乙老师", "丙老师")]
    existing = [{"id": l.pk, "name": l.name} for l in pairing.liaisons.all() if l.side == "supporter"]
    response = client.post(url, setup_data(pairing, branches=[world["branch"]], supporter=existing + rows))
    assert response.status_code == 302
    names = set(pairing.liaisons.filter(side="supporter").values_list("name", flat=True))
    assert {"甲老师", "乙老师", "丙老师"} <= names and len(names) == before + 3
