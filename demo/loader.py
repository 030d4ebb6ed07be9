"""The demo: the four pairing programs of the seed texts (``shared/seeds/000``–``003``) as real records.

The data lives in ``demo/data/*.toml``; this module reads it and writes it to the database. Dates in the data
are relative to the day the demo is loaded (see :class:`Calendar`): the seeds' events fill the two complete
years before this one, so their figures (``seed_figures.toml``) stay exact whatever the day, and this year runs
up to today, with work in hand in the current month.

Loading is idempotent: every row has a natural key, and a second run on the same day finds every row equal and
writes nothing (no row, no history row). Rows the data no longer holds (a year that moved out of the window)
are removed. It refuses a database holding anything that is not demo data, and production mode.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import random
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.utils import timezone
from PIL import Image, ImageDraw
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from activities.images import clean_photo
from activities.models import (
    ActionItem, Activity, ActivityMetricValue, ActivityPhoto, ActivityType, Meeting, MeetingAttendee, Need, ServiceRecord,
)
from activities.services import NewPhoto, activity_photos_add
from pairings.models import (
    JointPlan, Liaison, Metric, Pairing, PairingBranch, PlanItem, PlanTarget, Program, VillageIndicator, VillageStatistic,
)
from portal.models import Membership, Organization, User
from figures.rollups import rollups_rebuild
from volunteers.models import ServiceOffering, Team, Volunteer

DATA = Path(__file__).resolve().parent / "data"
ACTIVITY_FILES = ("slsz", "dyjsq", "djgtt", "ljsz")

# A fixed salt makes the demo password's hash the same on every run, so a second run can see that nothing
# changed without hashing again. The password is public anyway (settings.PORTAL_DEMO_PASSWORD).
DEMO_PASSWORD_SALT = "DemoDataOnlyFixedSalt2024"
DEMO_EMAIL_DOMAIN = "demo.invalid"

COUNTED = (Activity.Status.SUBMITTED, Activity.Status.CONFIRMED)
TYPE_TIMES = {
    "joint-meeting": ("09:30", "11:30"),
    "lecture": ("15:00", "16:30"),
    "theme-party-day": ("09:00", "11:30"),
    "skills-training": ("14:30", "17:00"),
    "culture": ("14:30", "16:30"),
    "visit-survey": ("09:00", "12:00"),
    "mediation": ("15:00", "17:00"),
}
DEFAULT_TIMES = ("09:00", "12:00")
DEFAULT_PLACE = {
    "LS": "龙石村党群服务中心",
    "GK": "港口镇新时代文明实践所",
    "TX": "田心村党群服务中心",
    "XY": "西阳镇人民政府",
    "JN": "江南街道党群服务中心",
    "HML": "和睦里社区新时代文明实践站",
    "YZC": "尹兆场社区党群服务中心",
}
HOUR_STEPS = (Decimal("0"), Decimal("0.5"), Decimal("1.0"), Decimal("1.5"))


class DemoRefused(Exception):
    """The database holds data that is not demo data (or the portal runs in production mode)."""


# --------------------------------------------------------------------------------------------------------
# The data files and their dates
# --------------------------------------------------------------------------------------------------------


def read(name):
    with (DATA / name).open("rb") as handle:
        return tomllib.load(handle)


def activity_entries():
    """Every activity of the data files, in file order (the order picks who served, so it is part of the data)."""
    return [entry for name in ACTIVITY_FILES for entry in read(f"activities/{name}.toml")["activity"]]


@dataclass(frozen=True)
class Calendar:
    """Turns the data's relative dates into dates and moments, for the day the demo is loaded.

    ``"Y-1/03-16"`` is 16 March last year, ``"Y/03-16"`` this year (None while that day is still to come),
    ``"today-5"`` five days ago but not before the 1st of this month. Moments never pass ``now``: the demo
    holds nothing that has not happened yet.
    """

    today: datetime.date
    now: datetime.datetime

    @classmethod
    def current(cls):
        return cls(today=timezone.localdate(), now=timezone.localtime())

    def year(self, text):
        offset = text.removeprefix("Y")
        return self.today.year + (int(offset) if offset else 0)

    def date(self, text):
        if text.startswith("today-"):
            day = self.today - datetime.timedelta(days=int(text.removeprefix("today-")))
            return max(day, self.today.replace(day=1))
        year, month_day = text.split("/")
        month, day = map(int, month_day.split("-"))
        if month == 2 and day == 29:  # not every year has one
            day = 28
        result = datetime.date(self.year(year), month, day)
        return None if result > self.today else result

    def month_end(self):
        following = (self.today.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        return following - datetime.timedelta(days=1)

    def moment(self, day, hhmm="09:00"):
        hour, minute = map(int, hhmm.split(":"))
        moment = datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.now.tzinfo)
        return min(moment, self.now)


@dataclass(frozen=True)
class SeedFigure:
    """A figure a seed quotes, the number chosen for it, and how many activities carry it."""

    program: str  # Program.code
    metric: str  # Metric.code
    value: int
    seed: str  # which seed text says so
    quote: str  # what it says
    events: int | None = None
    note: str = ""


@dataclass(frozen=True)
class SeedStatistic:
    """A village statistic a seed reports for a calendar year: the village's own record, carried by no activity."""

    village: str  # organisation key
    indicator: str  # VillageIndicator.code
    name: str
    unit: str
    value: int
    seed_year: int  # the year the seed names
    as_at: str  # the relative day it stands at (the end of the year the seed's year is placed in)
    source: str
    seed: str
    quote: str
    note: str = ""


def seed_figures():
    return [SeedFigure(**row) for row in read("seed_figures.toml")["figure"]]


def seed_statistics():
    return [SeedStatistic(**row) for row in read("seed_figures.toml")["statistic"]]


def seed_years(today):
    """The calendar years the seeds' events are placed in (the two complete years before ``today``'s)."""
    calendar = Calendar(today=today, now=timezone.now())
    return [calendar.year(text) for text in read("seed_figures.toml")["seed_years"]]


def demo_usernames():
    return [user["username"] for user in read("users.toml")["user"]]


# --------------------------------------------------------------------------------------------------------
# Idempotent writes
# --------------------------------------------------------------------------------------------------------


@dataclass
class Stats:
    created: int = 0
    updated: int = 0
    deleted: int = 0


def _has_history(model):
    return hasattr(model._meta, "simple_history_manager_attribute")


@dataclass
class Demo:
    """What one run has loaded so far, by the data's keys, and what it changed per model."""

    calendar: Calendar
    stats: dict = field(default_factory=lambda: defaultdict(Stats))
    orgs: dict = field(default_factory=dict)  # key → Organization
    users: dict = field(default_factory=dict)  # username → User
    village_user: dict = field(default_factory=dict)  # organisation key → its village-committee User
    office_user: dict = field(default_factory=dict)  # office key → the admin who confirms its program-wide work
    program_office: dict = field(default_factory=dict)  # program code → its office's key
    programs: dict = field(default_factory=dict)  # code → Program
    metrics: dict = field(default_factory=dict)  # (program code, metric code) → Metric
    types: dict = field(default_factory=dict)  # data code → ActivityType
    pairings: dict = field(default_factory=dict)  # key → Pairing
    pairing_data: dict = field(default_factory=dict)  # key → its entry in pairings.toml
    plans: dict = field(default_factory=dict)  # (pairing key, year) → JointPlan
    volunteers: dict = field(default_factory=dict)  # (org key, name) → Volunteer
    volunteer_kind: dict = field(default_factory=dict)  # (org key, name) → (kind, note)
    team_members: dict = field(default_factory=dict)  # team key → [(org key, name)]
    teams: dict = field(default_factory=dict)  # team key → Team
    needs: dict = field(default_factory=dict)  # (pairing key, title) → Need

    def sync(self, model, key, rows, *, prune_within=None):
        """Make ``model`` hold ``rows`` (dicts of attname → value), matched on the attnames in ``key``.

        Equal rows are left alone, so a second run writes nothing. With ``prune_within`` (attname, ids), or a Q
        naming the demo's own rows, rows under those parents that ``rows`` does not hold are deleted. Returns
        {key tuple: instance}.
        """
        # The base manager sees soft-deleted rows too: a demo row deleted in the portal is restored, and where
        # a live row shares its key with a deleted one, the live one is kept (it comes last).
        manager = model._base_manager
        soft_delete = any(f.name == "deleted_at" for f in model._meta.fields)
        queryset = manager.all()
        if isinstance(prune_within, models.Q):
            queryset = queryset.filter(prune_within)
        elif prune_within:
            queryset = queryset.filter(**{f"{prune_within[0]}__in": prune_within[1]})
        if soft_delete:
            queryset = queryset.order_by(models.F("deleted_at").desc(nulls_last=True), "pk")
        existing = {tuple(getattr(obj, f) for f in key): obj for obj in queryset}
        result, to_create, to_update, changed = {}, [], [], set()
        for row in rows:
            if soft_delete:
                row = {**row, "deleted_at": None}
            k = tuple(row[f] for f in key)
            if k in result:
                raise ValueError(f"demo data: duplicate {model.__name__} {k}")
            obj = existing.get(k)
            if obj is None:
                obj = model(**row)
                to_create.append(obj)
            else:
                diff = [f for f, v in row.items() if getattr(obj, f) != v]
                for f in diff:
                    setattr(obj, f, row[f])
                if diff:
                    to_update.append(obj)
                    changed.update(diff)
            result[k] = obj
        stats = self.stats[model]
        if to_create:
            if _has_history(model):
                bulk_create_with_history(to_create, model, batch_size=500)
            else:
                manager.bulk_create(to_create, batch_size=500)
            if any(obj.pk is None for obj in to_create):  # SQLite >= 3.35 and PostgreSQL return the ids
                raise RuntimeError(f"bulk_create did not return the ids of the new {model.__name__} rows")
            stats.created += len(to_create)
        if to_update:
            if _has_history(model):
                bulk_update_with_history(to_update, model, sorted(changed), batch_size=500, manager=manager)
            else:
                manager.bulk_update(to_update, sorted(changed), batch_size=500)
            stats.updated += len(to_update)
        if prune_within:
            stale = [obj.pk for k, obj in existing.items() if k not in result]
            if stale:
                manager.filter(pk__in=stale).delete()
                stats.deleted += len(stale)
        return result

    def sync_m2m(self, through, owner_attname, target_attname, pairs, owner_ids):
        existing = set(
            through.objects.filter(**{f"{owner_attname}__in": owner_ids}).values_list(owner_attname, target_attname)
        )
        wanted = set(pairs)
        missing = sorted(wanted - existing)
        stale = existing - wanted
        if missing:
            through.objects.bulk_create([through(**{owner_attname: a, target_attname: b}) for a, b in missing])
        for a, b in stale:
            through.objects.filter(**{owner_attname: a, target_attname: b}).delete()
        self.stats[through].created += len(missing)
        self.stats[through].deleted += len(stale)


# --------------------------------------------------------------------------------------------------------
# The refusal
# --------------------------------------------------------------------------------------------------------


def check_demo_only():
    """Raise DemoRefused, naming what it found, when the database holds anything the demo does not."""
    orgs = read("organisations.toml")["organisation"]
    names = {org["key"]: org["name"] for org in orgs}
    demo_orgs = {(org["name"], names.get(org.get("parent"))) for org in orgs}
    problems = []
    for name, parent_name in Organization.objects.values_list("name", "parent__name"):
        if (name, parent_name) not in demo_orgs:
            problems.append(f"organisation “{name}”" + (f" (under “{parent_name}”)" if parent_name else ""))
    demo_users = {username: f"{username}@{DEMO_EMAIL_DOMAIN}" for username in demo_usernames()}
    for username, email in User.objects.values_list("username", "email"):
        if demo_users.get(username) != email:
            problems.append(f"user “{username}”")
    demo_programs = {(p["code"], p["name"]) for p in read("programs.toml")["program"]}
    for code, name in Program.objects.values_list("code", "name"):
        if (code, name) not in demo_programs:
            problems.append(f"program “{name}” ({code})")
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise DemoRefused(
            "load_demo refuses to run: this database holds data that is not demo data "
            f"({shown}). Load the demo only into an empty database or one that holds the demo alone; "
            "nothing was written."
        )


# --------------------------------------------------------------------------------------------------------
# The steps, in the order of the dependencies
# --------------------------------------------------------------------------------------------------------


def load_organisations(demo):
    orgs = read("organisations.toml")["organisation"]
    by_key = {org["key"]: org for org in orgs}

    def depth(key):
        parent = by_key[key].get("parent")
        return 0 if parent is None else depth(parent) + 1

    # Level by level, so each parent has its id before its children are written.
    for level in range(max(depth(k) for k in by_key) + 1):
        level_orgs = [org for org in orgs if depth(org["key"]) == level]
        rows = [
            {
                "parent_id": demo.orgs[org["parent"]].pk if org.get("parent") else None,
                "name": org["name"], "short_name": org.get("short_name", ""), "kind": org["kind"],
                "address": org.get("address", ""), "contact_name": org.get("contact_name", ""),
                "contact_phone": org.get("contact_phone", ""), "is_active": True,
            }
            for org in level_orgs
        ]
        synced = demo.sync(Organization, ("parent_id", "name"), rows)
        for org, row in zip(level_orgs, rows, strict=True):
            demo.orgs[org["key"]] = synced[(row["parent_id"], row["name"])]


def load_users(demo):
    users = read("users.toml")["user"]
    password = settings.PORTAL_DEMO_PASSWORD
    demo_hash = make_password(password, DEMO_PASSWORD_SALT)
    current = dict(User.objects.filter(username__in=[u["username"] for u in users]).values_list("username", "password"))
    rows = []
    for user in users:
        encoded = current.get(user["username"])
        # Keep an equivalent hash (e.g. one upgraded at login) rather than rewriting it every run.
        if encoded is None or (encoded != demo_hash and not check_password(password, encoded)):
            encoded = demo_hash
        superuser = user.get("superuser", False)
        rows.append({
            "username": user["username"], "full_name": user["full_name"],
            "email": f"{user['username']}@{DEMO_EMAIL_DOMAIN}", "phone": user["phone"],
            "is_staff": superuser, "is_superuser": superuser, "is_active": True, "password": encoded,
        })
    synced = demo.sync(User, ("username",), rows)
    demo.users = {key[0]: u for key, u in synced.items()}
    demo.sync(
        Membership,
        ("user_id", "organization_id", "role"),
        [
            {"user_id": demo.users[u["username"]].pk, "organization_id": demo.orgs[u["organisation"]].pk,
             "role": u["role"], "title": u["title"]}
            for u in users
        ],
    )
    demo.village_user = {
        u["organisation"]: demo.users[u["username"]] for u in users if u["role"] == Membership.Role.VILLAGE_COMMITTEE
    }
    # who confirms a program-wide activity (it serves no village): an admin of the program's office, the office's
    # own staff before a superuser
    demo.office_user = {}
    for u in sorted(users, key=lambda u: bool(u.get("superuser"))):
        if u["role"] == Membership.Role.ADMIN:
            demo.office_user.setdefault(u["organisation"], demo.users[u["username"]])


def load_programs(demo):
    programs = read("programs.toml")
    synced = demo.sync(
        Program,
        ("code",),
        [
            {"code": p["code"], "name": p["name"], "office_id": demo.orgs[p["office"]].pk,
             "description": p["description"], "monthly_reports": True, "quarterly_reports": True, "is_active": True}
            for p in programs["program"]
        ],
    )
    demo.programs = {key[0]: program for key, program in synced.items()}
    demo.program_office = {p["code"]: p["office"] for p in programs["program"]}
    rows = [
        {"program_id": demo.programs[p["code"]].pk, "code": m["code"], "name": m["name"], "unit": m["unit"],
         "aggregation": m["aggregation"], "description": m.get("description", ""), "order": order}
        for p in programs["program"]
        for order, m in enumerate(p["metric"], start=1)
    ]
    synced = demo.sync(Metric, ("program_id", "code"), rows)
    code_of = {program.pk: code for code, program in demo.programs.items()}
    demo.metrics = {(code_of[pid], mcode): metric for (pid, mcode), metric in synced.items()}
    # The type catalog may be seeded elsewhere (a migration, the admin): a type of the same name is reused under
    # its own code, and types the demo does not know are left alone.
    code_of_name = dict(ActivityType.objects.filter(program__isnull=True).values_list("name", "code"))
    types = programs["activity_type"]
    codes = {t["code"]: code_of_name.get(t["name"], t["code"]) for t in types}
    synced = demo.sync(
        ActivityType,
        ("program_id", "code"),
        [
            {"program_id": None, "code": codes[t["code"]], "name": t["name"], "order": i, "is_active": True}
            for i, t in enumerate(types, 1)
        ],
    )
    demo.types = {t["code"]: synced[(None, codes[t["code"]])] for t in types}


def load_pairings(demo):
    pairings = read("pairings.toml")["pairing"]
    date = demo.calendar.date
    rows = []
    for p in pairings:
        start, end = p["term"]
        rows.append({
            "program_id": demo.programs[p["program"]].pk, "supporter_id": demo.orgs[p["supporter"]].pk,
            "supported_id": demo.orgs[p["supported"]].pk, "status": Pairing.Status.ACTIVE,
            "signed_on": date(p["signed"]), "term_start": date(start), "term_end": _future_date(demo.calendar, end),
            "goals": p["goals"],
        })
    synced = demo.sync(Pairing, ("program_id", "supporter_id", "supported_id"), rows)
    for p, row in zip(pairings, rows, strict=True):
        demo.pairings[p["key"]] = synced[(row["program_id"], row["supporter_id"], row["supported_id"])]
        demo.pairing_data[p["key"]] = p
    pairing_ids = [p.pk for p in demo.pairings.values()]
    demo.sync(
        PairingBranch,
        ("pairing_id", "branch_id"),
        [
            {"pairing_id": demo.pairings[p["key"]].pk, "branch_id": demo.orgs[b].pk, "joined_on": date(p["signed"])}
            for p in pairings
            for b in p["branches"]
        ],
        prune_within=("pairing_id", pairing_ids),
    )
    demo.sync(
        Liaison,
        ("pairing_id", "side", "name"),
        [
            {"pairing_id": demo.pairings[p["key"]].pk, "side": li["side"], "name": li["name"], "title": li["title"],
             "phone": li["phone"], "email": li.get("email", ""),
             "user_id": demo.users[li["user"]].pk if li.get("user") else None}
            for p in pairings
            for li in p["liaison"]
        ],
    )


def _future_date(calendar, text):
    """A date that may lie after today (a term's end): Calendar.date gives None for those."""
    year, month_day = text.split("/")
    month, day = map(int, month_day.split("-"))
    return datetime.date(calendar.year(year), month, day)


def load_village_statistics(demo):
    """The seeds' village statistics as the villages' own records, as at their relative day, recorded by the
    village's committee member that day. The indicators they use are the registry's (seeded by a migration);
    the demo makes sure they are there."""
    statistics = seed_statistics()
    indicators = demo.sync(
        VillageIndicator,
        ("code",),
        [{"code": code, "name": name, "unit": unit} for code, (name, unit) in
         {s.indicator: (s.name, s.unit) for s in statistics}.items()],
    )
    rows = []
    for statistic in statistics:
        day = demo.calendar.date(statistic.as_at)
        if day is None:
            raise ValueError(f"demo data: the statistic {statistic.name} stands at a day still to come")
        recorder = demo.village_user.get(statistic.village)
        rows.append({
            "village_id": demo.orgs[statistic.village].pk, "indicator_id": indicators[(statistic.indicator,)].pk,
            "as_at": day, "value": Decimal(str(statistic.value)),
            "source": statistic.source.replace("{year}", str(day.year)),
            "recorded_by_id": recorder.pk if recorder else None, "recorded_at": demo.calendar.moment(day, "17:00"),
        })
    demo.sync(
        VillageStatistic,
        ("village_id", "indicator_id", "as_at"),
        rows,
        prune_within=("village_id", [demo.orgs[key].pk for key in {p["supported"] for p in demo.pairing_data.values()}]),
    )


def load_volunteers(demo):
    data = read("volunteers.toml")
    rows, order = [], 0
    for group in data["volunteers"]:
        for name in group["names"]:
            order += 1
            key = (group["organisation"], name)
            demo.volunteer_kind[key] = (group["kind"], group.get("note", ""))
            rows.append({
                "organization_id": demo.orgs[group["organisation"]].pk, "name": name, "kind": group["kind"],
                "is_party_member": group["party_member"],
                # Students are young people: no phone number is kept for them.
                "phone": "" if group["kind"] == Volunteer.Kind.STUDENT else _fake_phone(order),
                "note": group.get("note", ""), "is_active": True,
            })
    synced = demo.sync(Volunteer, ("organization_id", "name"), rows)
    org_key = {org.pk: key for key, org in demo.orgs.items()}
    demo.volunteers = {(org_key[oid], name): v for (oid, name), v in synced.items()}

    team_rows = []
    for team in data["team"]:
        chosen = []
        for spec in team["members"]:
            pool = [
                key for key, (kind, note) in demo.volunteer_kind.items()
                if key[0] == spec["organisation"]
                and spec.get("kind", kind) == kind
                and spec.get("note", note) == note
            ]
            chosen += pool[: spec["count"]]
        demo.team_members[team["key"]] = chosen
        team_rows.append({
            "organization_id": demo.orgs[team["organisation"]].pk, "name": team["name"],
            "description": team["description"], "leader_id": demo.volunteers[chosen[0]].pk,
            "founded_on": datetime.date.fromisoformat(team["founded"]), "is_active": True,
        })
    synced = demo.sync(Team, ("organization_id", "name"), team_rows)
    for team, row in zip(data["team"], team_rows, strict=True):
        demo.teams[team["key"]] = synced[(row["organization_id"], row["name"])]
    demo.sync_m2m(
        Team.members.through, "team_id", "volunteer_id",
        [(demo.teams[k].pk, demo.volunteers[v].pk) for k, members in demo.team_members.items() for v in members],
        [t.pk for t in demo.teams.values()],
    )
    demo.sync(
        ServiceOffering,
        ("team_id", "name"),
        [
            {"team_id": demo.teams[team["key"]].pk, "name": o["name"], "description": o.get("description", ""),
             "is_active": True}
            for team in data["team"]
            for o in team.get("offers", [])
        ],
    )


def _fake_phone(n):
    """A well-formed but fake mobile number (11 digits, a real-looking 13x/15x/18x prefix)."""
    prefix = ("138", "139", "137", "136", "135", "158", "159", "186", "188", "150")[n % 10]
    return f"{prefix}{(n * 7919 + 20240917) % 10**8:08d}"


def load_plans(demo):
    """The joint plans; their items are written with the activities (this year's statuses come from them)."""
    plans = read("plans.toml")["plan"]
    rows = []
    for plan in plans:
        key, year = plan["pairing"], demo.calendar.year(plan["year"])
        supporter, supported = demo.orgs[demo.pairing_data[key]["supporter"]], demo.orgs[demo.pairing_data[key]["supported"]]
        signed = demo.pairings[key].signed_on
        village_user = demo.village_user.get(demo.pairing_data[key]["supported"])
        rows.append({
            "pairing_id": demo.pairings[key].pk, "year": year,
            "title": f"{year}年度{supporter.short_name or supporter.name}—{supported.short_name or supported.name}结对共建计划",
            "summary": f"{year}年度项目实施清单:明确责任支部、村(社区)对接人、目标和完成时限,按月提示、按季调度。",
            "village_agreed_on": min(max(datetime.date(year, 1, 20), signed + datetime.timedelta(days=14)), demo.calendar.today),
            "village_agreed_by_id": village_user.pk if village_user else None,
        })
    synced = demo.sync(
        JointPlan, ("pairing_id", "year"), rows, prune_within=("pairing_id", [p.pk for p in demo.pairings.values()])
    )
    for plan, row in zip(plans, rows, strict=True):
        demo.plans[(plan["pairing"], row["year"])] = synced[(row["pairing_id"], row["year"])]


def load_needs(demo, answering):
    """The needs; a fulfilled one takes its time and its rating's from the activity that answered it."""
    calendar = demo.calendar
    rows, keys = [], []
    for need in read("needs.toml")["need"]:
        key = (need["pairing"], need["title"])
        raised = calendar.date(need["raised"])
        claimed = calendar.date(need["claimed"]) if need.get("claimed") else None
        fulfilled_at = rated_at = None
        if need["status"] == Need.Status.FULFILLED:
            activity = answering.get(key)
            if activity is None:
                raise ValueError(f"demo data: fulfilled need {key} has no activity")
            fulfilled_at = calendar.moment(activity["day"], activity["end"])
            rated_at = calendar.moment(activity["day"] + datetime.timedelta(days=2), "10:00")
        village_user = demo.village_user.get(demo.pairing_data[need["pairing"]]["supported"])
        rows.append({
            "pairing_id": demo.pairings[need["pairing"]].pk, "title": need["title"],
            "description": need.get("description", need["title"]), "category": need["category"],
            "wanted_by": need["wanted_by"], "mask_wanted_by": need.get("mask_wanted_by", False),
            "status": need["status"], "raised_by_id": village_user.pk if village_user else None,
            "raised_at": calendar.moment(raised, "09:30"),
            "claimed_by_branch_id": demo.orgs[need["claimed_by"]].pk if need.get("claimed_by") else None,
            "claimed_at": calendar.moment(claimed, "15:00") if claimed else None,
            "fulfilled_at": fulfilled_at, "rated_at": rated_at,
            "rating": need.get("rating") if fulfilled_at else None,
            "rating_comment": need.get("rating_comment", "") if fulfilled_at else "",
        })
        keys.append(key)
    synced = demo.sync(Need, ("pairing_id", "title"), rows)
    for key, row in zip(keys, rows, strict=True):
        demo.needs[key] = synced[(row["pairing_id"], row["title"])]


@dataclass
class PlannedActivity:
    """An activity of the data files resolved for today: the row to write and what goes with it."""

    entry: dict
    row: dict
    day: datetime.date
    volunteers: list
    plan_item: tuple | None  # (pairing key, year, item title)


def plan_activities(demo, entries):
    """The activities that have happened by today, resolved; the ones still to come this year are left out."""
    calendar = demo.calendar
    secretaries = {"zszz_b3": "secretary3", "zszz_b4": "secretary4"}
    school_units = {org["key"] for org in read("organisations.toml")["organisation"] if org.get("parent") == "zszz"}
    planned = []
    for index, entry in enumerate(entries):
        day = calendar.date(entry["date"])
        if day is None:
            continue
        key = entry.get("pairing")  # None: program-wide, work for the program that serves no paired village
        program = program_code(demo, entry)
        start, end = entry["time"].split("-") if entry.get("time") else TYPE_TIMES.get(entry["type"], DEFAULT_TIMES)
        status = entry.get("status", Activity.Status.CONFIRMED)
        submitted_at = None if status == Activity.Status.DRAFT else calendar.moment(day + datetime.timedelta(days=1), "20:30")
        confirmed = status == Activity.Status.CONFIRMED
        confirmer = (
            demo.village_user[demo.pairing_data[key]["supported"]] if key
            else demo.office_user[demo.program_office[program]]
        )
        creator = secretaries.get(entry["branch"]) or ("zszz" if entry["branch"] in school_units else None)
        volunteers = _serving(demo, entry, index)
        metrics = entry.get("metrics", {})
        person_times = sum(v for code, v in metrics.items() if demo.metrics[(program, code)].unit == Metric.Unit.PERSON_TIMES)
        title = entry["title"].replace("{year}", str(day.year))
        row = {
            "pairing_id": demo.pairings[key].pk if key else None, "program_id": demo.programs[program].pk,
            "branch_id": demo.orgs[entry["branch"]].pk,
            "activity_type_id": demo.types[entry["type"]].pk, "title": title, "date": day,
            "start_time": datetime.time.fromisoformat(start), "end_time": datetime.time.fromisoformat(end),
            "place": entry.get("place") or DEFAULT_PLACE[key],
            "description": entry.get("description") or f"{title}。",
            "party_members": entry.get(
                "party_members", sum(1 for v in volunteers if demo.volunteers[v].is_party_member)
            ),
            "teachers": entry.get("teachers", sum(1 for v in volunteers if demo.volunteer_kind[v][0] == Volunteer.Kind.TEACHER)),
            "students": entry.get("students", sum(1 for v in volunteers if demo.volunteer_kind[v][0] == Volunteer.Kind.STUDENT)),
            "residents_served": entry.get("residents_served", int(person_times)),
            "status": status, "submitted_at": submitted_at,
            "confirmed_at": calendar.moment(day + datetime.timedelta(days=3), "10:00") if confirmed else None,
            # 验单: the supported side's village-committee member confirms (the program's office, for program-wide work).
            "confirmed_by_id": confirmer.pk if confirmed else None,
            "return_comment": entry.get("comment", "") if status == Activity.Status.RETURNED else "",
            "created_by_id": demo.users[creator].pk if creator else None,
            "need_id": None,  # set once the needs are written (load_demo)
        }
        item = entry.get("plan_item")
        plan_item = (key, day.year, item.replace("{year}", str(day.year))) if item else None
        planned.append(PlannedActivity(entry=entry, row=row, day=day, volunteers=volunteers, plan_item=plan_item))
    return planned


def program_code(demo, entry):
    """The program of an activity's entry: its pairing's, or for a program-wide one (no pairing) its own."""
    return demo.pairing_data[entry["pairing"]]["program"] if entry.get("pairing") else entry["program"]


def _serving(demo, entry, index):
    """Who served: named volunteers of the branch, then a fixed rotation through the team or the pool."""
    chosen = [(entry["branch"], name) for name in entry.get("named", [])]
    pool = []
    if entry.get("team"):
        pool += demo.team_members[entry["team"]]
    for team in entry.get("extra_teams", []):
        pool += demo.team_members[team][:3]
    for org in entry.get("pool", []):
        pool += [key for key in demo.volunteers if key[0] == org]
    pool = [key for key in dict.fromkeys(pool) if key not in chosen]
    count = entry.get("serving", 4) + 3 * len(entry.get("extra_teams", []))
    if pool and count:
        start = (index * 3) % len(pool)
        chosen += (pool[start:] + pool[:start])[:count]
    return chosen


def load_plan_items(demo, planned):
    """The plans' items and targets. Past items say their status; this year's follow the activities so far."""
    calendar = demo.calendar
    achieved = defaultdict(dict)  # (pairing, year, title) → {metric code: value}
    linked = set()
    worked_on = defaultdict(list)  # (pairing, year, title) → the days of its counted activities, in order
    for act in sorted(planned, key=lambda a: a.day):
        if act.plan_item is None or act.row["status"] not in COUNTED:
            continue
        linked.add(act.plan_item)
        worked_on[act.plan_item].append(act.day)
        program = program_code(demo, act.entry)
        for code, value in act.entry.get("metrics", {}).items():
            values = achieved[act.plan_item]
            if demo.metrics[(program, code)].aggregation == Metric.Aggregation.SNAPSHOT:
                values[code] = Decimal(str(value))
            else:
                values[code] = values.get(code, Decimal(0)) + Decimal(str(value))
    rows, targets = [], []
    for plan in read("plans.toml")["plan"]:
        key, year = plan["pairing"], calendar.year(plan["year"])
        for order, item in enumerate(plan["item"], 1):
            ref = (key, year, item["title"].replace("{year}", str(year)))
            due = calendar.month_end() if item["due"] == "month-end" else datetime.date(year, *map(int, item["due"].split("-")))
            status, progress = _item_status(item, achieved[ref], ref in linked)
            owner = demo.orgs[item["owner"]]
            rows.append({
                "plan_id": demo.plans[(key, year)].pk, "title": ref[2], "category": item["category"],
                "owner_branch_id": owner.pk, "due_date": due, "status": status, "progress": progress,
                "village_counterpart": item["counterpart"], "order": order,
                "description": f"责任支部:{owner.short_name or owner.name};对接:{item['counterpart']}。",
            })
            targets += [(ref, code, value) for code, value in item.get("targets", {}).items()]
    synced = demo.sync(PlanItem, ("plan_id", "title"), rows, prune_within=("plan_id", [p.pk for p in demo.plans.values()]))
    items = {}
    for (key, year), plan in demo.plans.items():
        for (plan_id, title), item in synced.items():
            if plan_id == plan.pk:
                items[(key, year, title)] = item
    demo.sync(
        PlanTarget,
        ("item_id", "metric_id"),
        [
            {"item_id": items[ref].pk, "metric_id": demo.metrics[(demo.pairing_data[ref[0]]["program"], code)].pk,
             "value": Decimal(str(value))}
            for ref, code, value in targets
        ],
        prune_within=("item_id", [i.pk for i in items.values()]),
    )
    date_item_history(demo, items, worked_on)
    return items


def date_item_history(demo, items, worked_on):
    """Each item's history as the portal would have written it over the year, rather than all of it today (a
    past period's report reads an item's status then from its history): planned when the village agreed the
    plan, in progress from its first counted activity, done on its last one (or on its due day, for an item done
    without activities), cancelled at mid-year; never after now. Written again on every load."""
    calendar, history = demo.calendar, PlanItem.history.model
    plans = {plan.pk: plan for plan in demo.plans.values()}
    fields = [f.attname for f in PlanItem._meta.concrete_fields]
    rows = []
    for ref, item in items.items():
        plan, days, final = plans[item.plan_id], worked_on.get(ref, []), item.status
        agreed = plan.village_agreed_on or datetime.date(plan.year, 1, 10)
        steps = [(agreed, PlanItem.Status.PLANNED, 0)]
        if final in (PlanItem.Status.IN_PROGRESS, PlanItem.Status.DONE) and days:
            steps.append((max(days[0], agreed), PlanItem.Status.IN_PROGRESS, min(item.progress, 50)))
        if final == PlanItem.Status.DONE:
            steps.append((max(days[-1] if days else item.due_date or agreed, agreed), final, item.progress))
        elif final == PlanItem.Status.CANCELLED:
            steps.append((max(datetime.date(plan.year, 7, 1), agreed), final, item.progress))
        elif final != PlanItem.Status.PLANNED:
            steps.append((agreed, final, item.progress))
        values = {name: getattr(item, name) for name in fields}
        for n, (day, status, progress) in enumerate(steps):
            last = n == len(steps) - 1
            rows.append(history(
                **{**values, "status": status, "progress": item.progress if last else progress},
                history_date=calendar.moment(min(day, calendar.today), "18:00" if n else "10:00"),
                history_type="+" if n == 0 else "~",
            ))
    history.objects.filter(id__in=[item.pk for item in items.values()]).delete()
    history.objects.bulk_create(rows, batch_size=500)


def _item_status(item, achieved, has_activity):
    """(status, progress): as the data says for past plans; from the activities so far for this year's."""
    targets = item.get("targets", {})
    if "status" in item:
        status = item["status"]
    elif targets and all(achieved.get(code, 0) >= Decimal(str(value)) for code, value in targets.items()):
        status = PlanItem.Status.DONE
    elif has_activity:
        status = PlanItem.Status.IN_PROGRESS
    else:
        status = PlanItem.Status.PLANNED
    if "progress" in item:
        return status, item["progress"]
    if status == PlanItem.Status.DONE:
        return status, 100
    if status in (PlanItem.Status.PLANNED, PlanItem.Status.CANCELLED):
        return status, 0
    if not targets:
        return status, 50
    ratios = [min(Decimal(1), achieved.get(code, 0) / Decimal(str(value))) for code, value in targets.items()]
    return status, min(95, int(sum(ratios) / len(ratios) * 100))


def load_activities(demo, planned, items):
    """The activities with their co-hosts, figures and volunteer hours (verified where the village confirmed)."""
    for act in planned:
        act.row["plan_item_id"] = items[act.plan_item].pk if act.plan_item else None
        if act.plan_item and act.plan_item not in items:
            raise ValueError(f"demo data: no plan item {act.plan_item}")
    # the demo pairings' activities and the demo programs' program-wide ones (no pairing); a pairing someone added
    # to a demo program keeps its activities
    synced = demo.sync(
        Activity,
        ("program_id", "pairing_id", "branch_id", "date", "title"),
        [act.row for act in planned],
        prune_within=models.Q(pairing_id__in=[p.pk for p in demo.pairings.values()])
        | models.Q(pairing__isnull=True, program_id__in=[p.pk for p in demo.programs.values()]),
    )
    activities = [
        synced[(a.row["program_id"], a.row["pairing_id"], a.row["branch_id"], a.row["date"], a.row["title"])]
        for a in planned
    ]
    ids = [a.pk for a in activities]
    demo.sync_m2m(
        Activity.co_branches.through, "activity_id", "organization_id",
        [(a.pk, demo.orgs[b].pk) for a, act in zip(activities, planned, strict=True) for b in act.entry.get("co_branches", [])],
        ids,
    )
    demo.sync(
        ActivityMetricValue,
        ("activity_id", "metric_id"),
        [
            {"activity_id": a.pk, "metric_id": demo.metrics[(program_code(demo, act.entry), code)].pk,
             "value": Decimal(str(value))}
            for a, act in zip(activities, planned, strict=True)
            for code, value in act.entry.get("metrics", {}).items()
        ],
        prune_within=("activity_id", ids),
    )
    records = []
    for index, (activity, act) in enumerate(zip(activities, planned, strict=True)):
        row = act.row
        if row["status"] == Activity.Status.DRAFT:
            continue
        duration = Decimal(
            (datetime.datetime.combine(act.day, row["end_time"]) - datetime.datetime.combine(act.day, row["start_time"])).seconds
        ) / 3600
        for j, key in enumerate(act.volunteers):
            hours = max(Decimal("0.5"), min(Decimal("6.0"), duration - HOUR_STEPS[(index + j) % 4]))
            # 谁记录谁证明: the organising side verifies hours once the village confirmed; a few wait.
            verified = row["status"] == Activity.Status.CONFIRMED and (index * 7 + j) % 11 != 3
            records.append({
                "activity_id": activity.pk, "volunteer_id": demo.volunteers[key].pk, "hours": hours,
                "content": act.entry.get("service") or demo.types[act.entry["type"]].name,
                "status": ServiceRecord.Status.VERIFIED if verified else ServiceRecord.Status.RECORDED,
                "recorded_by_id": row["created_by_id"], "verified_by_id": row["created_by_id"] if verified else None,
                "verified_at": row["confirmed_at"] if verified else None,
            })
    demo.sync(ServiceRecord, ("activity_id", "volunteer_id"), records, prune_within=("activity_id", ids))
    return activities


def load_photos(demo, planned, activities):
    """Generated photos, cleaned and stored as an upload is (re-encoded, thumbnail); missing ones are added."""
    have = set(ActivityPhoto.objects.filter(activity__in=activities).values_list("activity_id", "sha256"))
    for index, (activity, act) in enumerate(zip(activities, planned, strict=True)):
        minors = act.entry.get("photos_show_minors", False)
        new = []
        for n, caption in enumerate(act.entry.get("photos", [])):
            data = demo_photo(f"{act.entry['title']}#{n}", shows_minors=minors)
            if (activity.pk, hashlib.sha256(data).hexdigest()) in have:
                continue
            new.append(NewPhoto(photo=clean_photo(ContentFile(data, name="demo.png")), caption=caption, shows_minors=minors))
        if new:
            actor = User.objects.filter(pk=act.row["created_by_id"]).first()
            activity_photos_add(activity=activity, actor=actor, new_photos=new)
            demo.stats[ActivityPhoto].created += len(new)


def load_meetings(demo):
    """The joint meetings of meetings.toml, dated relative to today, with their attendees of both sides, minutes and
    decisions: open, owned by either side, one past its due date and one still to come, so the demo shows them on
    their owners' home pages, in the monthly reminder and in the quarterly report."""
    today = demo.calendar.today
    entries = read("meetings.toml")["meeting"]
    rows = []
    for entry in entries:
        pairing = demo.pairings[entry["pairing"]]
        rows.append({
            "program_id": pairing.program_id, "pairing_id": pairing.pk, "title": entry["title"],
            "date": today - datetime.timedelta(days=entry["held"]), "place": entry["place"],
            "minutes": entry["minutes"].strip(), "activity_id": None, "created_by_id": demo.users[entry["recorded_by"]].pk,
        })
    synced = demo.sync(Meeting, ("pairing_id", "title"), rows, prune_within=("pairing_id", [p.pk for p in demo.pairings.values()]))
    meetings = [synced[(row["pairing_id"], row["title"])] for row in rows]
    ids = [meeting.pk for meeting in meetings]
    demo.sync(
        MeetingAttendee,
        ("meeting_id", "side", "name"),
        [
            {"meeting_id": meeting.pk, "side": a["side"], "name": a["name"], "title": a.get("title", ""),
             "organization_id": demo.orgs[a["organisation"]].pk if a.get("organisation") else None,
             "organization_name": a.get("organisation_name", ""),
             "user_id": demo.users[a["user"]].pk if a.get("user") else None, "order": order}
            for meeting, entry in zip(meetings, entries, strict=True)
            for order, a in enumerate(entry.get("attendee", []), 1)
        ],
        prune_within=("meeting_id", ids),
    )
    demo.sync(
        ActionItem,
        ("meeting_id", "text"),
        [
            {"meeting_id": meeting.pk, "text": d["text"], "owner_org_id": demo.orgs[d["owner"]].pk,
             "owner_user_id": demo.users[d["person"]].pk if d.get("person") else None,
             "due_date": today + datetime.timedelta(days=d["due"]), "status": ActionItem.Status.OPEN, "note": "",
             "done_by_activity_id": None, "closed_at": None, "closed_by_id": None, "order": order}
            for meeting, entry in zip(meetings, entries, strict=True)
            for order, d in enumerate(entry.get("decision", []), 1)
        ],
        prune_within=("meeting_id", ids),
    )


def demo_photo(seed, *, shows_minors=False):
    """A small PNG drawn from ``seed`` (the same seed, the same bytes): sky, ground and a few figures."""
    rng = random.Random(seed)
    width, height = 640, 480
    image = Image.new("RGB", (width, height), (rng.randint(120, 180), rng.randint(170, 210), rng.randint(210, 245)))
    draw = ImageDraw.Draw(image)
    horizon = rng.randint(250, 330)
    draw.rectangle((0, horizon, width, height), fill=(rng.randint(60, 120), rng.randint(120, 170), rng.randint(50, 90)))
    for _ in range(rng.randint(2, 4)):  # buildings
        x = rng.randint(0, width - 120)
        draw.rectangle((x, horizon - rng.randint(60, 160), x + rng.randint(60, 120), horizon), fill=(230, 220, 200))
    draw.rectangle((0, 0, width, 24), fill=(200, 30, 30))  # a banner across the top
    scale = 0.6 if shows_minors else 1.0  # children are smaller
    for _ in range(rng.randint(4, 8)):
        x, tall = rng.randint(20, width - 20), int(rng.randint(90, 120) * scale)
        feet = rng.randint(horizon + 30, height - 10)
        colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
        draw.rectangle((x - 10, feet - tall + 24, x + 10, feet), fill=colour)
        draw.ellipse((x - 11, feet - tall, x + 11, feet - tall + 22), fill=(240, 200, 160))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --------------------------------------------------------------------------------------------------------
# The entry points
# --------------------------------------------------------------------------------------------------------


def load_demo(*, allow_production=False):
    """Load (or refresh) the demo for today, in one transaction; raise DemoRefused, writing nothing, when refused.
    Returns {model: Stats} of what this run changed."""
    if getattr(settings, "PRODUCTION", False) and not allow_production:
        raise DemoRefused(
            "load_demo refuses to run with PORTAL_MODE=production: the demo accounts share a published password. "
            "Pass --allow-production if you really mean it."
        )
    demo = Demo(calendar=Calendar.current())
    with transaction.atomic():
        check_demo_only()
        load_organisations(demo)
        load_users(demo)
        load_programs(demo)
        load_pairings(demo)
        load_village_statistics(demo)
        load_volunteers(demo)
        load_plans(demo)
        planned = plan_activities(demo, activity_entries())  # needs, for the activities that answer them
        load_needs(demo, _answering(planned))
        for act in planned:  # now the needs have ids
            if act.entry.get("need"):
                act.row["need_id"] = demo.needs[(act.entry["pairing"], act.entry["need"])].pk
        items = load_plan_items(demo, planned)
        activities = load_activities(demo, planned, items)
        load_photos(demo, planned, activities)
        load_meetings(demo)
        rollups_rebuild()  # the loader writes in bulk (no save() signals): rebuild the pages' rollup
    return demo.stats


def _answering(planned):
    """(pairing key, need title) → when the activity answering it happened."""
    return {
        (act.entry["pairing"], act.entry["need"]): {"day": act.day, "end": act.row["end_time"].strftime("%H:%M")}
        for act in planned
        if act.entry.get("need")
    }


DOMAIN_MODELS = (
    "portal.Organization", "portal.User", "portal.Membership",
    "pairings.Program", "pairings.Metric", "pairings.Pairing", "pairings.PairingBranch", "pairings.Liaison",
    "pairings.JointPlan", "pairings.PlanItem", "pairings.PlanTarget", "pairings.VillageIndicator",
    "pairings.VillageStatistic",
    "volunteers.Volunteer", "volunteers.Team", "volunteers.ServiceOffering",
    "activities.ActivityType", "activities.Need", "activities.Activity", "activities.ActivityMetricValue",
    "activities.ActivityPhoto", "activities.ServiceRecord",
    "activities.Meeting", "activities.MeetingAttendee", "activities.ActionItem",
)


def model_counts():
    """Rows per model, including the many-to-many tables and the history tables (for the summary)."""
    counts = {}
    for label in DOMAIN_MODELS:
        model = apps.get_model(label)
        counts[label] = model._base_manager.count()  # soft-deleted rows included
        if _has_history(model):
            counts[f"{label} (history)"] = model.history.count()
    counts["activities.Activity.co_branches"] = Activity.co_branches.through.objects.count()
    counts["volunteers.Team.members"] = Team.members.through.objects.count()
    return counts
