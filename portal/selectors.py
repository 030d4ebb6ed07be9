"""Reads of the set-up pages: the organisation tree and the people list, each in a fixed number of queries."""

from django.db.models import Count, Prefetch

from portal.models import Membership, Organization, User
from portal.permissions import manageable_org_ids


def organization_tree(user, queryset):
    """The organisations of `queryset` (already limited to what the user manages) in tree order, each with
    `depth` (0 for one whose parent is not shown) and `people` (how many hold a role there): two queries."""
    orgs = list(queryset.select_related("parent").order_by("name"))
    counts = dict(
        Membership.objects.filter(organization__in=[o.pk for o in orgs])
        .values_list("organization")
        .annotate(n=Count("user", distinct=True))
        .values_list("organization", "n")
    ) if orgs else {}
    shown = {o.pk for o in orgs}
    children = {}
    for org in orgs:
        org.people = counts.get(org.pk, 0)
        children.setdefault(org.parent_id if org.parent_id in shown else None, []).append(org)
    ordered, stack = [], [(org, 0) for org in reversed(children.get(None, []))]
    while stack:
        org, depth = stack.pop()
        org.depth = depth
        ordered.append(org)
        stack.extend((child, depth + 1) for child in reversed(children.get(org.pk, [])))
    return ordered


def people(user):
    """The users holding a role in an organisation the user manages (every user for a superuser), each with
    the memberships of them the user can see prefetched (one query for the page, one for their memberships)."""
    ids = manageable_org_ids(user)
    memberships = Membership.objects.select_related("organization").order_by("organization__name", "role")
    if ids is None:
        users = User.objects.all()
    else:
        users = User.objects.filter(memberships__organization_id__in=ids).distinct()
        memberships = memberships.filter(organization_id__in=ids)
    return users.order_by("full_name", "username").prefetch_related(
        Prefetch("memberships", queryset=memberships, to_attr="shown_memberships")
    )


def person_visible(user, person_id):
    """The person if they hold a role in an organisation the user manages (any user for a superuser), else None."""
    ids = manageable_org_ids(user)
    users = User.objects.all() if ids is None else User.objects.filter(memberships__organization_id__in=ids)
    return users.filter(pk=person_id).first()
