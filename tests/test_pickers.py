"""The type-ahead pickers (issue 18): their JSON endpoints answer each user with what that user reads, at most
20 rows, in a fixed number of queries; the activity list's filter renders only the chosen pairing and branch,
keeps them over a reload and an error, and still refuses one outside the scope without JavaScript."""

import re

import pytest
from django.urls import reverse

from portal.models import Organization
from tests import factories as f


def picked(client, name, q, **extra):
    response = client.get(reverse(name), {"q": q, **extra})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return response.json()["results"]


def labels(results):
    return [row["label"] for row in results]


@pytest.mark.django_db
def test_pairing_picker_by_either_side_in_chinese_with_the_scope(client, world):
    users = world["users"]
    client.force_login(users["secretary"])
    assert labels(picked(client, "pairings:pairing_picker", "龙石")) == ["学校–龙石村"]
    assert labels(picked(client, "pairings:pairing_picker", "学")) == ["学校–龙石村"]  # one character
    assert picked(client, "pairings:pairing_picker", "龙石")[0] == {
        "id": world["pairing"].pk, "label": "学校–龙石村", "hint": "双联双助",
    }
    assert picked(client, "pairings:pairing_picker", "田心") == []  # another program's pairing: not theirs
    assert picked(client, "pairings:pairing_picker", "") == []  # nothing asked, nothing listed
    client.force_login(users["outsider"])
    assert labels(picked(client, "pairings:pairing_picker", "村")) == [str(world["other_pairing"].supporter) + "–田心村"]
    client.force_login(users["superuser"])
    assert len(picked(client, "pairings:pairing_picker", "村")) == 2
    # every term held: the school's name and the village's
    assert labels(picked(client, "pairings:pairing_picker", "学校 龙石")) == ["学校–龙石村"]
    assert picked(client, "pairings:pairing_picker", "学校 田心") == []


@pytest.mark.django_db
def test_branch_picker_lists_the_branches_of_the_pairings_read(client, world):
    users = world["users"]
    client.force_login(users["village"])  # the village reads its pairing, so its branches
    assert labels(picked(client, "pairings:branch_picker", "支部")) == ["第三党支部", "第四党支部"]
    assert picked(client, "pairings:branch_picker", "第三")[0]["hint"] == "学校"
    # narrowed to a pairing: only its branches (the other pairing has none)
    assert picked(client, "pairings:branch_picker", "支部", pairing=world["other_pairing"].pk) == []
    assert len(picked(client, "pairings:branch_picker", "支部", pairing=world["pairing"].pk)) == 2
    client.force_login(users["outsider"])
    assert picked(client, "pairings:branch_picker", "支部") == []


@pytest.mark.django_db
def test_volunteer_picker_lists_the_volunteers_read(client, world):
    users = world["users"]
    f.VolunteerFactory(name="张三", organization=world["branch"])
    f.VolunteerFactory(name="张四", organization=f.OrganizationFactory(name="别的学校"))
    client.force_login(users["secretary"])
    assert [(row["label"], row["hint"]) for row in picked(client, "dashboards:volunteer_picker", "张")] == [
        ("张三", "第三党支部")
    ]
    client.force_login(users["superuser"])
    assert labels(picked(client, "dashboards:volunteer_picker", "张")) == ["张三", "张四"]
    client.force_login(users["outsider"])
    assert picked(client, "dashboards:volunteer_picker", "张") == []


@pytest.mark.django_db
def test_pickers_answer_at_most_twenty_in_fixed_queries(client, world, django_assert_num_queries):
    admin = world["users"]["admin"]
    client.force_login(admin)

    def add_pairings(count):
        for _ in range(count):
            pairing = f.PairingFactory(
                program=world["program"], supporter=world["school"],
                supported=f.OrganizationFactory(kind=Organization.Kind.VILLAGE, name=f"新村{Organization.objects.count()}"),
            )
            f.PairingBranchFactory(pairing=pairing, branch=f.OrganizationFactory(
                kind=Organization.Kind.BRANCH, name=f"新支部{pairing.pk}", parent=world["school"]))
            f.VolunteerFactory(name=f"李{pairing.pk}", organization=world["school"])

    # the session with its user, the rows (the scope's memberships: read by the first picker after the pairings were
    # added, a change to the set-up, and kept since); the volunteers' scope also reads the parties of the admin's
    # pairings and their subtrees (portal.permissions.admin_party_orgs)
    expected = {"pairings:pairing_picker": 2, "pairings:branch_picker": 2, "dashboards:volunteer_picker": 4}
    for size in (3, 30):
        add_pairings(size - (3 if size == 30 else 0))
        picked(client, "pairings:pairing_picker", "新村")  # the scope, read afresh
        for name, q in (("pairings:pairing_picker", "新村"), ("pairings:branch_picker", "新支部"),
                        ("dashboards:volunteer_picker", "李")):
            with django_assert_num_queries(expected[name]):
                results = picked(client, name, q)
            assert len(results) == min(size, 20)


def filter_form(client, **params):
    text = client.get(reverse("activities:list"), params).content.decode()
    return text[text.index('class="act-filter-form"'):text.index("</form>", text.index('class="act-filter-form"'))]


@pytest.mark.django_db
def test_activity_filter_renders_only_the_chosen_pairing_and_branch(client, world):
    client.force_login(world["users"]["admin"])
    for _ in range(5):
        pairing = f.PairingFactory(program=world["program"])
        f.PairingBranchFactory(pairing=pairing, branch=f.OrganizationFactory(kind=Organization.Kind.BRANCH))
    form = filter_form(client)
    assert "<option" not in form.split('act-field-pairing')[1].split('act-field-branch')[0]
    assert "龙石村" not in form and "第三党支部" not in form  # no list of names at all
    assert 'data-picker-url="/pairings/picker/"' in form

    # chosen: the id in the input, its label beside it; kept on a reload and beside another field's error
    for params in ({}, {"date_from": "2024-05-01", "date_to": "2024-04-01"}):
        form = filter_form(client, pairing=world["pairing"].pk, branch=world["branch"].pk, **params)
        assert re.search(rf'name="pairing"[^>]*value="{world["pairing"].pk}"', form)
        assert '>学校–龙石村</output>' in form and '>第三党支部</output>' in form
        assert ("errorlist" in form) == bool(params)


@pytest.mark.django_db
def test_activity_filter_without_script_refuses_a_pairing_outside_the_scope(client, world):
    client.force_login(world["users"]["secretary"])
    response = client.get(reverse("activities:list"), {"pairing": world["other_pairing"].pk})
    assert response.status_code == 200
    text = response.content.decode()
    form = text[text.index('class="act-filter-form"'):].split("</form>")[0]
    assert "errorlist" in form  # refused on the form, as a drop-down would refuse it
    assert "田心村" not in text
    assert response.context["filter"].form.errors["pairing"]


@pytest.mark.django_db
def test_side_and_organisation_pickers_answer_within_the_scope(client, world):
    users = world["users"]
    client.force_login(users["secretary"])
    assert [(r["label"], r["hint"]) for r in picked(client, "pairings:village_picker", "龙石")] == [("龙石村", "村")]
    assert labels(picked(client, "pairings:school_picker", "学")) == ["学校"]
    assert picked(client, "pairings:village_picker", "田心") == []  # the other program's village
    client.force_login(users["outsider"])
    assert labels(picked(client, "pairings:village_picker", "村")) == ["田心村"]
    # the people list's organisation picker: what the user sets up, and only for those who set up
    client.force_login(users["committee"])
    assert labels(picked(client, "setup:org_picker", "支部")) == ["第三党支部", "第四党支部"]
    assert picked(client, "setup:org_picker", "龙石") == []  # the village is not the committee's to set up
    client.force_login(users["secretary"])
    assert client.get(reverse("setup:org_picker"), {"q": "支部"}).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("url_name, params, chosen", [
    ("activities:need_list", {"pairing": "pairing"}, "学校–龙石村"),
    ("activities:meeting_list", {"pairing": "pairing"}, "学校–龙石村"),
    ("activities:action_item_list", {"pairing": "pairing", "show": "all"}, "学校–龙石村"),
    ("pairings:pairing_list", {"village": "village"}, "龙石村"),
    ("setup:person_list", {"organization": "branch"}, "第三党支部"),
    ("reports:report_list", {"pairing": "pairing"}, "学校–龙石村"),
])
def test_list_filters_render_a_picker_not_every_option(client, world, url_name, params, chosen):
    """Each list's pairing (village, organisation) filter renders only the chosen one, as a picker, and still
    refuses an id outside the scope without JavaScript."""
    client.force_login(world["users"]["admin"])
    for _ in range(3):
        f.PairingFactory(program=world["program"], supported=f.OrganizationFactory(
            kind=Organization.Kind.VILLAGE, name=f"远村{Organization.objects.count()}"))
    text = client.get(reverse(url_name)).content.decode()
    form = re.search(r'<form method="get".*?</form>', text, re.S).group(0)
    assert "data-picker-url" in form and "远村" not in form  # no option lists the other villages
    field = next(iter(params))
    given = {k: (world[v].pk if k == field else v) for k, v in params.items()}
    text = client.get(reverse(url_name), given).content.decode()
    assert f">{chosen}</output>" in text and "errorlist" not in text
    outside = f.OrganizationFactory(name="外村", kind=Organization.Kind.VILLAGE)
    foreign = f.PairingFactory(program=world["other_program"], supported=outside)
    response = client.get(reverse(url_name), {**given, field: foreign.pk if field == "pairing" else outside.pk})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
