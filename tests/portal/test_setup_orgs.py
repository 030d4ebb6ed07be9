"""The organisation set-up pages: a program admin and a school committee build their trees without /admin/."""

import pytest
from django.urls import reverse

from portal.models import Organization
from tests import factories as f

Kind = Organization.Kind


def login(client, user):
    client.force_login(user)
    return client


def test_admin_creates_a_root_kept_by_its_office_then_a_branch_below(client, world):
    login(client, world["users"]["admin"])
    response = client.post(reverse("setup:org_create"), {"name": "中山市实验中学", "kind": Kind.SCHOOL})
    school = Organization.objects.get(name="中山市实验中学")
    assert response.status_code == 302 and response["Location"] == reverse("setup:org_detail", args=[school.pk])
    assert school.parent is None and school.managed_by == world["office"]
    # ?parent= preselects the parent on the form
    page = client.get(reverse("setup:org_create") + f"?parent={school.pk}")
    assert page.context["form"]["parent"].value() == school.pk
    client.post(reverse("setup:org_create"), {"name": "实验中学第一党支部", "kind": Kind.BRANCH, "parent": school.pk})
    branch = Organization.objects.get(name="实验中学第一党支部")
    assert branch.parent == school and branch.managed_by is None
    # the audit trail names the admin
    assert school.history.first().history_user == world["users"]["admin"]
    tree = [(o.name, o.depth) for o in client.get(reverse("setup:org_list")).context["orgs"]]
    assert tree.index(("中山市实验中学", 0)) + 1 == tree.index(("实验中学第一党支部", 1))


def test_duplicate_name_in_the_same_parent_is_a_form_error(client, world):
    login(client, world["users"]["committee"])
    response = client.post(
        reverse("setup:org_create"), {"name": "第三党支部", "kind": Kind.BRANCH, "parent": world["school"].pk}
    )
    assert response.status_code == 200
    assert "学校 下已有名为 第三党支部 的单位" in response.content.decode()
    assert Organization.objects.filter(name="第三党支部").count() == 1


def test_committee_cannot_create_a_root_nor_use_another_schools_org(client, world):
    login(client, world["users"]["committee"])
    response = client.post(reverse("setup:org_create"), {"name": "野生学校", "kind": Kind.SCHOOL})
    assert response.status_code == 200 and not Organization.objects.filter(name="野生学校").exists()
    other_school = f.OrganizationFactory(name="别的学校", kind=Kind.SCHOOL)
    response = client.post(
        reverse("setup:org_create"), {"name": "偷偷建的支部", "kind": Kind.BRANCH, "parent": other_school.pk}
    )
    assert response.status_code == 200
    assert "请选择有效的选项" in response.content.decode()
    assert not Organization.objects.filter(name="偷偷建的支部").exists()
    other_branch = f.OrganizationFactory(name="别校支部", kind=Kind.BRANCH, parent=other_school)
    for name in ("setup:org_detail", "setup:org_update"):
        assert client.get(reverse(name, args=[other_branch.pk])).status_code == 404
    assert client.post(reverse("setup:org_active", args=[other_branch.pk])).status_code == 404
    other_branch.refresh_from_db()
    assert other_branch.is_active


def test_admin_cannot_post_a_foreign_parent(client, world):
    login(client, world["users"]["admin"])
    foreign = world["other_pairing"].supported  # a village of another program
    response = client.post(reverse("setup:org_create"), {"name": "某村民小组", "kind": Kind.OTHER, "parent": foreign.pk})
    assert response.status_code == 200 and not Organization.objects.filter(name="某村民小组").exists()
    assert client.get(reverse("setup:org_detail", args=[foreign.pk])).status_code == 404


def test_parent_cannot_be_a_descendant(client, world):
    login(client, world["users"]["committee"])
    school, branch = world["school"], world["branch"]
    response = client.post(reverse("setup:org_update", args=[school.pk]), {"name": "学校", "kind": Kind.SCHOOL, "parent": branch.pk})
    assert response.status_code == 200
    school.refresh_from_db()
    assert school.parent is None


def test_update_and_deactivate_keep_records(client, world):
    login(client, world["users"]["committee"])
    branch = world["branch"]
    response = client.post(
        reverse("setup:org_update", args=[branch.pk]),
        {"name": "第三党支部（教工）", "kind": Kind.BRANCH, "parent": world["school"].pk, "contact_phone": "13800138000"},
    )
    assert response.status_code == 302
    branch.refresh_from_db()
    assert branch.name == "第三党支部（教工）" and branch.contact_phone == "13800138000"
    client.post(reverse("setup:org_active", args=[branch.pk]))
    branch.refresh_from_db()
    assert not branch.is_active and branch.memberships.count() == 1
    page = client.get(reverse("setup:org_list")).content.decode()
    assert "已停用" in page
    client.post(reverse("setup:org_active", args=[branch.pk]), {"active": "1"})
    branch.refresh_from_db()
    assert branch.is_active


def test_nobody_deactivates_the_organisation_of_their_own_role(client, world):
    login(client, world["users"]["committee"])
    client.post(reverse("setup:org_active", args=[world["school"].pk]))
    world["school"].refresh_from_db()
    assert world["school"].is_active


def test_tree_is_indented_filtered_and_scoped(client, world):
    login(client, world["users"]["committee"])
    page = client.get(reverse("setup:org_list"))
    orgs = page.context["orgs"]
    assert [(o.name, o.depth) for o in orgs] == [("学校", 0), ("第三党支部", 1), ("第四党支部", 1)]
    assert "龙石村" not in page.content.decode()
    found = client.get(reverse("setup:org_list"), {"q": "第四"}).context["orgs"]
    assert [o.name for o in found] == ["第四党支部"]
    assert [o.name for o in client.get(reverse("setup:org_list"), {"kind": "school"}).context["orgs"]] == ["学校"]


def _grow(world, n):
    for i in range(n):
        school = f.OrganizationFactory(name=f"结对学校{i}", kind=Kind.SCHOOL, managed_by=world["office"])
        branch = f.OrganizationFactory(name=f"结对学校{i}支部", kind=Kind.BRANCH, parent=school)
        f.MembershipFactory(organization=branch, role="secretary")


@pytest.mark.parametrize("rows", [2, 12])
def test_tree_query_count_does_not_grow(client, world, django_assert_num_queries, rows):
    _grow(world, rows)
    login(client, world["users"]["admin"])
    client.get(reverse("home"))  # warm the session
    # session with user and unread count (one query; the scope is kept since the first page), the tree's order, its
    # page's rows, their people counts
    with django_assert_num_queries(8):
        response = client.get(reverse("setup:org_list"))
    assert len(response.context["orgs"]) >= 2 * rows


def test_adding_under_a_school_offers_a_party_branch_first(client, world):
    client.force_login(world["users"]["admin"])
    page = client.get(reverse("setup:org_create") + f"?parent={world['school'].pk}")
    assert page.context["form"].initial == {"parent": world["school"].pk, "kind": Organization.Kind.BRANCH}


def test_a_province_sized_tree_comes_in_pages_that_say_where_they_start(client, world):
    """A province office manages thousands of organisations: the tree comes 100 rows a page, in tree order across
    the pages, and a page that starts below a school names the school."""
    big = f.OrganizationFactory(name="甲大学", kind=Kind.SCHOOL, managed_by=world["office"])
    for i in range(150):
        f.OrganizationFactory(name=f"甲大学第{i:03d}党支部", kind=Kind.BRANCH, parent=big)
    login(client, world["users"]["admin"])
    client.get(reverse("home"))  # warm the session
    first = client.get(reverse("setup:org_list"))
    total = first.context["paginator"].count
    assert len(first.context["orgs"]) == 100 and total > 150
    assert f"共 {first.context['paginator'].num_pages} 页" in first.content.decode()
    second = client.get(reverse("setup:org_list"), {"page": 2})
    pages = [first.context["orgs"], second.context["orgs"]]
    pages += [client.get(reverse("setup:org_list"), {"page": n}).context["orgs"] for n in range(3, first.context["paginator"].num_pages + 1)]
    every = [o for page in pages for o in page]
    assert len(every) == total == len({o.pk for o in every})  # each organisation once, on one page or another
    at = [o.name for o in every].index("甲大学")
    assert [o.name for o in every[at:at + 151]] == ["甲大学"] + [f"甲大学第{i:03d}党支部" for i in range(150)]  # in tree order
    # a page that starts among 甲大学's branches says where it is
    starts = [page[0] for page in pages[1:] if page[0].name.startswith("甲大学第")]
    assert starts and all(o.depth == 1 and o.path == ["甲大学"] for o in starts)
    assert all(page[0].path == [] for page in pages if page[0].depth == 0)
    assert "甲大学" in client.get(reverse("setup:org_list"), {"page": pages.index(next(p for p in pages[1:] if p[0] in starts)) + 1}).content.decode()
    assert client.get(reverse("setup:org_list"), {"page": "x"}).context["orgs"][0].pk == every[0].pk  # a bad page is page 1
