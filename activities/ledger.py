"""The activities ledger (活动台账) for the import engine (portal.ledger): one row per activity, the columns of the
activity list's export where they apply, plus one column per metric of the program.

Natural key: (结对, 党支部, 日期, 标题). A row whose key exists already is "unchanged" when its cells say what the
activity says, and an error otherwise (a recorded activity is changed in the portal, where a confirmed one goes
back to the village: an import never rewrites one behind the village's back).
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from activities import services
from activities.exports import header as export_header
from activities.models import Activity, ActivityMetricValue, ActivityType, ServiceRecord
from activities.selectors import program_wide_label
from activities.permissions import (
    activity_import_programs, import_overseen_program_ids, importable_pairing_branches, may_import_confirmed,
    serving_volunteers,
)
from pairings.models import Metric, Pairing, PairingBranch, Program
from portal import ledger
from portal.ledger import Column, RowCheck, cell_error
from volunteers.models import Volunteer

Status = Activity.Status
PEOPLE = ("party_members", "teachers", "students", "residents_served")
CoHosts = Activity.co_branches.through
# how a ledger lists several co-hosts: the export's 、, or what people type instead
CO_HOST_SEPARATORS = re.compile(r"[、,，;；/\n]+")
IMPORTABLE_STATUSES = (Status.DRAFT, Status.SUBMITTED, Status.CONFIRMED)


def _metrics(program_id):
    metrics = list(Metric.objects.filter(program_id=program_id).order_by("order", "id"))
    for metric in metrics:  # headed as the activity export heads them: "name(unit)"
        metric.header = f"{metric.name}({metric.unit})"
    return metrics


def _type_q(program_id):
    """The types a ledger of the program may name: shared ones, and the program's own where types have one."""
    if any(f.name == "program" for f in ActivityType._meta.get_fields()):
        return Q(program__isnull=True) | Q(program_id=program_id)
    return Q()


def _time_text(value):
    return value.strftime("%H:%M") if value else ""


def pairing_label(pairing):
    return str(pairing)


def _branch_names(org):
    """The names a ledger may call a branch by, as matched: its name and its short name."""
    return {ledger.normalise_header(name) for name in (org.name, org.short_name) if name}


def _program_wide_names(program):
    """What a ledger's 结对 cell says for work that serves no paired village, in every language of the portal (a
    big file is checked by the worker, in the default language): 不针对结对村, or the form's 「<program> · 不针对结对村」."""
    if program is None:
        return set()
    names = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            names.add(ledger.normalise_header(program_wide_label()))
            names.add(ledger.normalise_header(_("%(program)s · not for a paired village") % {"program": program.name}))
    return names


def _cohosts(ctx):
    """Who may co-host, read once per batch and only when a row names co-hosts: in a pairing, any branch taking
    part in it (not only those the importer records for); program-wide, any branch of the host's supporting side
    taking part in the program. ``by_name``: {("pairing", id, name) or ("side", supporter id, name): {id: branch}}
    (a name several branches share is refused, never guessed); ``sides``: branch id → its supporting sides."""
    if ctx["cohosts"] is None:
        by_name, sides, by_id = {}, {}, {}
        for taking_part in PairingBranch.objects.filter(pairing__program_id=ctx["program_id"]).select_related(
            "branch", "pairing"
        ):
            org, supporter = taking_part.branch, taking_part.pairing.supporter_id
            for name in _branch_names(org):
                by_name.setdefault(("pairing", taking_part.pairing_id, name), {})[org.pk] = org
                by_name.setdefault(("side", supporter, name), {})[org.pk] = org
            sides.setdefault(org.pk, set()).add(supporter)
            by_id[org.pk] = org
        ctx["cohosts"] = {"by_name": by_name, "sides": sides, "by_id": by_id}
    return ctx["cohosts"]


class ActivityLedger(ledger.Kind):
    code = "activities"
    label = gettext_lazy("Activities")
    key_help = gettext_lazy("pairing, branch, date and title")

    def programs(self, user):
        return activity_import_programs(user)

    def overseen_program_ids(self, user):
        return import_overseen_program_ids(user)

    def columns(self, program_id):
        titles = export_header(_metrics(program_id))
        (date, start, end, _program, pairing, branch, co_branches, kind, title, place, status, party, teachers, students,
         served, _verified, _pending, _photos, *metric_titles, description) = titles
        fixed = [
            Column("date", date, True, _("2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日 or an Excel date")),
            Column("start", start, help=_("09:30")),
            Column("end", end, help=_("11:30")),
            Column("pairing", pairing, True, _(
                "the supported village or community, or “supporter–supported”; “%(none)s” for the program's work "
                "that serves no paired village"
            ) % {"none": program_wide_label()}),
            Column("branch", branch, True, _("a branch taking part in the pairing")),
            Column("co_branches", co_branches, help=_("other branches of the pairing that held it too, separated by 、")),
            Column("type", kind, True, _("see the sheet of allowed values")),
            Column("title", title, True),
            Column("place", place),
            Column("status", status, help=_("draft, submitted or confirmed; blank: draft")),
            Column("party_members", party, help=_("a whole number")),
            Column("teachers", teachers, help=_("a whole number")),
            Column("students", students, help=_("a whole number")),
            Column("residents_served", served, help=_("a whole number")),
        ]
        metrics = [
            Column(f"metric_{metric.pk}", metric_title, help=metric.get_unit_display())
            for metric, metric_title in zip(_metrics(program_id), metric_titles)
        ]
        return [*fixed, *metrics, Column("description", description)]

    def example(self, user, program_id):
        ctx = self.context(user=user, program_id=program_id)
        link = next(iter(ctx["links"]), None)
        kind = next(iter(ctx["types"].values()), None)
        row = {
            "date": "2024-03-05", "start": "09:30", "end": "11:30", "title": _("Theme party day in the village"),
            "place": _("village committee hall"), "status": Status.SUBMITTED.label, "party_members": "12",
            "teachers": "0", "students": "0", "residents_served": "30", "description": _("What was done, and for whom."),
            "type": kind.name if kind else "",
        }
        if link:
            row["pairing"] = pairing_label(link.pairing)
            row["branch"] = link.branch.name
        for metric in ctx["metrics"]:
            row[f"metric_{metric.pk}"] = "1"
        return row

    def allowed_values(self, user, program_id):
        ctx = self.context(user=user, program_id=program_id)
        pairings = sorted({pairing_label(link.pairing) for link in ctx["links"]})
        branches = sorted({f"{pairing_label(link.pairing)}：{link.branch.name}" for link in ctx["links"]})
        if ctx["program"] is not None:  # the program's work that serves no paired village
            pairings.append(program_wide_label())
            branches += sorted({f"{program_wide_label()}：{org.name}" for org in ctx["program_branch_by_id"].values()})
        statuses = [Status(value).label for value in IMPORTABLE_STATUSES if value != Status.CONFIRMED or ctx["may_confirm"]]
        return [
            (_("Pairing"), pairings),
            (_("Branch"), branches),
            (_("Type"), list(ctx["types"])),
            (_("Status"), statuses),
            (_("Metric"), [f"{m.name}({m.unit})" for m in ctx["metrics"]]),
        ]

    def context(self, *, user, program_id, batch=None):
        links = list(importable_pairing_branches(user, program_id).select_related(
            "branch", "pairing__supporter", "pairing__supported", "pairing__program"
        ).order_by("pairing_id", "branch__name"))
        pairings_by_name = {}
        for link in links:
            pairing = link.pairing
            names = {pairing_label(pairing), pairing.supported.name, pairing.supported.short_name,
                     f"{pairing.supporter.name}–{pairing.supported.name}"}
            for name in filter(None, names):
                key = ledger.normalise_header(name).replace("-", "–")
                pairings_by_name.setdefault(key, {})[pairing.pk] = pairing
        branches = {}
        for link in links:
            branches.setdefault(link.pairing_id, {})[ledger.normalise_header(link.branch.name)] = link.branch
        # work for the program that serves no paired village (program-wide): any branch the importer records for,
        # by its name or short name (names repeat across schools: one that names several is refused, never guessed)
        program_branches = {}
        for link in links:
            for name in _branch_names(link.branch):
                program_branches.setdefault(name, {})[link.branch.pk] = link.branch
        program = links[0].pairing.program if links else None
        types = {t.name: t for t in ActivityType.objects.filter(_type_q(program_id), is_active=True).order_by("order", "id")}
        metrics = _metrics(program_id)
        return {
            "user": user,
            "program_id": program_id,
            "links": links,
            "link_by_ids": {(link.pairing_id, link.branch_id): link for link in links},
            "type_by_id": {t.pk: t for t in types.values()},
            "metric_by_id": {m.pk: m for m in metrics},
            "existing": None,
            "pairings": pairings_by_name,
            "branches": branches,
            "cohosts": None,  # read on the first row that names co-hosts (_cohosts)
            "program": program,
            "program_branches": program_branches,
            "program_branch_by_id": {link.branch.pk: link.branch for link in links},
            "program_wide_names": _program_wide_names(program),
            "types": types,
            "metrics": metrics,
            "may_confirm": may_import_confirmed(user, program_id),
            "statuses": {str(Status(value).label): value for value in Status.values} | {v: v for v in Status.values},
            "headers": {column.key: column.header for column in self.columns(program_id)},
            "batch_label": f"#{batch.pk}" if batch is not None else "",
        }

    def prepare(self, ctx, rows):
        """Read once, for the whole file, the recorded activities its rows may name (the natural keys of the
        pairings in scope, within the file's dates, with the titles it uses) and their figures."""
        dates = [day for day in (ledger.parse_date(row.get("date", "")) for row in rows) if day is not None]
        titles = {row.get("title", "").strip()[:120] for row in rows}
        existing = {}
        if dates and ctx["links"]:
            found = (
                Activity.objects.filter(
                    Q(pairing_id__in={link.pairing_id for link in ctx["links"]})
                    | Q(pairing__isnull=True, program_id=ctx["program_id"]),
                    date__range=(min(dates), max(dates)),
                )
                .values("id", "pairing_id", "branch_id", "date", "title", "activity_type_id", "start_time", "end_time",
                        "place", "description", "status", *PEOPLE)
                .order_by("id")
            )
            for values in found.iterator(chunk_size=2000):
                if values["title"] in titles:
                    key = (values["pairing_id"], values["branch_id"], values["date"], values["title"])
                    existing.setdefault(key, values)
        metrics = {}
        ids = [values["id"] for values in existing.values()]
        for start in range(0, len(ids), 500):
            for activity_id, metric_id, value in ActivityMetricValue.objects.filter(
                activity_id__in=ids[start:start + 500]
            ).values_list("activity_id", "metric_id", "value"):
                metrics.setdefault(activity_id, {})[metric_id] = value
        co_hosts = {}
        for start in range(0, len(ids), 500):
            for activity_id, organization_id in CoHosts.objects.filter(
                activity_id__in=ids[start:start + 500]
            ).values_list("activity_id", "organization_id"):
                co_hosts.setdefault(activity_id, set()).add(organization_id)
        for values in existing.values():
            values["metrics"] = metrics.get(values["id"], {})
            values["co_branches"] = frozenset(co_hosts.get(values["id"], ()))
        ctx["existing"] = existing

    def _existing(self, ctx, pairing, branch, date, title):
        pairing_id = pairing.pk if pairing is not None else None
        if ctx.get("existing") is not None:
            return ctx["existing"].get((pairing_id, branch.pk, date, title))
        found = Activity.objects.filter(branch=branch, date=date, title=title)
        found = found.filter(pairing=pairing) if pairing is not None else found.filter(
            pairing__isnull=True, program_id=ctx["program_id"]
        )
        activity = found.values(
            "id", "activity_type_id", "start_time", "end_time", "place", "description", "status", *PEOPLE
        ).first()
        if activity is not None:
            activity["metrics"] = dict(ActivityMetricValue.objects.filter(activity_id=activity["id"])
                                       .values_list("metric_id", "value"))
            activity["co_branches"] = frozenset(
                CoHosts.objects.filter(activity_id=activity["id"]).values_list("organization_id", flat=True)
            )
        return activity

    def check(self, ctx, number, row):
        headers, errors = ctx["headers"], []

        def error(key, reason):
            errors.append(cell_error(number, headers[key], row.get(key, ""), reason))

        def required(key):
            if not row.get(key):
                error(key, _("is required."))
                return False
            return True

        date = None
        if required("date"):
            date = ledger.parse_date(row["date"])
            if date is None:
                error("date", _("is not a valid date."))
        times = {}
        for key in ("start", "end"):
            times[key] = ledger.parse_time(row.get(key, ""))
            if row.get(key) and times[key] is None:
                error(key, _("is not a valid time (e.g. 09:30)."))
        pairing = branch = None
        program_wide = False
        if required("pairing"):
            written = ledger.normalise_header(row["pairing"])
            found = ctx["pairings"].get(written.replace("-", "–"), {})
            if written in ctx["program_wide_names"] and ctx["program"] is not None:
                program_wide = True
            elif len(found) == 1:
                pairing = next(iter(found.values()))
            elif len(found) > 1:
                error("pairing", _("names more than one pairing; write it as “supporter–supported”."))
            else:
                error("pairing", _("is not a pairing of this program that you may import for."))
        if required("branch") and program_wide:
            found_branches = ctx["program_branches"].get(ledger.normalise_header(row["branch"]), {})
            if len(found_branches) > 1:
                error("branch", _("names more than one branch of this program; write its short name."))
            elif not found_branches:
                error("branch", _("is not a branch of this program that you may import for."))
            else:
                branch = next(iter(found_branches.values()))
        elif pairing is not None and row.get("branch"):
            branch = ctx["branches"].get(pairing.pk, {}).get(ledger.normalise_header(row["branch"]))
            if branch is None:
                error("branch", _("is not a branch of this pairing that you may import for."))
        co_branches = []
        if row.get("co_branches", "").strip() and (pairing is not None or (program_wide and branch is not None)):
            cohosts = _cohosts(ctx)
            if pairing is not None:
                scopes = [("pairing", pairing.pk)]
            else:  # program-wide: the branches of the host's own supporting side(s) in the program
                scopes = [("side", side) for side in cohosts["sides"].get(branch.pk, ())]
            names = [part.strip() for part in CO_HOST_SEPARATORS.split(row["co_branches"]) if part.strip()]
            for name in names:
                found_orgs = {}
                for scope in scopes:
                    found_orgs.update(cohosts["by_name"].get((*scope, ledger.normalise_header(name)), {}))
                org = next(iter(found_orgs.values())) if len(found_orgs) == 1 else None
                if len(found_orgs) > 1:
                    error("co_branches", _("names “%(name)s”, which more than one branch is called; write its short "
                                           "name.") % {"name": name})
                elif org is None and len(names) == 1:  # the cell is the name: not said twice
                    error("co_branches", _("is not a branch taking part in this pairing.") if not program_wide
                          else _("is not a branch of the same side taking part in the program."))
                elif org is None:
                    error("co_branches", _("names “%(name)s”, which is not a branch taking part in this pairing.") % {"name": name}
                          if not program_wide else
                          _("names “%(name)s”, which is not a branch of the same side taking part in the program.") % {"name": name})
                elif branch is not None and org.pk == branch.pk:
                    error("co_branches", _("includes the branch that held it; list only the other branches."))
                elif org not in co_branches:
                    co_branches.append(org)
        kind = None
        if required("type"):
            kind = ctx["types"].get(row["type"].strip())
            if kind is None:
                error("type", _("is not an activity type of this program."))
        required("title")
        status = Status.DRAFT
        if row.get("status"):
            status = ctx["statuses"].get(row["status"].strip())
            if status not in IMPORTABLE_STATUSES:
                error("status", _("is not one of: draft, submitted, confirmed."))
            elif status == Status.CONFIRMED and not ctx["may_confirm"]:
                error("status", _("only the program admin may import activities as confirmed."))
        people = {}
        for key in PEOPLE:
            people[key] = ledger.parse_int(row.get(key, "") or "0")
            if people[key] is None or people[key] < 0:
                error(key, _("is not a whole number of zero or more."))
        metric_values = []
        for metric in ctx["metrics"]:
            text = row.get(f"metric_{metric.pk}", "")
            if not text:
                continue
            value = ledger.parse_decimal(text)
            if value is None:
                error(f"metric_{metric.pk}", _("is not a number."))
            else:
                metric_values.append(services.MetricEntry(metric=metric, value=value))
        if errors:
            return RowCheck(outcome=ledger.Outcome.ERROR, errors=errors)

        fields = services.ActivityFields(
            pairing=pairing, program=ctx["program"] if program_wide else None, activity_type=kind,
            title=row["title"].strip()[:120], date=date,
            start_time=times["start"], end_time=times["end"], place=row.get("place", "")[:120],
            description=row.get("description", ""), co_branches=co_branches, **people,
        )
        key = f"{pairing.pk if pairing is not None else '-'}|{branch.pk}|{date.isoformat()}|{fields.title}"
        summary = f"{date.isoformat()} {branch.name} {fields.title}"
        existing = self._existing(ctx, pairing, branch, date, fields.title)
        if existing is not None:
            differ = self._differences(existing, fields, metric_values, status, co_hosts_given="co_branches" in row)
            if not differ:
                return RowCheck(outcome=ledger.Outcome.UNCHANGED, key=key, summary=summary)
            return RowCheck(outcome=ledger.Outcome.ERROR, key=key, errors=[
                _("Row %(row)s: this activity (the same pairing, branch, date and title) is already recorded with "
                  "other values in %(columns)s. Change it in the portal, or give the row the recorded values.")
                % {"row": number, "columns": "、".join(headers[k] for k in differ)}
            ])
        for field_name, messages in services.activity_import_errors(
            fields=fields, branch=branch, metric_values=metric_values, link_known=True
        ).items():
            column = {"end_time": "end", "start_time": "start", "activity_type": "type", "pairing": "branch"}.get(field_name, field_name)
            for message in (messages if isinstance(messages, list) else [messages]):
                if column in headers:
                    error(column, str(message))
                else:
                    errors.append(_("Row %(row)s: %(reason)s") % {"row": number, "reason": message})
        if errors:
            return RowCheck(outcome=ledger.Outcome.ERROR, errors=errors, key=key)
        checked = {
            "pairing": pairing.pk if pairing is not None else None, "branch": branch.pk, "type": kind.pk, "title": fields.title,
            "date": date.isoformat(), "start": _time_text(fields.start_time), "end": _time_text(fields.end_time),
            "place": fields.place, "description": fields.description, "status": status,
            **{key: getattr(fields, key) for key in PEOPLE},
            "metrics": {str(entry.metric.pk): str(entry.value) for entry in metric_values},
            "co_branches": [org.pk for org in co_branches],
        }
        return RowCheck(outcome=ledger.Outcome.NEW, key=key, summary=summary, checked=checked,
                        changes={"_fields": fields, "_metrics": metric_values, "_status": status, "_branch": branch})

    @staticmethod
    def _differences(activity, fields, metric_values, status, *, co_hosts_given=True):
        """The columns where a row says other than the recorded activity. Co-hosts are compared only when the file
        has their column (a ledger made without it says nothing about them)."""
        pairs = {
            "type": (activity["activity_type_id"], fields.activity_type.pk),
            "start": (activity["start_time"], fields.start_time),
            "end": (activity["end_time"], fields.end_time),
            "place": (activity["place"], fields.place.strip()),
            "description": (activity["description"].strip(), fields.description.strip()),
            "status": (activity["status"], status),
            **{key: (activity[key], getattr(fields, key)) for key in PEOPLE},
        }
        differ = [key for key, (had, given) in pairs.items() if had != given]
        if co_hosts_given and activity["co_branches"] != frozenset(org.pk for org in fields.co_branches or ()):
            differ.append("co_branches")
        stored = activity["metrics"]
        given = {entry.metric.pk: entry.value for entry in metric_values}
        for metric_id in set(stored) | set(given):
            if Decimal(stored.get(metric_id, -1)) != Decimal(given.get(metric_id, -1)):
                differ.append(f"metric_{metric_id}")
        return differ

    def _entry_from_checked(self, ctx, number, checked):
        """The entry a row's check kept (ids and values, not the cells): None when what it names is no longer in
        the importer's scope (then the row is checked again from its cells)."""
        if checked["pairing"] is None:  # program-wide
            branch, pairing = ctx["program_branch_by_id"].get(checked["branch"]), None
        else:
            link = ctx["link_by_ids"].get((checked["pairing"], checked["branch"]))
            branch, pairing = (link.branch, link.pairing) if link is not None else (None, None)
        kind = ctx["type_by_id"].get(checked["type"])
        metrics = [ctx["metric_by_id"].get(int(metric_id)) for metric_id in checked["metrics"]]
        co_branches = [_cohosts(ctx)["by_id"].get(org_id) for org_id in checked.get("co_branches", ())] \
            if checked.get("co_branches") else []
        if branch is None or kind is None or None in metrics or None in co_branches:
            return None
        fields = services.ActivityFields(
            pairing=pairing, program=ctx["program"] if pairing is None else None, activity_type=kind, title=checked["title"],
            date=datetime.date.fromisoformat(checked["date"]), start_time=ledger.parse_time(checked["start"]),
            end_time=ledger.parse_time(checked["end"]), place=checked["place"], description=checked["description"],
            co_branches=co_branches, **{key: checked[key] for key in PEOPLE},
        )
        values = tuple(services.MetricEntry(metric=metric, value=Decimal(checked["metrics"][str(metric.pk)]))
                       for metric in metrics)
        return services.ImportEntry(fields=fields, branch=branch, metric_values=values, status=checked["status"],
                                    row=number)

    def apply_rows(self, ctx, rows, progress=None):
        """Save a checked batch: the rows found new keep their checked values (read again only as ids in the
        importer's scope as it stands now); a row whose key was recorded since, or any other row, is checked
        again from its cells. All the new activities go to `activities.services.activities_import` at once.
        Returns the errors (nothing is saved by the caller when there are any)."""
        # what the keys need: the checked date and title where the check kept them, the cells otherwise
        self.prepare(ctx, [
            {"date": row.changes["checked"]["date"], "title": row.changes["checked"]["title"]}
            if row.outcome == ledger.Outcome.NEW and "checked" in (row.changes or {}) else row.values
            for row in rows
        ])
        errors, entries, targets = [], [], []
        for done, row in enumerate(rows, start=1):
            checked = (row.changes or {}).get("checked") if row.outcome == ledger.Outcome.NEW else None
            entry = self._entry_from_checked(ctx, row.number, checked) if checked else None
            if entry is not None and ctx["existing"].get(
                (entry.fields.pairing.pk if entry.fields.pairing is not None else None, entry.branch.pk,
                 entry.fields.date, entry.fields.title)
            ) is None:
                entries.append(entry)
                targets.append(row)
                row.outcome = ledger.Outcome.NEW
            else:
                check = self.check(ctx, row.number, row.values)
                if check.errors:
                    errors.extend(check.errors)
                elif check.outcome == ledger.Outcome.NEW:
                    entries.append(self._entry_from_checked(ctx, row.number, check.checked))
                    targets.append(row)
                row.outcome = check.outcome
            if progress and done % 500 == 0:
                progress(done // 2)
        if errors:
            return errors
        activity_ids = services.activities_import(actor=ctx["user"], entries=entries, batch_label=ctx["batch_label"])
        for row, activity_id in zip(targets, activity_ids):
            row.object_id, row.previous = activity_id, None
        return []

    def apply(self, ctx, number, row, check):
        changes = check.changes
        activity = services.activity_import(
            actor=ctx["user"], fields=changes["_fields"], branch=changes["_branch"],
            metric_values=changes["_metrics"], status=changes["_status"], batch_label=ctx["batch_label"],
        )
        return activity.pk, None

    def undo_blockers(self, *, batch, records):
        ids = [object_id for outcome, object_id, _previous in records if outcome == "new" and object_id]
        return services.activities_import_undo_blockers(activity_ids=ids, since=batch.applied_at)

    def undo(self, *, batch, user, records):
        ids = [object_id for outcome, object_id, _previous in records if outcome == "new" and object_id]
        services.activities_import_undo(actor=user, activity_ids=ids, since=batch.applied_at)


ledger.register(ActivityLedger())


class HoursLedger(ledger.Kind):
    """The service-hours ledger (服务时长台账): one row per volunteer per activity.

    The activity is named by its natural key (结对, 党支部, 日期, 标题) among the activities the importer may import
    for; the volunteer by 姓名 + 手机号 among those who may serve on that branch's activities
    (`activities.permissions.serving_volunteers`). Natural key: (activity, volunteer). Hours enter as recorded,
    never verified (谁记录谁证明), through `activities.services.service_records_import`."""

    code = "hours"
    label = gettext_lazy("Service hours")
    key_help = gettext_lazy("activity and volunteer")

    def programs(self, user):
        return activity_import_programs(user)

    def overseen_program_ids(self, user):
        return import_overseen_program_ids(user)

    def columns(self, program_id):
        return [
            Column("pairing", _("Pairing"), True, _(
                "the supported village or community, or “supporter–supported”; “%(none)s” for the program's work "
                "that serves no paired village"
            ) % {"none": program_wide_label()}),
            Column("branch", _("Branch"), True, _("a branch taking part in the pairing")),
            Column("date", _("Date"), True, _("the activity's date")),
            Column("title", _("Title"), True, _("the activity's title, as recorded")),
            Column("name", pgettext("volunteer ledger", "Name"), True),
            Column("phone", pgettext("volunteer ledger", "Mobile phone"), help=_("as registered; blank when none is")),
            Column("hours", _("Hours"), True, _("more than 0, at most 24, one decimal (e.g. 2.5)")),
            Column("content", pgettext("hours ledger", "Service content")),
        ]

    def context(self, *, user, program_id, batch=None):
        base = ActivityLedger().context(user=user, program_id=program_id, batch=batch)
        return {
            "user": user, "program_id": program_id, "links": base["links"], "pairings": base["pairings"],
            "branches": base["branches"], "batch_label": base["batch_label"],
            "program_wide_names": base["program_wide_names"] if base["program"] is not None else set(),
            "program_branches": base["program_branches"],
            "headers": {column.key: column.header for column in self.columns(program_id)},
            "activities": {}, "volunteers": {}, "records": {}, "day_hours": {},
        }

    def example(self, user, program_id):
        ctx = self.context(user=user, program_id=program_id)
        link = next(iter(ctx["links"]), None)
        return {"pairing": pairing_label(link.pairing) if link else "", "branch": link.branch.name if link else "",
                "date": "2024-03-05", "title": _("Theme party day in the village"), "name": "张三",
                "phone": "13800000000", "hours": "2.5", "content": _("What was done, and for whom.")}

    def allowed_values(self, user, program_id):
        ctx = self.context(user=user, program_id=program_id)
        return [
            (_("Pairing"), sorted({pairing_label(link.pairing) for link in ctx["links"]})),
            (_("Branch"), sorted({f"{pairing_label(link.pairing)}：{link.branch.name}" for link in ctx["links"]})),
        ]

    def _link(self, ctx, row):
        """(the pairings the row's 结对 names, the one pairing, the branch, program-wide?): a program-wide
        activity's hours name it 不针对结对村, and its branch among those the importer records for."""
        written = ledger.normalise_header(row.get("pairing", ""))
        branch_name = ledger.normalise_header(row.get("branch", ""))
        if written in ctx["program_wide_names"]:
            found_branches = ctx["program_branches"].get(branch_name, {})
            return {}, None, next(iter(found_branches.values())) if len(found_branches) == 1 else None, True
        found = ctx["pairings"].get(written.replace("-", "–"), {})
        pairing = next(iter(found.values())) if len(found) == 1 else None
        branch = ctx["branches"].get(pairing.pk, {}).get(branch_name) if pairing else None
        return found, pairing, branch, False

    def prepare(self, ctx, rows):
        """Read once what the rows name: the activities in scope on the file's dates with its titles; the
        volunteers who may serve on the named branches' activities; their hours already recorded on those
        activities and, for the 24-hour day, on the file's days."""
        dates = {day for day in (ledger.parse_date(row.get("date", "")) for row in rows) if day is not None}
        titles = {row.get("title", "").strip()[:120] for row in rows}
        branch_ids = {branch.pk for _f, _p, branch, _w in (self._link(ctx, row) for row in rows) if branch is not None}
        activities = {}
        if dates and branch_ids:
            for values in Activity.objects.filter(
                Q(pairing_id__in={link.pairing_id for link in ctx["links"]})
                | Q(pairing__isnull=True, program_id=ctx["program_id"]),
                branch_id__in=branch_ids, date__in=dates, title__in=titles,
            ).values("id", "pairing_id", "branch_id", "date", "title").order_by("id"):
                activities.setdefault((values["pairing_id"], values["branch_id"], values["date"], values["title"]),
                                      values["id"])
        volunteers = {}
        for branch_id in branch_ids:
            people = volunteers.setdefault(branch_id, {})
            for pk, name, phone in serving_volunteers([branch_id]).values_list("id", "name", "phone").order_by("id"):
                people.setdefault((name, phone), []).append(pk)
                people.setdefault((name, None), []).append(pk)
        records = {}
        for start in range(0, len(activities), 1000):
            chunk = list(activities.values())[start:start + 1000]
            for activity_id, volunteer_id, *record in ServiceRecord.objects.filter(activity_id__in=chunk).values_list(
                "activity_id", "volunteer_id", "id", "hours", "content", "status"
            ):
                records[(activity_id, volunteer_id)] = tuple(record)
        day_hours = {}
        named = {pk for people in volunteers.values() for ids in people.values() for pk in ids}
        if named and dates:
            for volunteer_id, activity_id, day, hours in ServiceRecord.objects.filter(
                volunteer_id__in=named, activity__date__in=dates, activity__deleted_at__isnull=True,
            ).values_list("volunteer_id", "activity_id", "activity__date", "hours"):
                day_hours.setdefault((volunteer_id, day), {})[activity_id] = hours
        ctx.update(activities=activities, volunteers=volunteers, records=records, day_hours=day_hours)

    def check(self, ctx, number, row):
        headers, errors = ctx["headers"], []

        def error(key, reason):
            errors.append(cell_error(number, headers[key], row.get(key, ""), reason))

        for key in ("pairing", "branch", "date", "title", "name", "hours"):
            if not row.get(key, "").strip():
                error(key, _("is required."))
        if errors:
            return RowCheck(outcome=ledger.Outcome.ERROR, errors=errors)
        found, pairing, branch, program_wide = self._link(ctx, row)
        date = ledger.parse_date(row["date"])
        title = row["title"].strip()[:120]
        if program_wide:
            if branch is None:
                error("branch", _("is not a branch of this program that you may import for."))
        elif len(found) > 1:
            error("pairing", _("names more than one pairing; write it as “supporter–supported”."))
        elif pairing is None:
            error("pairing", _("is not a pairing of this program that you may import for."))
        elif branch is None:
            error("branch", _("is not a branch of this pairing that you may import for."))
        if date is None:
            error("date", _("is not a valid date."))
        activity_id = None
        if not errors:
            activity_id = ctx["activities"].get((pairing.pk if pairing is not None else None, branch.pk, date, title))
            if activity_id is None:
                error("title", _("is no activity of this pairing and branch on that date that you may import hours "
                                 "for (pairing, branch, date and title as recorded)."))
        name = row["name"].strip()[:60]
        phone = row.get("phone", "").replace(" ", "").replace("-", "")[:20]
        volunteer_id = None
        if branch is not None:
            people = ctx["volunteers"].get(branch.pk, {})
            ids = people.get((name, phone), []) or (people.get((name, None), []) if not phone else [])
            if len(ids) == 1:
                volunteer_id = ids[0]
            elif len(ids) > 1:
                error("phone", _("is needed: more than one volunteer of this name may serve here."))
            else:
                error("name", _("is not a volunteer who may serve on this branch's activities (name and mobile "
                                "phone as registered)."))
        hours = ledger.parse_decimal(row["hours"])
        if hours is None:
            error("hours", _("is not a number."))
        elif hours <= 0:
            error("hours", _("must be more than zero."))
        elif hours > services.MAX_DAY_HOURS:
            error("hours", _("is more than 24: no one serves more than 24 hours a day."))
        elif services.hours_import_errors(hours=hours):
            error("hours", _("has more than one decimal place (e.g. 2.5)."))
        if errors:
            return RowCheck(outcome=ledger.Outcome.ERROR, errors=errors)
        content = row.get("content", "").strip()[:120]
        key = f"{activity_id}|{volunteer_id}"
        summary = f"{date.isoformat()} {title} · {name} {hours.normalize()}"
        checked = {"activity": activity_id, "volunteer": volunteer_id, "hours": str(hours), "content": content}
        day = ctx["day_hours"].setdefault((volunteer_id, date), {})
        day[activity_id] = hours
        if sum(day.values()) > services.MAX_DAY_HOURS:
            error("hours", _("would make %(total)s hours on %(date)s in all; a day has 24.")
                  % {"total": sum(day.values()).normalize(), "date": date.isoformat()})
            return RowCheck(outcome=ledger.Outcome.ERROR, errors=errors, key=key)
        record = ctx["records"].get((activity_id, volunteer_id))
        if record is None:
            return RowCheck(outcome=ledger.Outcome.NEW, key=key, summary=summary, checked=checked)
        _pk, had_hours, had_content, status = record
        if (had_hours, had_content) == (hours, content):
            return RowCheck(outcome=ledger.Outcome.UNCHANGED, key=key, summary=summary, checked=checked)
        if status == ServiceRecord.Status.VERIFIED:
            error("hours", _("differs from verified hours, which cannot be changed."))
            return RowCheck(outcome=ledger.Outcome.ERROR, errors=errors, key=key)
        differ = [headers["hours"]] if had_hours != hours else []
        differ += [headers["content"]] if had_content != content else []
        return RowCheck(outcome=ledger.Outcome.UPDATED, key=key, summary=summary, checked=checked,
                        changes={"columns": differ})

    def apply_rows(self, ctx, rows, progress=None):
        """Save a checked batch through `activities.services.service_records_import`, which checks every entry
        again (scope, who may serve, hours, the 24-hour day, verified hours) against the database as it stands."""
        checked = [(row, (row.changes or {}).get("checked")) for row in rows]
        activities = Activity.objects.in_bulk({c["activity"] for _row, c in checked if c})
        volunteers = Volunteer.objects.in_bulk({c["volunteer"] for _row, c in checked if c})
        errors, entries, targets = [], [], []
        for row, values in checked:
            activity = activities.get(values["activity"]) if values else None
            volunteer = volunteers.get(values["volunteer"]) if values else None
            if activity is None or volunteer is None:
                errors.append(_("Row %(row)s: the activity or the volunteer it names is no longer there.")
                              % {"row": row.number})
                continue
            entries.append(services.HoursImportEntry(activity=activity, volunteer=volunteer,
                                                     hours=Decimal(values["hours"]), content=values["content"],
                                                     row=row.number))
            targets.append(row)
        if errors:
            return errors
        if progress:
            progress(len(rows) // 2)
        try:
            results = services.service_records_import(actor=ctx["user"], entries=entries,
                                                      batch_label=ctx["batch_label"])
        except ValidationError as exc:
            return list(exc.messages)
        except PermissionDenied as exc:
            return [str(exc)]
        for row, (outcome, record_id, previous) in zip(targets, results):
            row.outcome, row.object_id, row.previous = outcome, record_id, previous
        return []

    def undo_blockers(self, *, batch, records):
        return services.service_records_import_undo_blockers(record_ids=[pk for _o, pk, _p in records if pk])

    def undo(self, *, batch, user, records):
        services.service_records_import_undo(
            actor=user,
            created_ids=[pk for outcome, pk, _p in records if outcome == "new" and pk],
            previous={pk: previous for outcome, pk, previous in records if outcome == "updated" and pk},
        )


ledger.register(HoursLedger())
