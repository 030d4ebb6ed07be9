"""The export columns kept on the activity row (Activity.kept_*): its verified and pending hours, the last
verification among the verified ones, its co-hosts' ids, its figures and its photo count, so that an export
reads each activity as one row of one table. The rollup (figures) reads the verified hours too: a month's verified
hours are its counted activities' kept verified hours, added up in the same pass as their other figures.

Kept in the transaction of the write: activities.receivers refresh an activity whenever it, one of its service
records, metric values or photos is saved or deleted, or its co-hosts change; the bulk writes (the verification
of hours, the ledger import) send `service_records_changed` or `activities_saved_in_bulk`, refreshed the same
way. Writers that bypass all of that (COPY, a script's bulk_create) run ``manage.py rebuild_rollups``, which
refreshes these columns too (``kept_refresh()`` of every activity)."""

from decimal import Decimal

from django.db import connections
from django.db.models import CharField, Count, DecimalField, IntegerField, Max, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Concat

from activities.models import Activity, ActivityMetricValue, ActivityPhoto, ServiceRecord
from portal.db import PlainNumber, StringAgg

CHUNK = 1000  # activities per UPDATE when refreshing many

HOURS = DecimalField(max_digits=8, decimal_places=1)


def _of_activity(queryset):
    return queryset.filter(activity_id=OuterRef("pk")).order_by().values("activity_id")


def kept_values(*, with_texts=True):
    """The kept columns as expressions over an activity (correlated subqueries): what an UPDATE sets. Without
    ``with_texts``, the co-hosts and figures are left out (SQLite: ``_texts`` writes them)."""
    alive = ServiceRecord.all_objects.filter(deleted_at__isnull=True)
    verified = alive.filter(status=ServiceRecord.Status.VERIFIED)
    pending = alive.filter(status=ServiceRecord.Status.RECORDED)
    zero = Value(Decimal(0), output_field=HOURS)
    values = {
        "kept_verified_hours": Coalesce(Subquery(_of_activity(verified).annotate(t=Sum("hours")).values("t"), output_field=HOURS), zero),
        "kept_pending_hours": Coalesce(Subquery(_of_activity(pending).annotate(t=Sum("hours")).values("t"), output_field=HOURS), zero),
        "kept_verified_until": Subquery(_of_activity(verified).annotate(t=Max("verified_at")).values("t")),
        "kept_photos": Coalesce(
            Subquery(_of_activity(ActivityPhoto.objects.all()).annotate(t=Count("*")).values("t"), output_field=IntegerField()),
            0,
        ),
    }
    if not with_texts:
        return values
    co_hosts = Activity.co_branches.through.objects.filter(activity_id=OuterRef("pk")).order_by().values("activity_id")
    figures = _of_activity(ActivityMetricValue.objects.all())
    number = Concat(Cast("metric_id", CharField()), Value(":"), PlainNumber("value"), output_field=CharField())
    values["kept_co_host_ids"] = Coalesce(
        Subquery(
            co_hosts.annotate(t=StringAgg(Cast("organization_id", CharField()), ",", order_by=("organization_id",))).values("t"),
            output_field=CharField(),
        ),
        Value(""),
    )
    values["kept_figures"] = Coalesce(
        Subquery(figures.annotate(t=StringAgg(number, ";", order_by=("metric_id",))).values("t"), output_field=CharField()),
        Value(""),
    )
    return values


def plain_number(value):
    """A Decimal as the figures' text: no trailing zeros (12.00 → "12", 2.50 → "2.5"), as PlainNumber."""
    return format(value.normalize(), "f") if value else "0"


def _texts(ids, using):
    """Write the co-hosts and figures of the activities ``ids`` read in Python (SQLite, where an aggregate's
    order inside an UPDATE is not to be had): three queries, then one UPDATE per activity whose text changed."""
    co_hosts, figures = {pk: [] for pk in ids}, {pk: [] for pk in ids}
    through = Activity.co_branches.through.objects.using(using)
    for activity_id, organization_id in through.filter(activity_id__in=ids).order_by("organization_id").values_list(
        "activity_id", "organization_id"
    ):
        co_hosts[activity_id].append(str(organization_id))
    for activity_id, metric_id, value in (
        ActivityMetricValue.objects.using(using).filter(activity_id__in=ids).order_by("metric_id")
        .values_list("activity_id", "metric_id", "value")
    ):
        figures[activity_id].append(f"{metric_id}:{plain_number(value)}")
    activities = Activity.all_objects.using(using)
    for pk, co_host_ids, text in activities.filter(pk__in=ids).values_list("pk", "kept_co_host_ids", "kept_figures"):
        wanted = (",".join(co_hosts[pk]), ";".join(figures[pk]))
        if wanted != (co_host_ids, text):
            activities.filter(pk=pk).update(kept_co_host_ids=wanted[0], kept_figures=wanted[1])


def kept_refresh(activity_ids=None, *, using="default"):
    """Recompute the kept columns of these activities (every activity with None), deleted ones included."""
    activities = Activity.all_objects.using(using)
    with_texts = connections[using].vendor == "postgresql"
    if activity_ids is None:
        activity_ids = activities.values_list("pk", flat=True)
    ids = sorted({pk for pk in activity_ids if pk is not None})
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        activities.filter(pk__in=chunk).update(**kept_values(with_texts=with_texts))
        if not with_texts:
            _texts(chunk, using)


# PostgreSQL: every activity's kept columns from grouped reads of each part (one pass per table, not a lookup
# per activity), in ONE statement that writes only the rows whose columns differ (a rebuild over rows already
# right writes nothing, and a first fill writes each row once).
REBUILD_SQL = """
UPDATE activities_activity a
   SET kept_verified_hours = s.verified, kept_pending_hours = s.pending, kept_verified_until = s.until,
       kept_co_host_ids = s.co_hosts, kept_figures = s.figures, kept_photos = s.photos
  FROM (SELECT x.id,
               coalesce(h.verified, 0) AS verified, coalesce(h.pending, 0) AS pending, h.until,
               coalesce(c.ids, '') AS co_hosts, coalesce(f.figures, '') AS figures, coalesce(p.n, 0) AS photos
          FROM activities_activity x
          LEFT JOIN (SELECT activity_id,
                            sum(hours) FILTER (WHERE status = 'verified') AS verified,
                            sum(hours) FILTER (WHERE status = 'recorded') AS pending,
                            max(verified_at) FILTER (WHERE status = 'verified') AS until
                       FROM activities_servicerecord WHERE deleted_at IS NULL GROUP BY activity_id) h
                 ON h.activity_id = x.id
          LEFT JOIN (SELECT activity_id, string_agg(organization_id::text, ',' ORDER BY organization_id) AS ids
                       FROM activities_activity_co_branches GROUP BY activity_id) c ON c.activity_id = x.id
          LEFT JOIN (SELECT activity_id,
                            string_agg(metric_id::text || ':' || trim_scale(value)::text, ';' ORDER BY metric_id)
                              AS figures
                       FROM activities_activitymetricvalue GROUP BY activity_id) f ON f.activity_id = x.id
          LEFT JOIN (SELECT activity_id, count(*) AS n FROM activities_activityphoto GROUP BY activity_id) p
                 ON p.activity_id = x.id) s
 WHERE a.id = s.id
   AND (a.kept_verified_hours, a.kept_pending_hours, a.kept_verified_until, a.kept_co_host_ids, a.kept_figures,
        a.kept_photos) IS DISTINCT FROM (s.verified, s.pending, s.until, s.co_hosts, s.figures, s.photos)
"""


def kept_rebuild(*, using="default"):
    """Recompute every activity's kept columns (after a load behind the application's back; the migration that
    added them). Set-based on PostgreSQL, an UPDATE of correlated reads elsewhere."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        kept_refresh(None, using=using)
        return
    with connection.cursor() as cursor:
        cursor.execute(REBUILD_SQL)
