"""Who sees what, decided in one place.

A user's reach is read from their memberships (kept in the process under the set-up's token, which every change
to organisations and memberships replaces, so a revoked membership takes effect on the next request) and kept on
the request's user object. Each model's QuerySet turns it into `visible_to(user)`
and `editable_by(user)`; views apply those through `ScopedObjectMixin`, so someone outside an object's
scope gets 404 and someone who may see but not change it gets 403.

The two axes of DESIGN.md:
- the organisation tree: a role on an organisation reaches its whole subtree (a school committee sees
  every branch of the school; a sub-district committee sees its villages);
- the pairing: a branch reads the pairings it takes part in, a village those it is the supported side of,
  a program admin every pairing of the programs whose office they administer.

This module knows organisations and memberships only. The predicate of each action on a model (confirm,
claim, agree to a plan …) lives in the app that owns the model, built on the Scope: `pairings.permissions`,
`activities.permissions`.
"""

import functools
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import connections, router
from django.db.models import Q
from django.http import Http404

from portal import versioned
from portal.db import ids_in_q
from portal.models import Membership, Organization

Role = Membership.Role
SUPPORTER_READ_ROLES = (Role.SECRETARY, Role.MEMBER)
VILLAGE_ROLES = (Role.VILLAGE_COMMITTEE, Role.LIAISON)


def _rows(sql, params):
    connection = connections[router.db_for_read(Organization)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _descendants_sql(start_sql):
    """A recursive CTE (SQLite and PostgreSQL) walking down the tree from the (role, id) rows of `start_sql`;
    UNION, not UNION ALL, so a node reached twice is kept once (and a cycle, were there one, ends)."""
    org = connections[router.db_for_read(Organization)].ops.quote_name(Organization._meta.db_table)
    return f"""
        WITH RECURSIVE reach(role, id) AS (
            {start_sql}
            UNION
            SELECT reach.role, child.id FROM {org} child INNER JOIN reach ON child.parent_id = reach.id
        )
        SELECT role, id FROM reach"""


def subtree_ids(root_ids):
    """The ids of the given organisations and all their descendants (one query, whatever the depth)."""
    roots = sorted(set(root_ids))
    if not roots:
        return frozenset()
    org = connections[router.db_for_read(Organization)].ops.quote_name(Organization._meta.db_table)
    start = f"SELECT '', id FROM {org} WHERE parent_id IN ({', '.join(['%s'] * len(roots))})"
    return frozenset(roots) | frozenset(org_id for _, org_id in _rows(_descendants_sql(start), roots))


def _reach_by_role(user_id):
    """{role: the organisations of the user's active memberships in that role, with their subtrees}, read in
    one query (a recursive CTE), whatever the roles and the depth of the tree."""
    quote = connections[router.db_for_read(Organization)].ops.quote_name
    membership, org = quote(Membership._meta.db_table), quote(Organization._meta.db_table)
    start = (
        f"SELECT m.role, m.organization_id FROM {membership} m INNER JOIN {org} o ON o.id = m.organization_id"
        " WHERE m.user_id = %s AND o.is_active = %s"
    )
    by_role = {}
    for role, org_id in _rows(_descendants_sql(start), [user_id, True]):
        by_role.setdefault(role, set()).add(org_id)
    return {role: frozenset(ids) for role, ids in by_role.items()}  # kept and shared by requests: not to be changed


def _cached_reach_by_role(user):
    """`_reach_by_role`, kept in this process under the set-up's token read with the session (portal/sessions.py).

    The token is in the database and is replaced in the transaction of every change to organisations and
    memberships (`versioned.setup_changed`): the first request to read a change reads a new token, under which
    nothing is kept yet, and a change rolled back takes its token back with it. Nothing depends on Redis, so Redis
    hung or stopped can neither lose a change nor slow a page. Kept in the process, not in Redis: a read of Redis
    costs more Python than the query it saves (223 calls against 149), a dict lookup almost nothing. Without a
    token (a user not read with a session, a database without the token's row), or once the request changed the
    set-up itself, the reach is read from the database."""
    token = getattr(user, versioned.SETUP_TOKEN_WITH_SESSION, None)
    if token is None or versioned.setup_written_in_request():  # a change of its own: perhaps not committed
        return _reach_by_role(user.pk)
    return _kept_reach_by_role(user.pk, token)


@functools.lru_cache(maxsize=4096)  # the users active in a few hours; a few kilobytes each at most
def _kept_reach_by_role(user_id, token):
    return _reach_by_role(user_id)


@dataclass(frozen=True)
class Scope:
    """The organisations a user reaches, per kind of role; each set already includes the subtrees."""

    user_id: int | None
    is_superuser: bool = False
    admin_orgs: frozenset = field(default_factory=frozenset)  # program offices administered
    committee_orgs: frozenset = field(default_factory=frozenset)  # schools/colleges/organs and below
    branch_orgs: frozenset = field(default_factory=frozenset)  # branches whose secretary/member the user is
    secretary_orgs: frozenset = field(default_factory=frozenset)  # the subset where the user is secretary
    village_orgs: frozenset = field(default_factory=frozenset)  # villages, communities, sub-districts

    @property
    def is_anonymous(self):
        return self.user_id is None

    @property
    def supporter_orgs(self):
        """Everything the user reaches on the supporting side (for volunteers, teams, branch pickers)."""
        return self.committee_orgs | self.branch_orgs

    @property
    def own_orgs(self):
        return self.admin_orgs | self.committee_orgs | self.branch_orgs | self.village_orgs


ANONYMOUS = Scope(user_id=None)


def scope_for(user):
    """The user's Scope, computed once per request from the user's reach: one query, or none when this process
    has kept it under the set-up's current token (`_cached_reach_by_role`)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    cached = getattr(user, "_portal_scope", None)
    if cached is not None:
        return cached
    by_role = _cached_reach_by_role(user)

    def reach(*roles):  # a subtree of a union of roots is the union of their subtrees
        return frozenset().union(*(by_role.get(role, ()) for role in roles))

    scope = Scope(
        user_id=user.pk,
        is_superuser=user.is_superuser,
        admin_orgs=reach(Role.ADMIN),
        committee_orgs=reach(Role.COMMITTEE),
        branch_orgs=reach(*SUPPORTER_READ_ROLES),
        secretary_orgs=reach(Role.SECRETARY),
        village_orgs=reach(*VILLAGE_ROLES),
    )
    user._portal_scope = scope
    return scope


def admin_party_orgs(user):
    """Every organisation (with its subtree) on either side of a pairing of the programs the user
    administers. Read through reverse lookups, so the base app need not import the pairings app."""
    cached = getattr(user, "_portal_admin_party_orgs", None)
    if cached is None:
        scope = scope_for(user)

        def build():
            roots = set(
                Organization.objects.filter(
                    Q(pairings_supporting__program__office_id__in=scope.admin_orgs)
                    | Q(pairings_supported__program__office_id__in=scope.admin_orgs)
                ).values_list("id", flat=True)
            )
            return subtree_ids(roots) if roots else frozenset()

        # thousands of ids for a province's admin, two queries: kept until the set-up changes (portal/versioned.py)
        cached = versioned.cached("admin_party_orgs", build, sorted(scope.admin_orgs)) if scope.admin_orgs else frozenset()
        if user.is_authenticated:
            user._portal_admin_party_orgs = cached
    return cached


def manageable_org_ids(user):
    """The organisations whose record, people and memberships this user may set up (the set-up pages and the
    ledger import use this one answer), each with its subtree; None means every organisation (superuser).

    - a program admin: the office itself, every organisation the office keeps (`managed_by`), and every
      organisation on either side of a pairing of the office's programs;
    - a party committee (school, college, organ): its own subtree, i.e. its branches and their secretaries.
    Village committees, secretaries and members set up nothing."""
    scope = scope_for(user)
    if scope.is_superuser:
        return None
    cached = getattr(user, "_portal_manageable_orgs", None)
    if cached is None:
        cached = scope.committee_orgs | admin_manageable_org_ids(user)
        if user.is_authenticated:
            user._portal_manageable_orgs = cached
    return cached


def admin_manageable_org_ids(user):
    """The part of `manageable_org_ids` a user reaches as a program admin (not as a party committee): the
    offices, the roots they keep with their subtrees, and both sides of their programs' pairings."""
    scope = scope_for(user)
    cached = getattr(user, "_portal_admin_manageable_orgs", None)
    if cached is None:
        roots = set()
        if scope.admin_orgs:
            roots = set(Organization.objects.filter(managed_by_id__in=scope.admin_orgs).values_list("id", flat=True))
        cached = scope.admin_orgs | admin_party_orgs(user) | subtree_ids(roots)
        if user.is_authenticated:
            user._portal_admin_manageable_orgs = cached
    return cached


def forget_manageable_orgs(user):
    """Drop the answers `manageable_org_ids` keeps on the user for a request: after the actor created an
    organisation (a root's subtree becomes theirs to manage), e.g. between the rows of an organisations ledger."""
    for name in ("_portal_manageable_orgs", "_portal_admin_manageable_orgs"):
        try:
            delattr(user, name)  # request.user is a lazy proxy: delattr reaches the user behind it
        except AttributeError:
            pass


def admin_offices(user):
    """The program offices this user holds the admin role on (directly, active ones): where an admin may
    grant the admin role and which office keeps a root the admin creates."""
    if not user.is_authenticated or not user.is_active:
        return Organization.objects.none()
    return Organization.objects.filter(
        memberships__user=user, memberships__role=Role.ADMIN, is_active=True
    ).distinct().order_by("name")


BRANCH_ROLES = (Role.SECRETARY, Role.MEMBER)
COMMITTEE_KINDS = (
    Organization.Kind.SCHOOL, Organization.Kind.COLLEGE, Organization.Kind.GOVERNMENT, Organization.Kind.PARTY_COMMITTEE,
)


def grantable_roles(user, organization, *, office_ids=None):
    """The membership roles this user may grant (or take away) on this organisation, in Role order; empty
    outside the user's set-up scope. The one rule used by the set-up forms and services:

    - admin: only on the user's own office(s) (a superuser: anywhere);
    - village committee and liaison: on the supported side's kinds only (village, community, town, sub-district);
    - secretary and member: on party branches only;
    - committee: on a school, college, government organ or party committee;
    - a user who reaches the organisation as a party committee only (not as its program admin) grants secretary
      and member on the branches of its subtree, nothing else.
    Pass `office_ids` (the ids of `admin_offices(user)`) to save its query when asking about many organisations."""
    if organization is None or not can_manage_org(user, organization):
        return []
    superuser = scope_for(user).is_superuser
    as_admin = superuser or organization.pk in admin_manageable_org_ids(user)
    kind = organization.kind
    allowed = set()
    if kind == Organization.Kind.BRANCH:
        allowed.update(BRANCH_ROLES)
    if as_admin:
        if kind in Organization.SUPPORTED_KINDS:
            allowed.update(VILLAGE_ROLES)
        if kind in COMMITTEE_KINDS:
            allowed.add(Role.COMMITTEE)
        if office_ids is None:
            office_ids = set(admin_offices(user).values_list("id", flat=True))
        if superuser or organization.pk in office_ids:
            allowed.add(Role.ADMIN)
    return [role for role in Role if role in allowed]


def can_create_root(user):
    """A superuser or a program admin may add a top-level organisation; a party committee adds below its own."""
    scope = scope_for(user)
    return scope.is_superuser or bool(scope.admin_orgs)


def manageable_orgs(user):
    """`manageable_org_ids` as a queryset of organisations."""
    ids = manageable_org_ids(user)
    # a province office's thousands of ids as one array (ids_in_q), not a placeholder each: 8.8 ms of planning alone
    return Organization.objects.all() if ids is None else Organization.objects.filter(ids_in_q("id", ids))


def can_manage_org(user, organization):
    """May this user change this organisation's record, its children, people and memberships?"""
    ids = manageable_org_ids(user)
    return organization is not None and (ids is None or organization.pk in ids)


def can_set_up(user):
    """Does the set-up menu show at all (a program admin, a party committee or a superuser)?"""
    scope = scope_for(user)
    return scope.is_superuser or bool(scope.admin_orgs or scope.committee_orgs)


def is_program_admin(user):
    scope = scope_for(user)
    return scope.is_superuser or bool(scope.admin_orgs)


def mask_phone(phone):
    """138****1234: enough to recognise a number, not enough to call it."""
    digits = (phone or "").strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def shown_phone(user, phone, organization_id):
    """A person's phone as this viewer may see it: in full to those who manage the person's own
    organisation (its committee or branch secretary), masked to everyone else."""
    scope = scope_for(user)
    if scope.is_superuser or organization_id in (scope.committee_orgs | scope.secretary_orgs):
        return phone
    return mask_phone(phone)


class ScopedObjectMixin:
    """For detail and edit views: the object comes from `visible_to(user)` (else 404); when the view
    changes it, `editable_by(user)` must hold too (else 403).

    Set `model` (its QuerySet has visible_to/editable_by), and `needs_edit = True` on views that write.
    Override `permission_check(obj)` to ask a narrower question (confirm, claim, verify …)."""

    model = None
    needs_edit = False

    def get_queryset(self):
        return self.model.objects.visible_to(self.request.user)

    def get_object(self, queryset=None):
        queryset = self.get_queryset() if queryset is None else queryset
        try:
            obj = super().get_object(queryset)
        except (ValueError, TypeError):
            raise Http404 from None
        if not self.permission_check(obj):
            raise PermissionDenied
        return obj

    def permission_check(self, obj):
        if not self.needs_edit:
            return True
        return self.model.objects.editable_by(self.request.user).filter(pk=obj.pk).exists()
