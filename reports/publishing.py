"""Publishing reports: one report or a thousand drafts in one pass, and who is told.

Every way a report is published goes through ``publish_drafts``: the admin's button on one report, the bulk
publish of the report list (both through services.report_publish / services.reports_publish, which add the
e-mail task), and generation under the program's publishing policy (``Program.publish_monthly``,
``Program.publish_quarterly``). So the recipients are always told the same way: each person ONCE per call,
however many of the batch's reports concern them ("已发布 12 份月度提示", linked to the report list showing those
reports, or to the report itself when there is one), through ``notifications.notify``.

Cost, whatever the batch size: one query to lock the drafts, one UPDATE, one INSERT of their history rows, one
query each for the liaisons and the program admins, one for the group robots; then ``notify`` once per distinct
set of reports that people are told about (3 queries each: a savepoint, the INSERT, its release). Usually that is
one per report (a pairing's liaisons are told of their pairing's report), so the notifications of 1,000 reports
cost about 3,000 short statements: the bulk publish of many runs in a Celery task (reports.tasks.publish_reports).

Idempotent: only drafts are published (a report already published is skipped as if it were not asked for), and
the event key is derived from the reports published, so a retried call publishes nothing and tells no one again.

This module imports no task and no service (generation.py imports it; services.py and tasks.py call it).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports.models import Notification, Report, Webhook
from reports.notifications import notify, reports_recipients

# The policy flag of each kind a program may publish on generation (annual summaries are always written by hand).
POLICY_FLAG = {Report.Kind.MONTHLY: "publish_monthly", Report.Kind.QUARTERLY: "publish_quarterly"}

# How a batch names its reports ("已发布 12 份月度提示").
KIND_PLURAL = {
    Report.Kind.MONTHLY: gettext_lazy("monthly reminders"),
    Report.Kind.QUARTERLY: gettext_lazy("quarterly reports"),
    Report.Kind.ANNUAL: gettext_lazy("annual summaries"),
}
URL_MAX = 300  # Notification.url


def publishes_on_generation(program, kind):
    """Whether the program's policy publishes a report of this kind as soon as it is built."""
    return bool(getattr(program, POLICY_FLAG.get(kind, ""), False))


@dataclass
class Published:
    """What a call published: the reports (drafts until then), the time, and how many notifications it made."""

    reports: list = field(default_factory=list)
    at: object = None
    notifications: int = 0
    key: str = ""

    @property
    def ids(self):
        return [report.pk for report in self.reports]


def _ids_filter(reports):
    """A Q on Report for ``reports``: a QuerySet (read as a subquery), or report objects or ids."""
    if isinstance(reports, QuerySet):
        return Q(pk__in=reports.order_by().values("pk"))
    ids = set()
    for report in reports:
        try:
            ids.add(int(getattr(report, "pk", report)))
        except (TypeError, ValueError):
            continue  # not an id: as if it were not there
    return Q(pk__in=sorted(ids))


def batch_key(report_ids):
    digest = hashlib.sha1(",".join(map(str, sorted(report_ids))).encode()).hexdigest()[:24]
    return f"publish:{digest}"


def list_url(reports, limit=URL_MAX):
    """The report list showing exactly these reports (or, past the link's length, their kind and period)."""
    base = reverse("reports:report_list")
    url = f"{base}?ids={','.join(str(r.pk) for r in sorted(reports, key=lambda r: r.pk))}"
    if len(url) <= limit:
        return url
    params = ["status=published"]
    for name in ("kind", "period", "program_id"):
        values = {getattr(r, name) for r in reports}
        if len(values) == 1:
            params.append(f"{name.removesuffix('_id')}={values.pop()}")
    return f"{base}?{'&'.join(params)}"


def summary(reports):
    """'3 monthly reminders published' or, of several kinds, '5 reports published: monthly reminders 3, …'."""
    counts = defaultdict(int)
    for report in reports:
        counts[report.kind] += 1
    if len(counts) == 1:
        (kind, count), = counts.items()
        return _("%(count)s %(what)s published") % {"count": count, "what": KIND_PLURAL[kind]}
    parts = _("; ").join(
        _("%(what)s %(count)s") % {"what": KIND_PLURAL[kind], "count": count}
        for kind, count in sorted(counts.items())
    )
    return _("%(count)s reports published: %(parts)s") % {"count": len(reports), "parts": parts}


def publish_drafts(*, reports, actor):
    """Publish the drafts among ``reports`` (a QuerySet, or report objects or ids) that ``actor`` may edit, in
    one pass, and tell each recipient once. ``actor`` None is the program's publishing policy (generation):
    no permission applies. Reports the actor may not edit, and reports already published, are skipped as if
    they had not been asked for. Returns a ``Published``."""
    with transaction.atomic():
        drafts = Report.objects.filter(_ids_filter(reports), status=Report.Status.DRAFT)
        if actor is not None:
            drafts = drafts.editable_by(actor)
        # Locked, so that two publishers (a double click, a retried task) never both publish one draft: the
        # second waits, then finds it published and skips it.
        locked = list(
            drafts.select_for_update(of=("self",))
            .select_related("program", "pairing__supporter", "pairing__supported")
            .defer("data")
            .order_by("id")
        )
        if not locked:
            return Published()
        now = timezone.now()
        Report.objects.filter(pk__in=[r.pk for r in locked]).update(
            status=Report.Status.PUBLISHED, published_at=now, published_by=actor
        )
        for report in locked:
            report.status, report.published_at, report.published_by = Report.Status.PUBLISHED, now, actor
        # the rows' history, as save() would have written it one by one
        Report.history.bulk_history_create(locked, update=True, default_user=actor, default_date=now)
        key = batch_key([r.pk for r in locked])
        created = _announce(locked, key)
    return Published(reports=locked, at=now, notifications=created, key=key)


def _announce(reports, key):
    """Tell each recipient once about the reports of theirs in the batch; each group robot once too."""
    recipients = reports_recipients(reports)  # {report pk: [(user or None, email)]}
    by_id = {r.pk: r for r in reports}
    theirs = defaultdict(list)  # person → their reports' ids
    people = {}
    for report in reports:
        for user, email in recipients.get(report.pk, ()):
            person = ("user", user.pk) if user is not None else ("email", email.lower())
            people.setdefault(person, (user, email))
            if report.pk not in theirs[person]:
                theirs[person].append(report.pk)
    groups = defaultdict(lambda: ([], []))  # the same reports → one notify() for all who are told of them
    for person, ids in theirs.items():
        user, email = people[person]
        users, emails = groups[tuple(sorted(ids))]
        (users.append(user) if user is not None else emails.append(email))
    created = 0
    for ids, (users, emails) in groups.items():
        created += notify(**_event([by_id[i] for i in ids], key), users=users, emails=emails)
    _announce_to_robots(reports, key)
    return created


def _event(reports, key):
    if len(reports) == 1:
        report = reports[0]
        return {
            "kind": Notification.Kind.REPORT_PUBLISHED,
            "message": _("%(report)s has been published.") % {"report": report},
            "url": reverse("reports:report_detail", args=[report.pk]),
            "key": key,
            "report": report,
        }
    return {"kind": Notification.Kind.REPORTS_PUBLISHED, "message": summary(reports), "url": list_url(reports),
            "key": key}


def _announce_to_robots(reports, key):
    """A program's group robot hears one summary of its reports in the batch; a pairing's robot hears of its
    pairing's report. One event key for all: a robot that hears of a pairing and of its program gets one post."""
    programs = {r.program_id: r.program for r in reports}
    pairing_ids = {r.pairing_id for r in reports if r.pairing_id}
    hooks = Webhook.objects.filter(
        Q(program_id__in=programs) | Q(pairing_id__in=pairing_ids), is_active=True
    ).values_list("program_id", "pairing_id")
    with_program_hooks, with_pairing_hooks = set(), set()
    for program_id, pairing_id in hooks:
        (with_program_hooks.add(program_id) if program_id else with_pairing_hooks.add(pairing_id))
    for program_id in sorted(with_program_hooks):  # first: a program's robot hears the summary
        own = [r for r in reports if r.program_id == program_id]
        event = _event(own, key)
        if len(own) > 1:
            event["message"] = _("%(program)s: %(message)s") % {"program": programs[program_id], "message": event["message"]}
        notify(**event, program=programs[program_id])
    for report in reports:
        if report.pairing_id in with_pairing_hooks:
            notify(**_event([report], key), pairing=report.pairing, program=report.program)
