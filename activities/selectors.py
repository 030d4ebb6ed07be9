"""Reads on activities: what the list, the detail page, the CSV export and the home pages need, fetched in a
fixed number of queries however many rows there are."""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import (
    BooleanField, Case, CharField, Count, DateTimeField, DecimalField, Exists, ExpressionWrapper, F, IntegerField, OuterRef,
    Max, Prefetch, Q, Subquery, Sum, Value, When, Window,
)
from django.db.models.functions import Coalesce, Concat, NullIf, RowNumber
from django.utils.translation import gettext
from activities.models import (
    COUNTED_STATUSES, LITERAL_IDS_CAP, OPEN_STATUSES, ActionItem, Activity, ActivityMetricValue, ActivityPhoto,
    ActivityType, Meeting, MeetingAttachment, MeetingAttendee, Need, ServiceRecord, SubmitKey, counted_q,
)
from activities.models import PhotoUpload
from activities.permissions import sees_wanted_by
from activities.plausibility import Facts, fact_parts
from activities.services import LEDGER_CONFIRMED_REASON, mask_name
from pairings.models import Metric, Pairing, PairingBranch, Program
from pairings.selectors import end_of_day
from portal.db import StringAgg, TimeText, json_moment, named_rows
from portal.models import Organization, User
from portal.pagination import PAGE_SIZE, keyset_page
from portal import versioned
from portal.permissions import scope_for
from portal.templatetags.portal_tags import id_urls


# --- as it stood at the end of a day ----------------------------------------------------------------------


def _status_by_timestamps(cutoff, prefix=""):
    """The status a row of an activity (the activity itself, or one of its history rows, reached through
    ``prefix``) stands for at ``cutoff``, checked against its own timestamps: confirmed only if confirmed before
    then, submitted if submitted before then; a submitted or confirmed row submitted later stands for nothing
    yet (""); drafts and returned rows as they are."""
    S = Activity.Status
    return Case(
        When(Q(**{f"{prefix}status": S.CONFIRMED, f"{prefix}confirmed_at__lt": cutoff}), then=Value(S.CONFIRMED)),
        When(
            Q(**{f"{prefix}status__in": (S.SUBMITTED, S.CONFIRMED), f"{prefix}submitted_at__lt": cutoff}),
            then=Value(S.SUBMITTED),
        ),
        When(Q(**{f"{prefix}status__in": OPEN_STATUSES}), then=F(f"{prefix}status")),
        default=Value(""),
        output_field=CharField(),
    )


def status_on(day, *, ref="pk", prefix=""):
    """An expression: the status an activity had at the end of ``day`` (Asia/Shanghai), over activities (the
    defaults) or over rows that point to one (``ref`` names the activity's id, ``prefix`` the path to its
    fields: ``ref="activity_id", prefix="activity__"``).

    Read from the activity's history: its last history row before the day ended. An activity with no history
    row before then was entered later, or behind the history's back (a bulk load, a test's factory): it is read
    from its earliest history row, or from the row itself when it has none, by its timestamps (submitted_at,
    confirmed_at), so an activity submitted or confirmed after the day is not (yet) so on that day. An activity
    not saved since the day ended (``updated_at``) is as it is now, and its history is not read. The value is
    "confirmed", "submitted", "draft", "returned", or "" (not yet entered or submitted then). No query of its
    own: a correlated subquery on the history table."""
    cutoff = end_of_day(day)
    history = Activity.history.model.objects.filter(id=OuterRef(ref))
    before = history.filter(history_date__lt=cutoff).order_by("-history_date", "-history_id")
    first = history.order_by("history_date", "history_id")
    by_history = Coalesce(
        Subquery(before.annotate(then=_status_by_timestamps(cutoff)).values("then")[:1]),
        Subquery(first.annotate(then=_status_by_timestamps(cutoff)).values("then")[:1]),
        _status_by_timestamps(cutoff, prefix),
        output_field=CharField(),
    )
    return Case(
        When(Q(**{f"{prefix}updated_at__lt": cutoff}), then=_status_by_timestamps(cutoff, prefix)),
        default=by_history,
        output_field=CharField(),
    )


def changed_since(day):
    """A Q over activities whose status at the end of ``day`` (status_on) may differ, as far as counting goes,
    from their status now: saved since the day ended (``updated_at``), or submitted or confirmed now by a
    timestamp not before then. Every other activity counts then exactly as it counts now, and confirmed then
    exactly when confirmed now (status_on reads it from its own row by the same timestamps), so the figures of
    now (the rollup's) are its figures as they stood."""
    cutoff = end_of_day(day)
    S = Activity.Status
    return (
        ~Q(updated_at__lt=cutoff)
        | (Q(status=S.CONFIRMED) & ~Q(confirmed_at__lt=cutoff))
        | (Q(status=S.SUBMITTED) & ~Q(submitted_at__lt=cutoff))
    )


def verified_on(day, prefix=""):
    """Service records (through ``prefix``) verified by the end of ``day`` (their ``verified_at``): hours verified
    later were still waiting for verification then."""
    return Q(**{f"{prefix}status": ServiceRecord.Status.VERIFIED, f"{prefix}verified_at__lt": end_of_day(day)})


def pending_on(day, prefix=""):
    """Service records (through ``prefix``) waiting for verification at the end of ``day``: not verified by then,
    not deleted. The record's own creation time is not asked: hours are recorded with their activity."""
    return Q(**{f"{prefix}deleted_at__isnull": True}) & ~verified_on(day, prefix)



# ---------------------------------------------------------------------------------------------------------
# The list
# ---------------------------------------------------------------------------------------------------------


@dataclass
class ListChoices:
    """What the list's drop-downs offer, and the pairings the user reads, from one query (`list_choices`)."""

    pairings: list = field(default_factory=list)  # [(id, "支持方–村", program)], in the pairings' own order
    pairing_ids: frozenset = frozenset()
    administered_ids: frozenset = frozenset()  # those of them whose program the user administers
    branches: list = field(default_factory=list)  # [(id, name)]: every participating branch of those, by name
    branches_by_pairing: dict = field(default_factory=dict)  # {pairing id: [(id, name)]}
    all_branches: bool = True  # False: past BRANCH_OPTIONS_CAP, only those asked for (see list_choices)
    types: list = field(default_factory=list)  # [(id, name)]
    programs: list = field(default_factory=list)  # [(id, name)]: the programs of those pairings, by name
    metrics: list = field(default_factory=list)  # [(id, "name (unit)", program)]: the metrics of their programs
    village_labels: dict = field(default_factory=dict)  # {pairing id: the supported side's short name or name}
    recordable: bool = False  # a branch the user is secretary of takes part in one of them, still active

    @property
    def type_names(self):
        return dict(self.types)

    def narrowed_to(self, pairing_id):
        """The same, as seen through one chosen pairing (when it is one of them), for the scope's id lists."""
        try:
            pairing_id = int(pairing_id)
        except (TypeError, ValueError):
            return self
        if pairing_id not in self.pairing_ids:
            return self
        return replace(
            self,
            pairing_ids=frozenset([pairing_id]),
            administered_ids=self.administered_ids & {pairing_id},
        )


_PAIRING, _BRANCH, _TYPE, _METRIC = 1, 2, 3, 4


# Past this many participating branches (a program admin's whole province) the list does not read them all:
# the branch drop-down then offers those of the chosen pairing only (thousands of options are no use on a
# phone and cost the page more than its rows).
BRANCH_OPTIONS_CAP = 200


def _as_id(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _choice_rows(user, scope, *, pairing, branch):
    """The rows of list_choices: (kind, id, parent, text1 … text5, flag1, flag2). Written as SQL around the
    compiled `Pairing.objects.visible_to(user)` (the one rule for who reads which pairing), read once as a CTE:
    the same query built from querysets cost the page more to compose than the database took to answer."""
    connection = connections[router.db_for_read(Pairing)]
    name = connection.ops.quote_name
    pairing_table, pb_table = name(Pairing._meta.db_table), name(PairingBranch._meta.db_table)
    org_table, program_table = name(Organization._meta.db_table), name(Program._meta.db_table)
    type_table = name(ActivityType._meta.db_table)
    metric_table = name(Metric._meta.db_table)
    try:
        visible, params = Pairing.objects.visible_to(user).order_by().values("id").query.get_compiler(
            connection=connection
        ).as_sql()
        params = list(params)
    except EmptyResultSet:
        visible, params = f"SELECT id FROM {pairing_table} WHERE 1 = 0", []

    if scope.is_superuser:
        administered = "1"
    elif scope.admin_orgs:
        administered = f"CASE WHEN g.office_id IN ({', '.join(['%s'] * len(scope.admin_orgs))}) THEN 1 ELSE 0 END"
        params += sorted(scope.admin_orgs)
    else:
        administered = "0"
    params.append(Pairing.Status.ACTIVE)
    # branches: up to the cap (one more tells it was passed), and always the chosen ones and the user's own
    wanted = [f"pb.id IN (SELECT x.id FROM {pb_table} x WHERE x.pairing_id IN (SELECT id FROM visible) LIMIT %s)"]
    wanted_params = [BRANCH_OPTIONS_CAP + 1]
    if pairing is not None:
        wanted.append("pb.pairing_id = %s")
        wanted_params.append(pairing)
    if branch is not None:
        wanted.append("pb.branch_id = %s")
        wanted_params.append(branch)
    if scope.secretary_orgs:
        wanted.append(f"pb.branch_id IN ({', '.join(['%s'] * len(scope.secretary_orgs))})")
        wanted_params += sorted(scope.secretary_orgs)
    params += wanted_params
    sql = f"""
        WITH visible(id) AS ({visible})
        SELECT {_PAIRING}, p.id, p.program_id, s.name, s.short_name, v.name, v.short_name, g.name, {administered},
               CASE WHEN p.status = %s THEN 1 ELSE 0 END
          FROM {pairing_table} p
          JOIN {org_table} s ON s.id = p.supporter_id
          JOIN {org_table} v ON v.id = p.supported_id
          JOIN {program_table} g ON g.id = p.program_id
         WHERE p.id IN (SELECT id FROM visible)
        UNION ALL
        SELECT {_BRANCH}, pb.branch_id, pb.pairing_id, o.name, '', '', '', '', 0, 0
          FROM {pb_table} pb
          JOIN {org_table} o ON o.id = pb.branch_id
         WHERE pb.pairing_id IN (SELECT id FROM visible) AND ({" OR ".join(wanted)})
        UNION ALL
        SELECT {_TYPE}, t.id, t.{name("order")}, t.name, '', '', '', '', 0, 0 FROM {type_table} t
         WHERE t.program_id IS NULL
            OR t.program_id IN (SELECT p.program_id FROM {pairing_table} p WHERE p.id IN (SELECT id FROM visible))
        UNION ALL
        SELECT {_METRIC}, m.id, m.{name("order")}, m.name, m.unit, g.name, '', '', 0, 0
          FROM {metric_table} m
          JOIN {program_table} g ON g.id = m.program_id
         WHERE m.program_id IN (SELECT p.program_id FROM {pairing_table} p WHERE p.id IN (SELECT id FROM visible))"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@versioned.per_user("list_choices")  # a province admin's thousand pairings, read once per set-up change
def list_choices(user, *, pairing=None, branch=None):
    """The pairings the user reads (with their labels, whether the user administers their program and whether
    they are active), their participating branches and the activity types: one UNION ALL query, so the list's
    drop-downs, its scope and its "record" button cost one query together.

    Branches: all of them up to BRANCH_OPTIONS_CAP; past it, those of the chosen `pairing`, the chosen
    `branch` and the user's own (so a chosen one is still checked against the scope exactly)."""
    scope = scope_for(user)
    pairing_rows, branch_rows, type_rows, metric_rows = [], [], [], []
    for row in _choice_rows(user, scope, pairing=_as_id(pairing), branch=_as_id(branch)):
        (pairing_rows, branch_rows, type_rows, metric_rows)[row[0] - 1].append(row)

    # in Pairing's own order: program, supporting side, supported side (by name); labelled as str(pairing)
    pairing_rows.sort(key=lambda r: (r[7], r[3], r[5], r[1]))
    active = {r[1] for r in pairing_rows if r[9]}
    by_pairing, names = {}, {}
    for _, branch_id, pairing_id, name, *_rest in sorted(branch_rows, key=lambda r: (r[3], r[1])):
        by_pairing.setdefault(pairing_id, []).append((branch_id, name))
        names[branch_id] = name
    return ListChoices(
        pairings=[(r[1], f"{r[4] or r[3]}–{r[6] or r[5]}", r[7]) for r in pairing_rows],
        pairing_ids=frozenset(r[1] for r in pairing_rows),
        programs=sorted({(r[2], r[7]) for r in pairing_rows}, key=lambda item: (item[1], item[0])),
        administered_ids=frozenset(r[1] for r in pairing_rows if r[8]),
        branches=sorted(names.items(), key=lambda item: (item[1], item[0])),
        branches_by_pairing=by_pairing,
        all_branches=len(branch_rows) <= BRANCH_OPTIONS_CAP,
        types=[(r[1], r[3]) for r in sorted(type_rows, key=lambda r: (r[2], r[1]))],
        # by program, then the metric's own order (as the pairing page shows them)
        metrics=[(r[1], f"{r[3]}（{r[4]}）", r[5]) for r in sorted(metric_rows, key=lambda r: (r[5], r[2], r[1]))],
        village_labels={r[1]: r[6] or r[5] for r in pairing_rows},
        recordable=any(
            branch_id in scope.secretary_orgs and pairing_id in active for _, branch_id, pairing_id, *_ in branch_rows
        ),
    )


def activity_list(user, choices=None, pairing=None):
    """The activities the user may see: the list's base, before its filters. With `choices` (read this
    request) the scope is two literal id lists, narrowed to `pairing` when the list is filtered by one of
    them."""
    if choices is None:
        return Activity.objects.visible_to(user)
    choices = choices.narrowed_to(pairing)
    return Activity.objects.visible_to(
        user, pairing_ids=choices.pairing_ids, administered_ids=choices.administered_ids
    )


def activity_list_parts(user, choices):
    """activity_list(user, choices) as two disjoint querysets whose rows together are its rows (visible_to's
    `part`): the activities of the user's pairings, and the program-wide ones. What the unfiltered list counts
    (portal.pagination.capped_count's `parts`): a secretary's few pairings are then counted from the index alone,
    where the rule's OR made PostgreSQL read a table page for every row counted (1.8 ms for the bench's
    secretary's 1,001 rows; 0.3 ms in two parts). None where the rule is not two literal id lists (a superuser's,
    or a scope of more pairings than LITERAL_IDS_CAP)."""
    if scope_for(user).is_superuser or len(choices.pairing_ids) > LITERAL_IDS_CAP:
        return None
    return [
        Activity.objects.visible_to(
            user, pairing_ids=choices.pairing_ids, administered_ids=choices.administered_ids, part=part
        )
        for part in ("pairings", "program_wide")
    ]


# A page's first photo and number of photos, built once for every page: annotate() resolves a copy of each (building
# the two subqueries anew cost every list page about half a millisecond).
FIRST_PHOTO_ID = Subquery(ActivityPhoto.objects.filter(activity_id=OuterRef("pk")).order_by("id").values("id")[:1])
PHOTO_COUNT = Coalesce(
    Subquery(
        ActivityPhoto.objects.filter(activity_id=OuterRef("pk"))
        .order_by()
        .values("activity_id")
        .annotate(n=Count("*"))
        .values("n"),
        output_field=IntegerField(),
    ),
    0,
)


@dataclass(frozen=True, slots=True)
class ListRow:
    """One activity as a row of a list shows it ({% activity_rows %}, activities/templatetags/activity_tags.py):
    the texts the row prints, worked out once. The activity list reads them as such (activity_page); other
    pages make them of model activities (list_rows)."""

    pk: int
    title: str
    date: datetime.date
    status: str
    return_comment: str
    type_name: str
    branch_label: str  # the branch's short name, else its name
    village_label: str  # the supported side's short name, else its name
    url: str  # the activity's page
    thumb_url: str = ""  # its first photo's thumbnail, "" without photos (read by the list alone)
    photo_count: int = 0  # likewise

    @property
    def id(self):
        return self.pk

    @property
    def status_label(self):
        return Activity.label_of_status(self.status)


def program_wide_label():
    """What a list shows for the village of an activity that serves no paired village."""
    return gettext("no paired village")


def list_rows(activities):
    """ListRows of model activities, each read with its branch, type and pairing's supported side
    (select_related "branch", "activity_type", "pairing__supported"): what a need's answers and the home page's
    sections show."""
    detail_url = id_urls("activities:detail")
    return [
        ListRow(
            pk=activity.pk, title=activity.title, date=activity.date, status=activity.status,
            return_comment=activity.return_comment, type_name=activity.activity_type.name,
            branch_label=activity.branch.short_name or activity.branch.name,
            village_label=(activity.pairing.supported.short_name or activity.pairing.supported.name)
            if activity.pairing_id is not None else program_wide_label(),
            url=detail_url(activity.pk),
        )
        for activity in activities
    ]


_LIST_COLUMNS = (
    "id", "title", "date", "status", "return_comment", "pairing_id", "activity_type_id",
    "branch__name", "branch__short_name", "first_photo_id", "photo_count",
)


def activity_page(activities, choices, *, ascending=False, after=None, before=None, size=PAGE_SIZE, segments=None):
    """One page of the list (portal.pagination.keyset_page) in one query: the page's ids are found first,
    from the index alone where PostgreSQL can (`id IN (SELECT id … ORDER BY date, id LIMIT size + 1)`), and
    only those rows are then read with their branch, first photo and number of photos, as ListRows. The
    village and the type each row shows come from `choices` (read with the drop-downs), not from more joins;
    the links are reversed once for the page (id_urls), not once per row."""
    villages, types = choices.village_labels, choices.type_names
    detail_url, thumb_url = id_urls("activities:detail"), id_urls("activities:photo_thumb")

    def fetch(condition, order, limit):
        ids = activities.filter(condition).order_by(*order).values("id")[:limit]
        rows = (
            Activity.objects.filter(id__in=ids)
            .annotate(first_photo_id=FIRST_PHOTO_ID, photo_count=PHOTO_COUNT)
            .order_by(*order)
            .values_list(*_LIST_COLUMNS)
        )
        return [
            ListRow(
                pk=pk, title=title, date=date, status=status, return_comment=comment,
                type_name=types.get(type_id, ""), branch_label=branch_short or branch_name,
                village_label=villages.get(pairing_id, "") if pairing_id is not None else program_wide_label(),
                url=detail_url(pk),
                thumb_url=thumb_url(photo_id) if photo_id else "",
                photo_count=photo_count,
            )
            for (
                pk, title, date, status, comment, pairing_id, type_id, branch_name, branch_short, photo_id, photo_count,
            ) in rows
        ]

    return keyset_page(fetch, ascending=ascending, after=after, before=before, size=size, segments=segments)


HOURS = DecimalField(max_digits=8, decimal_places=1)


def hours_total(which):
    """The hours of the activity's service records matching the Q `which`, added up; NULL without any."""
    return Subquery(
        ServiceRecord.objects.filter(which, activity_id=OuterRef("pk"))
        .order_by()
        .values("activity_id")
        .annotate(total=Sum("hours"))
        .values("total"),
        output_field=HOURS,
    )


@dataclass(frozen=True)
class ExportMetric:
    """One metric column of the activity export."""

    pk: int
    header: str  # "名称(单位)", the program's name put before it where two programs' headers would be the same
    alias: str  # the annotation that carries its value (export_rows)


def export_metrics(activities):
    """The metrics of the programs of `activities` (the export's rows, filtered): one column each, by program,
    then the metric's own order (as the pairing page lists them). One query, run before the rows are read."""
    rows = list(
        Metric.objects.filter(program_id__in=activities.order_by().values("program_id"))
        .order_by("program__name", "program_id", "order", "id")
        .values_list("id", "name", "unit", "program__name")
    )
    headers = [f"{name}({unit})" for _, name, unit, _ in rows]
    repeated = {header for header in headers if headers.count(header) > 1}
    return [
        ExportMetric(pk=pk, header=f"{program}·{header}" if header in repeated else header, alias=f"metric_{pk}")
        for (pk, _, _, program), header in zip(rows, headers)
    ]


def activity_export(user):
    """Activities for the CSV and XLSX exports, each row complete in itself so the rows are one query: the
    program, the pairing's label, the verified and the pending hours (activities.models: the figures' rules)
    and the number of photos are computed by the database (correlated subqueries), not fetched per activity.
    The metrics' values are added by `export_rows` once the list's filters are applied."""
    def label(side):
        return Coalesce(NullIf(f"pairing__{side}__short_name", Value("")), f"pairing__{side}__name")

    co_hosts = (
        Activity.co_branches.through.objects.filter(activity_id=OuterRef("pk"))
        .order_by()
        .values("activity_id")
        .annotate(text=StringAgg("organization__name", "、", order_by=("organization__name", "organization_id")))
        .values("text")
    )
    return (
        Activity.objects.visible_to(user)
        .annotate(
            program_name=F("program__name"),
            pairing_label=Case(
                When(pairing__isnull=True, then=Value(program_wide_label())),
                default=Concat(label("supporter"), Value("–"), label("supported"), output_field=CharField()),
                output_field=CharField(),
            ),
            # the co-hosts' names read only for the few activities that have any (as kept on the row)
            # the aggregate's own field: on SQLite before 3.44 its converter puts the names in order
            co_branch_names=Case(
                When(~Q(kept_co_host_ids=""), then=Subquery(co_hosts)),
                default=Value(None),
                output_field=co_hosts.query.annotations["text"].output_field,
            ),
            start_text=TimeText("start_time"),
            end_text=TimeText("end_time"),
            verified_hours=_counted_kept("kept_verified_hours"),
            pending_hours=_counted_kept("kept_pending_hours"),
            photo_count=F("kept_photos"),
        )
        .order_by("-date", "-id")
    )


def _counted_kept(name):
    """The hours kept on the activity's row (activities.kept: its records by verified_q or pending_q) of a
    counted activity; NULL for one that does not count (a draft or returned one): its hours are neither verified
    nor pending, they wait for the activity."""
    return Case(When(counted_q(), then=F(name)), default=Value(None, output_field=HOURS), output_field=HOURS)


def _counted_hours_then(which):
    """As _counted_kept, as the hours stood at the end of a day (export_rows): NULL for an activity that did not
    count then (its status then, the alias ``hours_status_then``), else its hours matching `which`."""
    return Case(
        When(
            Q(hours_status_then__in=COUNTED_STATUSES, deleted_at__isnull=True),
            then=Coalesce(hours_total(which), Value(Decimal(0), output_field=HOURS)),
        ),
        default=Value(None, output_field=HOURS),
        output_field=HOURS,
    )


def export_rows(activities, metrics, *, as_at=None):
    """`activities` (activity_export, filtered) ready for the exports with `metrics` (export_metrics): their
    values are the figures kept on each row (``kept_figures``, "<metric id>:<value>;…"), spread into one column
    per metric by the writer (activities.exports), a blank where the activity recorded none (never 0). No
    lookup per row whatever the number of metrics.

    With `as_at` (the list's filter: a past period's report links with its as-at day), the verified and pending
    hours are those of the end of that day, as the report counted them: verified if verified by then, else
    pending, on an activity that counted then (figures.verified_then, pending_then); so the columns add up to the
    report's hours figures."""
    if as_at is not None:
        alive = Q(deleted_at__isnull=True)
        activities = activities.alias(hours_status_then=status_on(as_at)).annotate(
            verified_hours=_counted_hours_then(verified_on(as_at) & alive),
            pending_hours=_counted_hours_then(pending_on(as_at)),
        )
    return activities


def activity_detail(user):
    """The queryset the detail page reads its one activity from, with what it shows of its pairing, branch,
    type, plan item, need and people (its photos, figures, hours, co-hosts and history: `activity_parts`)."""
    ledger_confirmation = Activity.history.filter(
        id=OuterRef("pk"), status=Activity.Status.CONFIRMED, confirmed_at=OuterRef("confirmed_at"),
        history_change_reason__startswith=LEDGER_CONFIRMED_REASON,
    ).values("history_change_reason")[:1]
    # `ledger_confirmation`: the history's reason ("confirmed by ledger import #12") when the activity's current
    # confirmation came from a ledger import (a subquery of the one query: the page shows it near the status)
    return Activity.objects.visible_to(user).annotate(ledger_confirmation=Subquery(ledger_confirmation)).select_related(
        "pairing__supporter",
        "pairing__supported",
        "pairing__program",
        "program",
        "branch",
        "activity_type",
        "plan_item",
        "need",
        "created_by",
        "confirmed_by",
        "corrected_by",
    )


@dataclass(frozen=True)
class PhotoRow:
    pk: int
    caption: str
    shows_minors: bool
    sha256: str


@dataclass(frozen=True)
class FigureRow:
    value: Decimal
    name: str
    unit: str


@dataclass(frozen=True)
class HoursRow:
    volunteer_name: str
    hours: Decimal
    content: str
    status: str
    pk: int | None = None


@dataclass
class ActivityParts:
    """Everything the detail page lists under an activity, read in one query (`activity_parts`)."""

    photos: list = field(default_factory=list)  # [(PhotoRow, None or ([activities the user sees], hidden count))]
    figures: list = field(default_factory=list)  # [FigureRow], in the catalog's order
    hours: list = field(default_factory=list)  # [HoursRow], by volunteer
    co_branches: list = field(default_factory=list)  # [name], by name
    history: list = field(default_factory=list)  # status changes, oldest first (see status_history)
    facts: Facts | None = None  # what the plausibility warnings read, if asked for (`with_facts`)

    @property
    def hours_total(self):
        return sum((row.hours for row in self.hours), start=Decimal(0))


def _decimal(value, places):
    """A decimal of a named_rows row as the field's exact Decimal (SQLite may give a whole number as int)."""
    return Decimal(str(value)).quantize(Decimal(places))


def activity_parts(activity, user, *, with_twins=False, with_facts=False):
    """The activity's photos, figures, volunteers' hours, co-hosting branches and status history, (with
    `with_twins`, for those who may edit it) the other activities holding the same photo file, split into
    those the user may see and how many they may not, and (with `with_facts`) what its plausibility warnings
    read (activities.plausibility.fact_parts): one statement, a UNION ALL of portal.db.named_rows (each part's
    rows read by name), so the detail page keeps to its five queries (and the warnings' one)."""
    pk = activity.pk
    parts = [
        named_rows("photo", ActivityPhoto.objects.filter(activity_id=pk),
                   pk="id", caption="caption", sha256="sha256", shows_minors="shows_minors"),
        named_rows("figure", ActivityMetricValue.objects.filter(activity_id=pk),
                   value="value", name="metric__name", unit="metric__unit", order="metric__order", metric="metric_id"),
        named_rows("hours", ServiceRecord.objects.filter(activity_id=pk),
                   pk="id", volunteer_name="volunteer__name", hours="hours", content="content", status="status"),
        named_rows("cohost", Organization.objects.filter(cohosted_activities=pk), pk="id", name="name"),
        named_rows("change", Activity.history.filter(id=pk),
                   pk="history_id", when="history_date", user_id="history_user_id",
                   user_name=Coalesce(NullIf("history_user__full_name", Value("")), "history_user__username"),
                   status="status", comment="return_comment", reason="correction_reason",
                   summary="correction_summary"),
    ]
    if with_twins:
        hashes = ActivityPhoto.objects.filter(activity_id=pk).exclude(sha256="").values("sha256")
        visible = Activity.objects.visible_to(user).filter(pk=OuterRef("activity_id"))
        parts.append(
            named_rows(
                "twin",
                ActivityPhoto.objects.filter(sha256__in=hashes, activity__deleted_at__isnull=True).exclude(activity_id=pk),
                activity="activity_id", title="activity__title", sha256="sha256", seen=Exists(visible),
            )
        )
    if with_facts:
        parts += fact_parts(activity)
    rows = defaultdict(list)
    first, *others = parts
    for part, row in first.union(*others, all=True):
        rows[part].append(row)

    twins = {}
    for twin in rows["twin"]:
        seen, hidden = twins.setdefault(twin["sha256"], ({}, set()))
        if twin["seen"]:
            seen[twin["activity"]] = Activity(id=twin["activity"], title=twin["title"])
        else:
            hidden.add(twin["activity"])
    photos = []
    for row in sorted(rows["photo"], key=lambda r: r["pk"]):
        photo = PhotoRow(pk=row["pk"], caption=row["caption"], shows_minors=bool(row["shows_minors"]), sha256=row["sha256"])
        found = twins.get(photo.sha256) if photo.sha256 else None
        photos.append((photo, (sorted(found[0].values(), key=lambda a: a.pk), len(found[1])) if found else None))
    changes = sorted(
        ((json_moment(r["when"]), r["pk"], r) for r in rows["change"]), key=lambda change: change[:2]
    )
    return ActivityParts(
        photos=photos,
        figures=[
            FigureRow(value=_decimal(r["value"], "0.01"), name=r["name"], unit=r["unit"])
            for r in sorted(rows["figure"], key=lambda r: (r["order"], r["metric"]))
        ],
        hours=[
            HoursRow(volunteer_name=r["volunteer_name"], hours=_decimal(r["hours"], "0.1"), content=r["content"],
                     status=r["status"], pk=r["pk"])
            for r in sorted(rows["hours"], key=lambda r: (r["volunteer_name"], r["pk"]))
        ],
        co_branches=[r["name"] for r in sorted(rows["cohost"], key=lambda r: (r["name"], r["pk"]))],
        facts=Facts.from_rows(rows) if with_facts else None,
        history=_status_changes(
            (when, User(id=r["user_id"], username=r["user_name"]) if r["user_id"] else None, r["status"], r["comment"],
             r["summary"], r["reason"])
            for when, _, r in changes
        ),
    )


def _status_changes(rows):
    """(when, who, status, return comment, correction summary, correction reason) history rows, oldest first ->
    the status changes among them, each with its comment: the village's on a return, what changed and why on a
    confirmed activity's correction (confirmed -> submitted)."""
    changes = []
    previous = None
    for when, who, status, comment, summary, reason in rows:
        if previous is None or status != previous:
            if status == Activity.Status.RETURNED:
                shown = comment
            elif previous == Activity.Status.CONFIRMED and status == Activity.Status.SUBMITTED and summary:
                shown = gettext("Corrected: %(summary)s. Reason: %(reason)s") % {"summary": summary, "reason": reason}
            else:
                shown = ""
            changes.append(
                {
                    "when": when,
                    "who": who,
                    "from": previous,
                    "to": status,
                    "to_label": Activity.Status(status).label if status in Activity.Status.values else status,
                    "comment": shown,
                }
            )
        previous = status
    return changes


def status_history(activity):
    """The activity's status changes, oldest first: (when, who, from, to, reason) from its history rows."""
    rows = (
        Activity.history.filter(id=activity.id)
        .select_related("history_user")
        .order_by("history_date", "history_id")
    )
    return _status_changes(
        (row.history_date, row.history_user, row.status, row.return_comment, row.correction_summary,
         row.correction_reason)
        for row in rows
    )


# ---------------------------------------------------------------------------------------------------------
# Needs (微心愿)
# ---------------------------------------------------------------------------------------------------------

OVERDUE_DAYS = 30
WAITING_STATUSES = (Need.Status.OPEN, Need.Status.CLAIMED)


def overdue_q(now):
    """Needs still waiting for a response (open or claimed, not yet fulfilled) raised over 30 days ago."""
    return Q(status__in=WAITING_STATUSES, raised_at__lt=now - datetime.timedelta(days=OVERDUE_DAYS))


def need_list(user, now):
    """Needs the user may see, newest first, each with its pairing, claiming branch and an `is_overdue` flag."""
    return (
        Need.objects.visible_to(user)
        .select_related("pairing__supporter", "pairing__supported", "pairing__program", "claimed_by_branch")
        .annotate(is_overdue=ExpressionWrapper(overdue_q(now), output_field=BooleanField()))
        .order_by("-raised_at", "-id")
    )


def need_detail(user, now):
    """The queryset the need page reads its one need from, with what it shows fetched alongside."""
    return need_list(user, now).select_related("raised_by").prefetch_related(
        Prefetch(
            "activities",
            queryset=Activity.objects.visible_to(user)
            .select_related("pairing__supported", "branch", "activity_type")
            .order_by("-date", "-id"),
            to_attr="answers",
        )
    )


def shown_wanted_by(user, need):
    """Who wants it, as this viewer may read it: masked (王**) when asked, except to the village side and
    the program admin."""
    if need.mask_wanted_by and not sees_wanted_by(user, need.pairing):
        return mask_name(need.wanted_by)
    return need.wanted_by


# --- service records on the volunteer and team pages ----------------------------------------------------

RECORD_RELATED = (
    "activity__branch",
    "activity__pairing__supporter",
    "activity__pairing__supported",
    "activity__program",
    "verified_by",
)


def volunteer_records(user, volunteer):
    """The volunteer's service records the user may see (drafts of another branch stay hidden), newest
    first, each with `can_verify`. Two queries."""
    records = list(
        ServiceRecord.objects.filter(volunteer=volunteer)
        .visible_to(user)
        .filter(activity__deleted_at__isnull=True)
        .select_related(*RECORD_RELATED)
        .order_by("-activity__date", "-id")
    )
    verifiable = set(
        ServiceRecord.objects.filter(volunteer=volunteer)
        .editable_by(user)
        .awaiting_verification()
        .values_list("id", flat=True)
    )
    for record in records:
        record.can_verify = record.pk in verifiable
    return records


def team_pending_records(user, team):
    """The recorded hours of the team's members, awaiting verification, that the user may verify."""
    return list(
        ServiceRecord.objects.filter(volunteer__teams=team)
        .editable_by(user)
        .awaiting_verification()
        .select_related("volunteer", *RECORD_RELATED)
        .order_by("-activity__date", "volunteer__name", "id")
    )


# ---------------------------------------------------------------------------------------------------------
# Joint meetings (联席会议) and their decisions (action items)
# ---------------------------------------------------------------------------------------------------------

ACTION_ITEM_RELATED = (
    "owner_org", "owner_user", "done_by_activity", "closed_by",
    "meeting__program", "meeting__pairing__supporter", "meeting__pairing__supported",
)


def meeting_list(user):
    """The meetings the user reads, newest first, with their pairing and how many decisions are still open."""
    open_items = ActionItem.objects.filter(meeting_id=OuterRef("pk"), status=ActionItem.Status.OPEN)
    all_items = ActionItem.objects.filter(meeting_id=OuterRef("pk"))
    return (
        Meeting.objects.visible_to(user)
        .select_related("program", "pairing__supporter", "pairing__supported")
        .annotate(
            open_count=Coalesce(Subquery(_count_of(open_items)), 0),
            decision_count=Coalesce(Subquery(_count_of(all_items)), 0),
        )
        .order_by("-date", "-id")
    )


def _count_of(queryset):
    return queryset.order_by().values("meeting_id").annotate(n=Count("id")).values("n")


def meeting_detail(user):
    """The queryset the meeting page reads its one meeting from, with its attendees, files and decisions."""
    return (
        Meeting.objects.visible_to(user)
        .select_related("program", "pairing__supporter", "pairing__supported", "activity", "created_by")
        .prefetch_related(
            Prefetch("attendees", queryset=MeetingAttendee.objects.select_related("organization", "user")),
            Prefetch("attachments", queryset=MeetingAttachment.objects.order_by("kind", "id")),
            Prefetch(
                "action_items",
                queryset=ActionItem.objects.select_related("owner_org", "owner_user", "done_by_activity", "closed_by"),
            ),
        )
    )


def previous_meeting(meeting):
    """The meeting before this one of the same pairing (or, for a program-wide meeting, the program's previous
    program-wide one), with its decisions and what became of each; None if this is the first. Two queries."""
    same = Meeting.objects.filter(program_id=meeting.program_id, pairing_id=meeting.pairing_id)
    if meeting.pairing_id is None:
        same = Meeting.objects.filter(program_id=meeting.program_id, pairing__isnull=True)
    return (
        same.filter(Q(date__lt=meeting.date) | Q(date=meeting.date, id__lt=meeting.pk))
        .prefetch_related(
            Prefetch(
                "action_items",
                queryset=ActionItem.objects.select_related("owner_org", "owner_user", "done_by_activity"),
            )
        )
        .order_by("-date", "-id")
        .first()
    )


def with_overdue(items, today):
    """Annotate `is_overdue`: open, and due before ``today`` (an item due today is not overdue yet)."""
    return items.annotate(
        is_overdue=Case(
            When(status=ActionItem.Status.OPEN, due_date__lt=today, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def open_action_items(*, today, user=None, org_ids=None, pairing_ids=None):
    """Open decisions, overdue first (by due date: the overdue ones are those due before ``today``), each with its
    meeting and owner: those the user owns (of an organisation they act for, or named theirs), or those of the
    organisations ``org_ids``, or of the pairings ``pairing_ids``. What the home pages, the to-do list and the
    monthly reminder list."""
    items = ActionItem.objects.filter(status=ActionItem.Status.OPEN)
    if user is not None:
        items = items.owned_by(user)
    if org_ids is not None:
        items = items.filter(owner_org_id__in=list(org_ids))
    if pairing_ids is not None:
        items = items.filter(meeting__pairing_id__in=list(pairing_ids))
    return with_overdue(items, today).select_related(*ACTION_ITEM_RELATED).order_by("due_date", "id")


def action_item_list(user, today):
    """Every decision the user reads, open ones first and overdue first among them (the to-do list's rows)."""
    return (
        with_overdue(ActionItem.objects.visible_to(user), today)
        .select_related(*ACTION_ITEM_RELATED)
        .annotate(closed=Case(When(status=ActionItem.Status.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("closed", "due_date", "id")
    )


# --- as a report reads them: at a moment --------------------------------------------------------------------


def _item_then(moment):
    """Expressions over action items: their status, closing time, note and activity as they stood at ``moment``.
    Read from the item's last history row before then; an item with none (entered later, or written behind the
    history's back) is read from its own row, closed then if its ``closed_at`` lies before the moment. So a decision
    closed or reopened after a report's moment does not change what the report says of it."""
    history = ActionItem.history.model.objects.filter(id=OuterRef("pk"), history_date__lt=moment).order_by(
        "-history_date", "-history_id"
    )
    had = Exists(history)
    closed_by_then = Q(closed_at__lt=moment)

    def then(name, fallback, output_field):
        return Case(
            When(had, then=Subquery(history.values(name)[:1])),
            When(closed_by_then, then=F(name)),
            default=fallback,
            output_field=output_field,
        )

    return {
        "status_then": then("status", Value(ActionItem.Status.OPEN), CharField()),
        "closed_at_then": then("closed_at", Value(None), DateTimeField()),
        "note_then": then("note", Value(""), CharField()),
        "activity_then": then("done_by_activity_id", Value(None), IntegerField()),
    }


ITEM_REPORT_COLUMNS = (
    "id", "meeting_id", "meeting__date", "meeting__title", "meeting__pairing_id", "text", "due_date",
    "owner_org__name", "owner_org__short_name", "owner_user__full_name", "owner_user__username",
    "status_then", "closed_at_then", "note_then", "activity_then", "activity_title", "activity_date",
)


def _meeting_scope(pairing_ids, program_id, prefix=""):
    q = Q(**{f"{prefix}pairing_id__in": list(pairing_ids)})
    if program_id is not None:
        q |= Q(**{f"{prefix}pairing__isnull": True, f"{prefix}program_id": program_id})
    return q


def last_meetings(pairing_ids, *, day, program_id=None):
    """The latest meeting on or before ``day`` of each of the pairings (and, with ``program_id``, the program's
    latest program-wide meeting), as rows {id, pairing_id, date, title, place}. One query."""
    latest = Window(RowNumber(), partition_by=[F("pairing_id")], order_by=[F("date").desc(), F("id").desc()])
    return list(
        Meeting.objects.filter(_meeting_scope(pairing_ids, program_id), date__lte=day)
        .annotate(n=latest)
        .filter(n=1)
        .order_by("date", "id")
        .values("id", "pairing_id", "date", "title", "place")
    )


def report_action_items(pairing_ids, *, day, moment, program_id=None, meeting_ids=()):
    """The decisions a report shows, as they stood at ``moment`` (`_item_then`): those of the meetings held on or
    before ``day`` in the pairings (and the program's program-wide meetings, with ``program_id``) that were open
    then, and every decision of the meetings ``meeting_ids`` (the last meetings), by due date. One query."""
    then = _item_then(moment)
    activity = Activity.all_objects.filter(pk=OuterRef("activity_then"))
    return list(
        ActionItem.objects.filter(_meeting_scope(pairing_ids, program_id, "meeting__"), meeting__date__lte=day)
        .annotate(**then)
        .annotate(
            activity_title=Subquery(activity.values("title")[:1]), activity_date=Subquery(activity.values("date")[:1])
        )
        .filter(Q(status_then=ActionItem.Status.OPEN) | Q(meeting_id__in=list(meeting_ids)))
        .order_by("due_date", "id")
        .values(*ITEM_REPORT_COLUMNS)
    )


# --- what waits for someone: one definition each, read by the notices and the home pages --------------------


def activities_with_hours_waiting(records):
    """The activities holding hours among ``records`` (a ServiceRecord QuerySet, e.g. those a user may verify)
    that wait for verification (`awaiting_verification`), each with ``hours_waiting`` (how many records wait),
    the longest waiting first (submitted earliest)."""
    waiting = records.awaiting_verification()
    # each activity's count from its own records (a subquery): joined to every record and grouped, the count made
    # PostgreSQL hash the whole activity and record tables before it kept a secretary's few (3.3 s at a province's
    # 1,000,000 activities; now 1 ms)
    per_activity = (
        ServiceRecord.objects.awaiting_verification().filter(activity_id=OuterRef("pk"))
        .order_by().values("activity_id").annotate(n=Count("*")).values("n")
    )
    return (
        Activity.objects.filter(pk__in=waiting.values("activity_id"))
        .annotate(hours_waiting=Subquery(per_activity, output_field=IntegerField()))
        .order_by("submitted_at", "id")
    )


def hours_waiting_on(activity):
    """(how many records of the activity wait for verification, the newest of their ids): the batch a notice
    announces once."""
    row = ServiceRecord.objects.filter(activity_id=activity.pk).awaiting_verification().aggregate(
        n=Count("id"), last=Max("id")
    )
    return row["n"], row["last"]


NEED_ANSWERED_STATUSES = (Need.Status.FULFILLED, Need.Status.CLAIMED)


def needs_answered(needs):
    """Of ``needs``, those a branch answered and the village has not yet closed: fulfilled (to rate) first,
    then claimed (under way), each the oldest first."""
    return (
        needs.filter(status__in=NEED_ANSWERED_STATUSES)
        .annotate(to_rate=Case(When(status=Need.Status.FULFILLED, then=Value(0)), default=Value(1)))
        .select_related("pairing__supporter", "pairing__supported", "claimed_by_branch")
        .order_by("to_rate", Coalesce("fulfilled_at", "claimed_at"), "id")
    )


def named_by(terms):
    """{term: (ids of the organisations whose name or short name holds it, ids of the pairings whose supported
    side's does)} for the activity search's matches by branch and village name: one query for all the terms,
    cached until the set-up changes (portal/versioned.py). Organisations are a few thousand: read with
    icontains, no index needed."""
    return versioned.cached("named_by", lambda: _named_by(terms), tuple(terms))


def _named_by(terms):
    found = {term: (set(), set()) for term in terms}
    if not terms:
        return found
    condition = Q()
    for term in terms:
        condition |= Q(name__icontains=term) | Q(short_name__icontains=term)
    rows = Organization.objects.filter(condition).order_by().values_list("id", "name", "short_name", "pairings_supported__id")
    for org_id, name, short_name, pairing_id in rows:
        names = f"{name}\n{short_name}".casefold()
        for term in terms:
            if term.casefold() in names:
                found[term][0].add(org_id)
                if pairing_id is not None:
                    found[term][1].add(pairing_id)
    return {term: (sorted(orgs), sorted(pairings)) for term, (orgs, pairings) in found.items()}


def saved_with_key(user, key):
    """The SubmitKey row (with its activity) of a save this user already made with this form key, or None: one
    query, none without a key."""
    if user.is_anonymous or key is None:
        return None
    return (
        SubmitKey.objects.filter(created_by=user, key=key, activity__isnull=False)
        .select_related("activity")
        .first()
    )


# ---------------------------------------------------------------------------------------------------------
# What the activity form offers first on a phone: the branch's last places and its usual volunteers
# ---------------------------------------------------------------------------------------------------------

RECENT_PLACES = 8
USUAL_VOLUNTEERS = 8
USUAL_SINCE_DAYS = 365


def recent_places(branch_ids, *, limit=RECENT_PLACES):
    """The places of the branches' activities, the latest first, each once (one query)."""
    rows = (
        Activity.objects.filter(branch_id__in=branch_ids)
        .exclude(place="")
        .values("place")
        .annotate(last=Max("date"), last_id=Max("id"))
        .order_by("-last", "-last_id")[:limit]
    )
    return [row["place"] for row in rows]


def usual_volunteer_ids(branch_ids, volunteers, *, today, limit=USUAL_VOLUNTEERS):
    """Of `volunteers`, the ids of those the branches recorded hours for most often in the last year, the most
    often first (one query)."""
    since = today - datetime.timedelta(days=USUAL_SINCE_DAYS)
    rows = (
        ServiceRecord.objects.filter(
            activity__branch_id__in=branch_ids, activity__deleted_at__isnull=True, activity__date__gte=since,
            volunteer_id__in=volunteers.order_by().values("id"),
        )
        .values("volunteer_id")
        .annotate(times=Count("id"), last=Max("activity__date"))
        .order_by("-times", "-last", "volunteer_id")[:limit]
    )
    return [row["volunteer_id"] for row in rows]


# --- photos held for the activity form -------------------------------------------------------------------

# A token is 32 characters (secrets.token_urlsafe(24)): anything much longer is not one, and is not hashed.
TOKEN_MAX_LENGTH = 64


def held_photos(user, tokens):
    """The user's own held photos (PhotoUpload.objects.visible_to) for these tokens, as {token: upload}: one query
    however many. Tokens of someone else's, expired or attached photos are left out."""
    tokens = [token for token in tokens if token and len(token) <= TOKEN_MAX_LENGTH]
    if not tokens:
        return {}
    hashes = {PhotoUpload.hash_token(token): token for token in tokens}
    return {hashes[upload.token_hash]: upload for upload in PhotoUpload.objects.visible_to(user).filter(token_hash__in=hashes)}
