"""The rollup (figures/rollups.py) equals an independent raw-SQL recomputation over the activities, after
random creates, edits, submissions, confirmations, returns, date and pairing moves, deletions, restores,
verifications and a pairing moved to another program, each done the way the portal does it (services, the
admin's save, delete and restore) and committed. Runs on SQLite and PostgreSQL."""

import datetime
import io
import random
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from activities import services
from activities.models import Activity, ServiceRecord
from pairings.models import Metric, Pairing
from portal.models import Organization
from figures import rollups
from figures.models import PairingMonth, PairingMonthMetric, PairingYear, ProgramMonth, ProgramMonthMetric
from tests import factories as f
from activities.services import service_records_verify

pytestmark = pytest.mark.django_db


def dec(value, places="0.01"):
    return Decimal(str(value if value is not None else 0)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def sql(query, params=()):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def month_sql(column):
    """The first day of the month of a date column, as 'YYYY-MM-01' text, in this database's dialect."""
    if connection.vendor == "postgresql":
        return f"to_char({column}, 'YYYY-MM-01')"
    return f"strftime('%%Y-%%m-01', {column})"


# a pairing's counted activities (program-wide ones, of no pairing, count only in their program's months: expected()
# leaves them out, test_rollups_set checks those)
COUNTED = "a.status IN ('submitted', 'confirmed') AND a.deleted_at IS NULL AND a.pairing_id IS NOT NULL"


def expected():
    """Every rollup table as raw SQL over the source rows computes it: {table: {key: values}}."""
    month = month_sql("a.date")
    months = {}
    for pairing, m, n, confirmed, served, members, teachers, students, last in sql(
        f"SELECT a.pairing_id, {month}, COUNT(*), SUM(CASE WHEN a.status = 'confirmed' THEN 1 ELSE 0 END), "
        "SUM(a.residents_served), SUM(a.party_members), SUM(a.teachers), SUM(a.students), MAX(a.date) "
        f"FROM activities_activity a WHERE {COUNTED} GROUP BY a.pairing_id, {month}"
    ):
        months[(pairing, m)] = [n, confirmed, served, members, teachers, students, dec(0, "0.1"), str(last)]
    for pairing, m, hours in sql(
        f"SELECT a.pairing_id, {month}, SUM(r.hours) FROM activities_servicerecord r "
        f"JOIN activities_activity a ON a.id = r.activity_id WHERE {COUNTED} AND r.status = 'verified' "
        f"AND r.deleted_at IS NULL GROUP BY a.pairing_id, {month}"
    ):
        months[(pairing, m)][6] = dec(hours, "0.1")
    metrics = {}
    for pairing, m, metric, total in sql(
        f"SELECT a.pairing_id, {month}, v.metric_id, SUM(v.value) FROM activities_activitymetricvalue v "
        f"JOIN activities_activity a ON a.id = v.activity_id WHERE {COUNTED} GROUP BY a.pairing_id, {month}, v.metric_id"
    ):
        (value, day, activity_id), = sql(
            "SELECT v.value, a.date, a.id FROM activities_activitymetricvalue v JOIN activities_activity a "
            f"ON a.id = v.activity_id WHERE {COUNTED} AND a.pairing_id = %s AND {month} = %s AND v.metric_id = %s "
            "ORDER BY a.date DESC, a.id DESC LIMIT 1",
            [pairing, m, metric],
        )
        metrics[(pairing, m, metric)] = [dec(total), dec(value), str(day), activity_id]
    years = {}
    for (pairing, m), row in months.items():
        year = years.setdefault((pairing, int(m[:4])), [0, 0, 0, 0, 0, 0, dec(0, "0.1"), ""])
        for i in range(7):
            year[i] += row[i]
        year[7] = max(year[7], row[7])
    program_of = dict(sql("SELECT id, program_id FROM pairings_pairing"))
    program_months = {}
    for (pairing, m), row in months.items():
        total = program_months.setdefault((program_of[pairing], m), [0, 0, 0, 0, 0, 0, 0, dec(0, "0.1")])
        total[0] += 1
        for i in range(7):
            total[i + 1] += row[i]
    program_metrics = {}
    for (pairing, m, metric), row in metrics.items():
        total = program_metrics.setdefault((program_of[pairing], m, metric), [dec(0), 0])
        total[0] += row[0]
        total[1] += 1
    return {"months": months, "metrics": metrics, "years": years, "program_months": program_months,
            "program_metrics": program_metrics}


def stored():
    """The rollup tables as they are, in the same shape as expected()."""
    iso = lambda day: day.isoformat()  # noqa: E731
    return {
        "months": {
            (r.pairing_id, iso(r.month)): [r.activities, r.confirmed, r.residents_served, r.party_members, r.teachers,
                                           r.students, dec(r.verified_hours, "0.1"), iso(r.last_activity_on)]
            for r in PairingMonth.objects.all()
        },
        "metrics": {
            (r.pairing_id, iso(r.month), r.metric_id): [dec(r.total), dec(r.latest_value), iso(r.latest_on), r.latest_activity_id]
            for r in PairingMonthMetric.objects.all()
        },
        "years": {
            (r.pairing_id, r.year): [r.activities, r.confirmed, r.residents_served, r.party_members, r.teachers,
                                     r.students, dec(r.verified_hours, "0.1"), iso(r.last_activity_on)]
            for r in PairingYear.objects.all()
        },
        "program_months": {
            (r.program_id, iso(r.month)): [r.pairings, r.activities, r.confirmed, r.residents_served, r.party_members,
                                           r.teachers, r.students, dec(r.verified_hours, "0.1")]
            for r in ProgramMonth.objects.all()
        },
        "program_metrics": {
            (r.program_id, iso(r.month), r.metric_id): [dec(r.total), r.pairings] for r in ProgramMonthMetric.objects.all()
        },
    }


def assert_current(step=""):
    want, have = expected(), stored()
    for table in want:
        assert have[table] == want[table], f"{table} after {step}"


# --------------------------------------------------------------------------------------------------------
# The random walk
# --------------------------------------------------------------------------------------------------------


class Portal:
    """Two pairings of the world's program sharing a branch (so activities can move between them), a third in
    another program, volunteers, metrics; and the portal's own ways of writing."""

    def __init__(self, world, rng):
        self.rng = rng
        self.world = world
        self.secretary = world["users"]["secretary"]
        self.root = world["users"]["superuser"]
        self.branch = world["branch"]
        program = world["program"]
        self.pairing = world["pairing"]
        village2 = f.OrganizationFactory(name="田园村", kind=Organization.Kind.VILLAGE)
        self.pairing2 = f.PairingFactory(program=program, supporter=world["school"], supported=village2)
        f.PairingBranchFactory(pairing=self.pairing2, branch=self.branch)
        self.pairings = [self.pairing, self.pairing2]
        self.metrics = {
            p.pk: [
                f.MetricFactory(program=p, code="repairs", name="维修家电", unit=Metric.Unit.ITEMS),
                f.MetricFactory(program=p, code="area", name="整治面积", unit=Metric.Unit.SQUARE_METRES),
                f.MetricFactory(program=p, code="income", name="人均纯收入", unit=Metric.Unit.YUAN, aggregation="snapshot"),
            ]
            for p in (program, world["other_program"])
        }
        self.volunteers = [f.VolunteerFactory(organization=self.branch, name=f"志愿者{i}") for i in range(6)]
        self.type = f.ActivityTypeFactory()
        self.admin = admin.site._registry[Activity]
        self.request = RequestFactory().post("/admin/")
        self.request.user = self.root

    def day(self):
        return datetime.date(2024, self.rng.randint(1, 12), self.rng.randint(1, 28))

    def fields(self, pairing=None, date=None):
        return services.ActivityFields(
            pairing=pairing or self.rng.choice(self.pairings),
            activity_type=self.type,
            title=f"活动{self.rng.randint(1, 10**6)}",
            date=date or self.day(),
            party_members=self.rng.randint(0, 9),
            teachers=self.rng.randint(0, 5),
            students=self.rng.randint(0, 30),
            residents_served=self.rng.randint(0, 80),
        )

    def metric_values(self, pairing):
        metrics = self.metrics[pairing.program_id]
        chosen = self.rng.sample(metrics, self.rng.randint(0, len(metrics)))
        return [services.MetricEntry(metric=m, value=Decimal(self.rng.randint(1, 20000) if m.code == "income" else self.rng.randint(1, 40))) for m in chosen]

    def hours(self):
        chosen = self.rng.sample(self.volunteers, self.rng.randint(0, 3))
        return [services.HoursEntry(hours=Decimal(self.rng.randint(1, 6)) / 2, volunteer=v) for v in chosen]

    def pick(self, *statuses, deleted=False):
        rows = Activity.all_objects.filter(deleted_at__isnull=not deleted)
        if statuses:
            rows = rows.filter(status__in=statuses)
        rows = list(rows.order_by("pk"))
        return self.rng.choice(rows) if rows else None

    def keep_verified(self, activity):
        """Verified hours may not be removed or changed: carry them over unchanged in an update."""
        return [
            services.HoursEntry(hours=r.hours, volunteer=r.volunteer, content=r.content)
            for r in ServiceRecord.objects.filter(activity=activity, status="verified").select_related("volunteer")
        ]

    # the operations: each returns a label, or None when there was nothing to do it to

    def create(self, submit=None):
        fields = self.fields()
        services.activity_create(
            actor=self.secretary, fields=fields, metric_values=self.metric_values(fields.pairing),
            service_records=self.hours(), submit=self.rng.random() < 0.7 if submit is None else submit,
        )
        return "create"

    def edit(self):
        """The branch corrects a draft or returned activity: figures, hours, perhaps another date or pairing."""
        activity = self.pick("draft", "returned")
        if activity is None:
            return None
        verified = self.keep_verified(activity)
        kept = {entry.volunteer.pk for entry in verified}
        hours = verified + [h for h in self.hours() if h.volunteer.pk not in kept]
        fields = self.fields()
        services.activity_update(
            activity=activity, actor=self.secretary, fields=fields, metric_values=self.metric_values(fields.pairing),
            service_records=hours, submit=self.rng.random() < 0.5,
        )
        return "edit"

    def move(self):
        """The program admin moves a counted activity to another month or pairing, with new figures."""
        activity = self.pick("submitted", "confirmed")
        if activity is None:
            return None
        fields = self.fields(
            pairing=self.rng.choice(self.pairings),
            date=self.day() if self.rng.random() < 0.8 else activity.date.replace(day=1 + activity.date.day % 28),
        )
        services.activity_update(
            activity=activity, actor=self.root, fields=fields, metric_values=self.metric_values(fields.pairing),
            service_records=self.keep_verified(activity),
            correction_reason="核对后更正",  # a confirmed one goes back to the village: confirmed → submitted
        )
        return "move"

    def submit(self):
        activity = self.pick("draft", "returned")
        if activity is None:
            return None
        services.activity_submit(activity=activity, actor=self.secretary)
        return "submit"

    def confirm(self):
        activity = self.pick("submitted")
        if activity is None:
            return None
        services.activity_confirm(activity=activity, actor=self.root)
        return "confirm"

    def give_back(self):
        activity = self.pick("submitted")
        if activity is None:
            return None
        services.activity_return(activity=activity, actor=self.root, comment="请补充照片")
        return "return"

    def verify(self):
        # every choice from a list in a fixed order, so a seed replays the same run on either database
        pks = list(ServiceRecord.objects.filter(status="recorded").order_by("pk").values_list("pk", flat=True))
        if not pks:
            return None
        chosen = self.rng.sample(pks, min(3, len(pks)))
        service_records_verify(records=ServiceRecord.objects.filter(pk__in=chosen), actor=self.secretary)
        return "verify"

    def delete(self):
        activity = self.pick()
        if activity is None:
            return None
        self.admin.delete_model(self.request, activity)  # the admin's delete is soft
        return "delete"

    def restore(self):
        activity = self.pick(deleted=True)
        if activity is None:
            return None
        self.admin.restore(self.request, Activity.all_objects.filter(pk=activity.pk))
        return "restore"

    def hard_delete_record(self):
        """The admin's inline deletes a service record for good (verified ones too)."""
        records = list(ServiceRecord.all_objects.order_by("pk"))
        if not records:
            return None
        self.rng.choice(records).delete()
        return "delete record"

    def switch_program(self):
        """The program admin moves the second pairing to another program (its rows follow it)."""
        self.pairing2.program = self.world["other_program"] if self.pairing2.program_id == self.world["program"].pk else self.world["program"]
        self.pairing2.save()
        return "switch program"


OPERATIONS = [
    ("create", 6), ("edit", 3), ("move", 3), ("submit", 2), ("confirm", 3), ("give_back", 1), ("verify", 2),
    ("delete", 2), ("restore", 2), ("hard_delete_record", 1),
]


@pytest.mark.parametrize("seed", [1, 2])
def test_random_changes_keep_the_rollup_equal_to_raw_sql(world, django_capture_on_commit_callbacks, seed):
    rng = random.Random(seed)
    portal = Portal(world, rng)
    names = [name for name, weight in OPERATIONS for _ in range(weight)]
    # a fixed tour first, so every kind of write happens whatever the seed draws; then random ones
    tour = [
        ("create", {"submit": False}), ("create", {"submit": False}), ("create", {"submit": True}),
        ("create", {"submit": True}), ("submit", {}), ("edit", {}), ("confirm", {}), ("give_back", {}),
        ("verify", {}), ("move", {}), ("delete", {}), ("restore", {}),
    ]
    done = defaultdict(int)
    for step in range(70):
        name, kwargs = tour[step] if step < len(tour) else (rng.choice(names), {})
        if step in (35, 55):
            name = "switch_program"
        with django_capture_on_commit_callbacks(execute=True):  # the request's transaction commits
            label = getattr(portal, name)(**kwargs)
        if label:
            done[label] += 1
        assert_current(f"step {step} ({label})")
    assert set(done) >= {"create", "edit", "move", "submit", "confirm", "verify", "delete", "restore", "switch program"}, done
    assert PairingMonth.objects.count() > 5 and PairingMonthMetric.objects.count() > 5 and ProgramMonth.objects.count() > 5


def test_nothing_is_refreshed_before_the_commit_and_a_rollback_refreshes_nothing(world, django_capture_on_commit_callbacks):
    from django.db import transaction

    portal = Portal(world, random.Random(3))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        portal.create()
    refreshes = [c for c in callbacks if isinstance(getattr(c, "__self__", None), rollups.PendingRefresh)]
    # one refresh per transaction, after it (the other callbacks replace cached values' versions)
    assert PairingMonth.objects.count() == 0 and len(refreshes) == 1
    refreshes[0]()
    assert_current("the commit")
    before = stored()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                portal.create()
                raise RuntimeError("the request fails")
        except RuntimeError:
            pass
    assert callbacks == [] and stored() == before


def test_one_refresh_per_transaction_whatever_it_wrote(world, django_capture_on_commit_callbacks):
    portal = Portal(world, random.Random(4))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        for _ in range(5):
            portal.create()
    refreshes = [c for c in callbacks if isinstance(getattr(c, "__self__", None), rollups.PendingRefresh)]
    assert len(refreshes) == 1 and PairingMonth.objects.exists()  # (the others replace the cached figures' version)
    assert_current()


def test_an_activity_moved_to_another_month_leaves_the_old_month(world, django_capture_on_commit_callbacks):
    portal = Portal(world, random.Random(5))
    with django_capture_on_commit_callbacks(execute=True):
        result = services.activity_create(
            actor=portal.secretary, fields=portal.fields(pairing=portal.pairing, date=datetime.date(2024, 3, 5)), submit=True
        )
    assert list(PairingMonth.objects.values_list("month", flat=True)) == [datetime.date(2024, 3, 1)]
    with django_capture_on_commit_callbacks(execute=True):
        services.activity_update(
            activity=result.activity, actor=portal.root, fields=portal.fields(pairing=portal.pairing2, date=datetime.date(2024, 7, 9))
        )
    assert list(PairingMonth.objects.values_list("pairing_id", "month")) == [(portal.pairing2.pk, datetime.date(2024, 7, 1))]
    assert list(ProgramMonth.objects.values_list("month", flat=True)) == [datetime.date(2024, 7, 1)]
    assert_current()


def test_a_corrected_confirmed_activity_still_counts_but_no_longer_as_confirmed(world, django_capture_on_commit_callbacks):
    """Confirmed means confirmed: the admin's correction sends it back to the village (confirmed → submitted)."""
    portal = Portal(world, random.Random(6))
    march = datetime.date(2024, 3, 1)
    with django_capture_on_commit_callbacks(execute=True):
        activity = services.activity_create(
            actor=portal.secretary, fields=portal.fields(pairing=portal.pairing, date=datetime.date(2024, 3, 5)), submit=True
        ).activity
        services.activity_confirm(activity=activity, actor=world["users"]["village"])
    assert PairingMonth.objects.values_list("activities", "confirmed").get(month=march) == (1, 1)
    fields = portal.fields(pairing=portal.pairing, date=datetime.date(2024, 3, 5))
    fields.residents_served = activity.residents_served + 5
    with django_capture_on_commit_callbacks(execute=True):
        services.activity_update(activity=activity, actor=portal.root, fields=fields, correction_reason="核对签到表")
    assert PairingMonth.objects.values_list("activities", "confirmed").get(month=march) == (1, 0)
    assert_current()


def test_refresh_of_one_month_is_a_fixed_number_of_queries(world, django_capture_on_commit_callbacks):
    portal = Portal(world, random.Random(6))
    counts = []
    for size in (1, 12):
        with django_capture_on_commit_callbacks(execute=True):
            for _ in range(size):
                services.activity_create(
                    actor=portal.secretary, fields=portal.fields(pairing=portal.pairing, date=datetime.date(2024, 5, 5)),
                    metric_values=portal.metric_values(portal.pairing), service_records=portal.hours(), submit=True,
                )
        with CaptureQueriesContext(connection) as captured:
            rollups.rollup_refresh(pairing_id=portal.pairing.pk, month=datetime.date(2024, 5, 1))
        counts.append(len(captured))
    assert counts[0] == counts[1] <= 22, counts


def test_rebuild_recomputes_what_was_written_behind_the_portals_back_and_a_second_run_writes_nothing(world):
    portal = Portal(world, random.Random(7))
    for _ in range(8):
        portal.create()  # no commit hooks run here: the rollup is behind
    Activity.all_objects.filter(pk=Activity.all_objects.order_by("pk").first().pk).update(residents_served=777)
    out = io.StringIO()
    assert not PairingMonth.objects.exists()
    call_command("rebuild_rollups", stdout=out)
    assert "rows written" in out.getvalue()
    assert PairingMonth.objects.exists()
    assert_current("rebuild")
    assert rollups.rollups_rebuild().written == 0
    call_command("rebuild_rollups", "--year", "2024", stdout=io.StringIO())
    assert_current("rebuild of a year")


def test_rebuild_of_one_year_leaves_other_years_alone(world):
    portal = Portal(world, random.Random(8))
    for year in (2023, 2024):
        services.activity_create(
            actor=portal.secretary, fields=portal.fields(pairing=portal.pairing, date=datetime.date(year, 6, 1)), submit=True
        )
    rollups.rollups_rebuild(year=2024)
    assert set(PairingYear.objects.values_list("year", flat=True)) == {2024}
    rollups.rollups_rebuild()
    assert set(PairingYear.objects.values_list("year", flat=True)) == {2023, 2024}
    assert_current()


def test_rebuild_refuses_an_absurd_year(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("rebuild_rollups", "--year", "1890", stdout=io.StringIO())


def test_outside_a_transaction_the_refresh_is_immediate(transactional_db, world):
    portal = Portal(world, random.Random(9))
    portal.create()
    assert_current()
    activity = Activity.objects.first()
    activity.residents_served += 5
    activity.save()
    assert_current()
    assert Pairing.objects.count() == 3


def test_a_failing_refresh_leaves_the_write_standing_and_is_logged(world, django_capture_on_commit_callbacks, monkeypatch, caplog):
    portal = Portal(world, random.Random(10))

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(rollups, "rollups_refresh", broken)
    with django_capture_on_commit_callbacks(execute=True):
        services.activity_create(actor=portal.secretary, fields=portal.fields(pairing=portal.pairing), submit=True)
    assert Activity.objects.filter(status="submitted").count() == 1 and PairingMonth.objects.count() == 0
    assert "database went away" in caplog.text
    monkeypatch.undo()
    call_command("rebuild_rollups", stdout=io.StringIO())  # what the log tells the operator to run
    assert PairingMonth.objects.count() == 1
    assert_current()
