"""Reads of the set-up pages: the organisation tree and the people list, each in a fixed number of queries."""

from django.core.paginator import Paginator
from django.db.models import Count, Prefetch

from portal.db import ids_in_q
from portal.models import Membership, Organization, User
from portal.permissions import manageable_org_ids


TREE_PAGE_ROWS = 100


def organization_tree(user, queryset, page=None, *, per_page=TREE_PAGE_ROWS):
    """One page of the organisations of `queryset` (already limited to what the user manages) in tree order.

    Each has `depth` (0 for one whose parent is not shown), `people` (how many hold a role there) and, for the
    page's first row when it sits below others, `path` (the names above it, so a page that starts mid-branch
    still says where it is). A province office manages thousands: the order is worked out from three columns of
    every row, then only the page's rows are read whole. Three queries, whatever the size.
    """
    rows = list(queryset.order_by("name").values_list("pk", "parent_id", "name"))
    shown = {pk for pk, _, _ in rows}
    parent_of = {pk: parent for pk, parent, _ in rows}
    name_of = {pk: name for pk, _, name in rows}
    children = {}
    for pk, parent, _ in rows:
        children.setdefault(parent if parent in shown else None, []).append(pk)
    ordered, stack = [], [(pk, 0) for pk in reversed(children.get(None, []))]
    while stack:
        pk, depth = stack.pop()
        ordered.append((pk, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(pk, [])))

    paginator = Paginator(ordered, per_page)
    page_obj = paginator.get_page(page)
    depth_of = dict(page_obj.object_list)
    by_pk = Organization.objects.select_related("parent").in_bulk(list(depth_of))
    counts = dict(
        Membership.objects.filter(organization__in=list(depth_of))
        .values_list("organization")
        .annotate(n=Count("user", distinct=True))
        .values_list("organization", "n")
    ) if depth_of else {}
    orgs = []
    for pk, depth in page_obj.object_list:
        org = by_pk[pk]
        org.depth, org.people, org.path = depth, counts.get(pk, 0), []
        orgs.append(org)
    if orgs and orgs[0].depth:
        above = parent_of.get(orgs[0].pk)
        while above in shown:
            orgs[0].path.insert(0, name_of[above])
            above = parent_of.get(above)
    page_obj.object_list = orgs
    return page_obj


def people(user):
    """The users holding a role in an organisation the user manages (every user for a superuser), each with
    the memberships of them the user can see prefetched (one query for the page, one for their memberships)."""
    ids = manageable_org_ids(user)
    memberships = Membership.objects.select_related("organization").order_by("organization__name", "role")
    if ids is None:
        users = User.objects.all()
    else:
        # a province office's thousands of ids as one array (ids_in_q), not a placeholder each
        users = User.objects.filter(ids_in_q("memberships__organization_id", ids)).distinct()
        memberships = memberships.filter(ids_in_q("organization_id", ids))
    return users.order_by("full_name", "username").prefetch_related(
        Prefetch("memberships", queryset=memberships, to_attr="shown_memberships")
    )


def person_visible(user, person_id):
    """The person if they hold a role in an organisation the user manages (any user for a superuser), else None."""
    ids = manageable_org_ids(user)
    users = User.objects.all() if ids is None else User.objects.filter(ids_in_q("memberships__organization_id", ids))
    return users.filter(pk=person_id).first()
