"""Issue 16, co-hosts and activities without a village: co-hosting branches in the form, program-wide activities
(no pairing) and who sees and counts them, and deleting a draft (soft) and restoring it."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from activities import selectors, services
from activities.models import Activity
from dashboards.board import board_cells
from figures.models import PairingMonth, ProgramMonth
from figures.rollups import rollups_rebuild
from tests import factories as f
from tests.activities.test_views import form_data

pytestmark = pytest.mark.django_db
S = Activity.Status
YESTERDAY = lambda: timezone.localdate() - datetime.timedelta(days=1)  # noqa: E731


def fields(kit, **overrides):
    values = {"pairing": kit["pairing"], "activity_type": kit["type"], "title": "清洁家园", "date": YESTERDAY(),
              "residents_served": 30}
    values.update(overrides)
    return services.ActivityFields(**values)


@pytest.fixture
def submit(django_capture_on_commit_callbacks, kit):
    """Record (`make`) and submit as the secretary, the transactions committing (the rollup is refreshed on commit)."""

    def run(make):
        with django_capture_on_commit_callbacks(execute=True):
            activity = make()
            services.activity_submit(activity=activity, actor=kit["users"]["secretary"])
        return activity

    return run


def create(kit, actor="secretary", **overrides):
    return services.activity_create(actor=kit["users"][actor], fields=fields(kit, **overrides)).activity


def program_wide(kit, **overrides):
    return create(kit, pairing=None, program=kit["program"], title="小电匠进镇街服务日", **overrides)


# --- co-hosting branches ------------------------------------------------------------------------------------------


def test_the_form_offers_the_other_branches_of_the_side_and_saves_them(client, kit):
    client.force_login(kit["users"]["secretary"])
    page = client.get(reverse("activities:create"))
    offered = list(page.context["form"].fields["co_branches"].queryset)
    assert offered == [kit["other_branch"]]  # never the host branch itself
    assert "双联双助 · 不针对结对村" in page.content.decode()
    response = client.post(reverse("activities:create"), form_data(kit, co_branches=[kit["other_branch"].pk]))
    assert response.status_code == 302
    activity = Activity.objects.get()
    assert list(activity.co_branches.all()) == [kit["other_branch"]]
    detail = client.get(reverse("activities:detail", args=[activity.pk])).content.decode()
    assert "第三党支部、第四党支部" in detail


def test_a_foreign_co_host_is_refused_and_nothing_is_saved(client, kit):
    stranger = f.OrganizationFactory(name="外校支部", kind="branch")
    client.force_login(kit["users"]["secretary"])
    response = client.post(reverse("activities:create"), form_data(kit, co_branches=[stranger.pk]))
    assert response.status_code == 200
    assert "请选择有效的选项" in str(response.context["form"].errors["co_branches"])
    assert not Activity.objects.exists()


def test_the_service_refuses_a_co_host_outside_the_pairing(kit):
    stranger = f.OrganizationFactory(name="外校支部", kind="branch")
    with pytest.raises(ValidationError) as caught:
        create(kit, co_branches=[stranger])
    assert "co_branches" in caught.value.message_dict
    with pytest.raises(ValidationError):
        create(kit, co_branches=[kit["branch"]])  # the host is not its own co-host
    assert not Activity.objects.exists()


def test_a_co_hosted_activity_counts_once_for_the_pairing_and_credits_both_branches(kit, submit):
    activity = submit(lambda: create(kit, co_branches=[kit["other_branch"]]))
    month = PairingMonth.objects.get()
    assert (month.pairing, month.activities, month.residents_served) == (kit["pairing"], 1, 30)
    program_month = ProgramMonth.objects.get()
    assert (program_month.pairings, program_month.activities) == (1, 1)
    branches, state = board_cells(kit["users"]["admin"], kit["program"], activity.date.year)
    credited = {branch for branch, _month in state}
    assert credited == {kit["branch"].pk, kit["other_branch"].pk}


def test_changing_the_co_hosts_of_a_confirmed_activity_is_a_correction(kit):
    activity = create(kit)
    services.activity_submit(activity=activity, actor=kit["users"]["secretary"])
    services.activity_confirm(activity=activity, actor=kit["users"]["village"])
    admin = kit["users"]["admin"]
    with pytest.raises(ValidationError) as caught:
        services.activity_update(activity=activity, actor=admin, fields=fields(kit, co_branches=[kit["other_branch"]]))
    assert "correction_reason" in caught.value.message_dict
    activity.refresh_from_db()
    assert activity.status == S.CONFIRMED and not activity.co_branches.exists()
    services.activity_update(
        activity=activity, actor=admin, fields=fields(kit, co_branches=[kit["other_branch"]]), correction_reason="漏填共建支部",
    )
    activity.refresh_from_db()
    assert activity.status == S.SUBMITTED and activity.correction_pending
    assert "第四党支部" in activity.correction_summary


# --- activities without a village ---------------------------------------------------------------------------------


def test_the_form_records_an_activity_of_the_program_without_a_pairing(client, kit):
    client.force_login(kit["users"]["secretary"])
    data = form_data(kit, pairing=f"program-{kit['program'].pk}", plan_item="", need="")
    response = client.post(reverse("activities:create"), data)
    assert response.status_code == 302, response.context["form"].errors
    activity = Activity.objects.get()
    assert activity.pairing is None and activity.program == kit["program"] and activity.branch == kit["branch"]
    edit = client.get(reverse("activities:update", args=[activity.pk]))
    assert edit.context["form"]["pairing"].value() == f"program-{kit['program'].pk}"


def test_a_program_the_branch_is_not_in_is_refused(client, kit):
    client.force_login(kit["users"]["secretary"])
    response = client.post(reverse("activities:create"), form_data(kit, pairing=f"program-{kit['other_program'].pk}"))
    assert response.status_code == 200 and "pairing" in response.context["form"].errors
    with pytest.raises(PermissionDenied):
        create(kit, pairing=None, program=kit["other_program"])
    assert not Activity.objects.exists()


def test_a_plan_item_of_a_pairing_is_refused_for_a_program_wide_activity(kit):
    with pytest.raises(ValidationError) as caught:
        program_wide(kit, plan_item=kit["plan_item"])
    assert "plan_item" in caught.value.message_dict


@pytest.mark.parametrize("role, sees", [
    ("secretary", True), ("other_secretary", False), ("committee", True), ("admin", True), ("superuser", True),
    ("village", False), ("outsider", False),
])
def test_who_reads_a_program_wide_draft(client, kit, role, sees):
    """A program-wide draft: its branch's side and the program's admin read it, no one else (visible_to builds the
    program term only for those who administer a program)."""
    activity = program_wide(kit)
    assert activity.status == "draft"
    client.force_login(kit["users"][role])
    assert client.get(reverse("activities:detail", args=[activity.pk])).status_code == (200 if sees else 404)
    assert ("小电匠进镇街服务日" in client.get(reverse("activities:list")).content.decode()) == sees


@pytest.mark.parametrize("role, sees", [
    ("secretary", True), ("other_secretary", False), ("committee", True), ("admin", True), ("superuser", True),
    ("village", False), ("outsider", False),
])
def test_who_reads_a_program_wide_activity(client, kit, role, sees):
    activity = program_wide(kit)
    services.activity_submit(activity=activity, actor=kit["users"]["secretary"])
    client.force_login(kit["users"][role])
    assert client.get(reverse("activities:detail", args=[activity.pk])).status_code == (200 if sees else 404)
    listed = client.get(reverse("activities:list")).content.decode()
    assert ("小电匠进镇街服务日" in listed) == sees
    exported = b"".join(client.get(reverse("activities:export")).streaming_content).decode("utf-8-sig")
    assert ("不针对结对村" in exported) == sees


@pytest.mark.parametrize("role", ["secretary", "other_secretary", "committee", "admin", "superuser", "village", "outsider"])
def test_the_unfiltered_list_counts_its_two_parts_as_the_whole(client, kit, role):
    """The unfiltered list counts the scope as two parts (selectors.activity_list_parts: the pairings' activities,
    the program-wide ones), each row in exactly one of them and together every row the user reads."""
    for actor in ("secretary", "other_secretary"):
        create(kit, actor=actor, title="入户走访")  # drafts, each seen by its own branch's side
        program_wide(kit, actor=actor)
        services.activity_submit(activity=create(kit, actor=actor), actor=kit["users"][actor])
        services.activity_submit(activity=program_wide(kit, actor=actor), actor=kit["users"][actor])
    f.ActivityFactory(pairing=kit["other_pairing"], status=S.SUBMITTED, submitted_at=timezone.now())  # another program's
    user = kit["users"][role]
    choices = selectors.list_choices(user)
    whole = set(selectors.activity_list(user, choices).values_list("id", flat=True))
    assert whole == set(Activity.objects.visible_to(user).values_list("id", flat=True))  # the subquery rule agrees
    parts = selectors.activity_list_parts(user, choices)
    if role == "superuser":
        assert parts is None and len(whole) == 9
    else:
        of_pairings, wide = (set(part.values_list("id", flat=True)) for part in parts)
        assert not of_pairings & wide
        assert of_pairings | wide == whole
        if role in ("secretary", "committee", "admin"):  # both parts hold rows: the test tells them apart
            assert of_pairings and wide
    client.force_login(user)
    assert client.get(reverse("activities:list")).context["total"].value == len(whole)


def test_a_part_of_the_rule_is_for_literal_pairing_ids_only(kit):
    with pytest.raises(ValueError):
        Activity.objects.visible_to(kit["users"]["secretary"], part="pairings")
    with pytest.raises(ValueError):
        Activity.objects.visible_to(kit["users"]["secretary"], pairing_ids=[kit["pairing"].pk], part="villages")


def test_a_program_wide_activity_counts_for_the_program_and_the_branch_and_no_pairing(
    kit, submit, django_capture_on_commit_callbacks,
):
    activity = submit(lambda: program_wide(kit))
    assert not PairingMonth.objects.exists()
    month = ProgramMonth.objects.get()
    assert (month.program, month.pairings, month.activities, month.residents_served) == (kit["program"], 0, 1, 30)
    _branches, state = board_cells(kit["users"]["admin"], kit["program"], activity.date.year)
    assert {branch for branch, _month in state} == {kit["branch"].pk}
    # the rebuild agrees with the refresh; the program admin confirms (no village is served)
    ProgramMonth.objects.all().delete()
    rollups_rebuild()
    assert ProgramMonth.objects.get().activities == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.activity_confirm(activity=activity, actor=kit["users"]["admin"])
    assert ProgramMonth.objects.get().confirmed == 1
    with pytest.raises(Activity.DoesNotExist):
        services.activity_return(activity=activity, actor=kit["users"]["village"], comment="不是本村的")


def test_a_program_wide_activity_beside_a_pairings_adds_up(kit, submit):
    submit(lambda: create(kit))
    submit(lambda: program_wide(kit, residents_served=5))
    month = ProgramMonth.objects.get()
    assert (month.pairings, month.activities, month.residents_served) == (1, 2, 35)
    assert PairingMonth.objects.get().activities == 1


def test_the_program_dashboard_and_home_pages_show_a_program_wide_activity(client, kit, submit):
    submit(lambda: program_wide(kit))
    client.force_login(kit["users"]["admin"])
    page = client.get(reverse("dashboards:program_dashboard", args=[kit["program"].pk]))
    assert page.status_code == 200
    assert "小电匠进镇街服务日" not in page.content.decode()  # figures only, no rows
    assert page.context["totals"]["activities"].value == 1
    assert client.get(reverse("home")).status_code == 200
    client.force_login(kit["users"]["secretary"])
    assert client.get(reverse("home")).status_code == 200


# --- deleting a draft, restoring it -----------------------------------------------------------------------------


def test_a_secretary_deletes_their_draft_and_the_program_admin_restores_it(client, kit, django_assert_max_num_queries):
    activity = create(kit)
    client.force_login(kit["users"]["secretary"])
    assert client.get(reverse("activities:delete", args=[activity.pk])).status_code == 200
    assert client.post(reverse("activities:delete", args=[activity.pk])).status_code == 302
    assert Activity.objects.count() == 0 and Activity.all_objects.get().deleted_at is not None
    assert client.get(reverse("activities:detail", args=[activity.pk])).status_code == 404
    assert client.post(reverse("activities:restore", args=[activity.pk])).status_code == 403  # read, not theirs to restore

    client.force_login(kit["users"]["admin"])
    page = client.get(reverse("activities:deleted_list"))
    assert activity.title in page.content.decode()
    assert client.post(reverse("activities:restore", args=[activity.pk])).status_code == 302
    assert Activity.objects.get().deleted_at is None
    reasons = list(Activity.history.filter(id=activity.pk).values_list("history_change_reason", flat=True))
    assert "deleted" in reasons and "restored" in reasons


def test_only_a_draft_or_a_returned_activity_of_ones_branch_is_deleted(client, kit):
    activity = create(kit)
    with pytest.raises(Activity.DoesNotExist):  # another branch's draft is not even read
        services.activity_delete(activity=activity, actor=kit["users"]["other_secretary"])
    with pytest.raises(PermissionDenied):
        services.activity_delete(activity=activity, actor=kit["users"]["admin"])
    services.activity_submit(activity=activity, actor=kit["users"]["secretary"])
    with pytest.raises(ValidationError):
        services.activity_delete(activity=activity, actor=kit["users"]["secretary"])
    client.force_login(kit["users"]["secretary"])
    assert client.get(reverse("activities:delete", args=[activity.pk])).status_code == 302  # back to its page
    services.activity_return(activity=activity, actor=kit["users"]["village"], comment="请补充照片")
    services.activity_delete(activity=activity, actor=kit["users"]["secretary"])
    assert not Activity.objects.exists()
    with pytest.raises(ValidationError):
        services.activity_restore(activity=create(kit), actor=kit["users"]["admin"])


@pytest.mark.parametrize("n", [1, 20])
def test_the_delete_page_and_the_deleted_list_have_fixed_query_counts(client, kit, n, django_assert_num_queries):
    activities = [create(kit) for _ in range(n)]
    program_wide(kit)
    client.force_login(kit["users"]["secretary"])
    # the session with its user and the header's unread count (one query), scope, the activity (with what the page
    # shows) and the nav's reads
    with django_assert_num_queries(5):
        assert client.get(reverse("activities:delete", args=[activities[0].pk])).status_code == 200
    for activity in activities:
        services.activity_delete(activity=activity, actor=kit["users"]["secretary"])
    client.force_login(kit["users"]["admin"])
    # the session with its user and the unread count, scope, whether the user administers a program, the count and the
    # page's rows
    with django_assert_num_queries(5):
        assert client.get(reverse("activities:deleted_list")).status_code == 200
