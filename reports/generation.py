"""Building and storing reports: the work the scheduled job and "generate" run, in a Celery task or a command.

Idempotence (DESIGN.md, Reports): one report per (kind, period, program, scope, version). The scheduled job
may run twice, two workers may build the same scope at once, and a worker may die mid-task and have its
message redelivered: each time the data are built first (outside any transaction, reading only), then a
short transaction inserts version 1 or, if a draft is already there, rebuilds that draft; an
IntegrityError from a concurrent insert is caught and the winner's draft is updated instead. A published
report is frozen: the job leaves it alone and "regenerate" makes a new version.

Publishing policy (Program.publish_monthly / publish_quarterly): a kind the program publishes as soon as it is
built is published right after it is stored, through reports/publishing.py like an admin's publish. Stored and
published are two steps: a worker dying between them leaves a draft, which the redelivered task rebuilds and
publishes; a run after the publish finds the report frozen. Either way one version, published once.

Tasks (reports/tasks.py) call this module; the services that users' actions call (reports/services.py)
enqueue tasks: so nothing imports in a circle.
"""

from __future__ import annotations

import gc
import json
import logging
from contextlib import contextmanager

import orjson
from django.db import IntegrityError, connection, transaction
from django.db.models import JSONField, Value
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from pairings.models import Pairing, Program
from portal.db import values_bound
from reports import publishing, selectors
from reports.builders import (
    as_at_day, build_pairing_reports, build_program_reports, build_report_data, period_for, reads_history,
)
from reports.models import Report

log = logging.getLogger(__name__)

KIND_FLAG = {Report.Kind.MONTHLY: "monthly_reports", Report.Kind.QUARTERLY: "quarterly_reports"}


def scope_key_for(pairing):
    return f"pairing:{pairing.pk}" if pairing is not None else "program"


def _key(kind, period, program, pairing):
    return {"kind": kind, "period": period.key, "program": program, "scope_key": scope_key_for(pairing)}


@contextmanager
def collector_paused():
    """Python's cyclic garbage collector paused while a report's data are built. A program's report makes some
    hundreds of thousands of dicts and lists (the month's activities, a row per pairing), none of them in a
    reference cycle, and the collector, started every few hundred allocations, walked them again and again: a
    quarter of the 551-pairing report's CPU time (0.73 → 0.52 s). Whatever cycles are made meanwhile are
    collected once it runs again."""
    if not gc.isenabled():  # paused already (a nested build): leave it as the outer one set it
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def report_generate(*, kind, period, program, pairing=None, apply_policy=True):
    """Make sure the report of this scope and period exists and is complete. Returns (report, created).

    No report yet → version 1 is created as a draft. The latest version is a draft → its data are rebuilt.
    The latest version is published → nothing changes (published reports are frozen). Then, with
    ``apply_policy``, the program's publishing policy may publish the draft (``_publish_by_policy``)."""
    period = period_for(kind, period)
    program = Program.objects.select_related("office").get(pk=program.pk)
    latest = Report.objects.filter(**_key(kind, period, program, pairing)).order_by("-version").first()
    if latest is not None and latest.status == Report.Status.PUBLISHED:
        return latest, False
    with collector_paused():
        data = build_report_data(kind, period, program, pairing)  # build first (reads only), then insert
    report, created = _store(kind, period, program, pairing, latest, data)
    if apply_policy:
        _publish_by_policy(program, [report])
    return report, created


def reports_generate(*, kind, period, program, pairings):
    """report_generate for several pairings of one program at once (generate_pairing_reports' batches): their data
    are built from one set of queries (builders.build_pairing_reports), then each is stored as report_generate
    stores one. Returns [(report, created)] in the order of ``pairings``."""
    period = period_for(kind, period)
    program = Program.objects.select_related("office").get(pk=program.pk)
    latest = {}
    reports = Report.objects.filter(
        kind=kind, period=period.key, program=program, scope_key__in=[scope_key_for(p) for p in pairings]
    )
    for report in reports.order_by("-version"):
        latest.setdefault(report.pairing_id, report)
    frozen = {pid for pid, report in latest.items() if report.status == Report.Status.PUBLISHED}
    with collector_paused():
        data = build_pairing_reports(kind, period, program, [p for p in pairings if p.pk not in frozen])
    return _store_pairings(kind, period, program, pairings, latest, data)


def _store_pairings(kind, period, program, pairings, latest, data):
    """Store the built ``data`` ({pairing id: its report's data}) of these pairings' reports against their latest
    (``latest``: by pairing id, None or missing for none): a published one is left as it is, the new ones are
    inserted together (_store_new), the drafts rebuilt (_store); then the policy publishes them together (one
    notice each). Returns [(report, created)] in the order of ``pairings``."""
    new = _store_new(kind, period, program, [p for p in pairings if latest.get(p.pk) is None], data)
    results = [
        (latest[p.pk], False) if latest.get(p.pk) is not None and latest[p.pk].status == Report.Status.PUBLISHED
        else (new[p.pk], True) if p.pk in new
        else _store(kind, period, program, p, latest.get(p.pk), data[p.pk])
        for p in pairings
    ]
    _publish_by_policy(program, [report for report, _created in results])
    return results


def program_reports_generate(*, kind, period, program, batch):
    """report_generate for the program's report and reports_generate for every pairing it covers, from one set of
    queries (builders.build_program_reports: the pairings' reports from the program's rows, not read again by
    batches of their own). Stored as those two store them: the program's report first, then the pairings' in
    groups of ``batch`` (one transaction each, published together by the policy). A redelivered message builds
    them all again and finds what was stored: the drafts rebuilt, the published left alone, nothing twice.
    Returns [(report, created)], the program's first, then its pairings' by id."""
    period = period_for(kind, period)
    program = Program.objects.select_related("office").get(pk=program.pk)
    latest = {}
    for report in Report.objects.filter(kind=kind, period=period.key, program=program).order_by("-version"):
        latest.setdefault(report.scope_key, report)
    # paused while the data are built and stored too: the stores make objects of their own (the statements, the
    # reports, their history rows), and the collector started by those would walk the built data again and again
    with collector_paused():
        data, pairing_data = build_program_reports(kind, period, program)
        results = []
        mine = latest.get(scope_key_for(None))
        if mine is not None and mine.status == Report.Status.PUBLISHED:
            results.append((mine, False))
        else:
            report = _store(kind, period, program, None, mine, data)
            _publish_by_policy(program, [report[0]])
            results.append(report)
        del data
        pairings = list(Pairing.objects.filter(program=program, pk__in=list(pairing_data)).order_by("id"))
        for i in range(0, len(pairings), batch):
            part = pairings[i:i + batch]
            last = {p.pk: latest.get(scope_key_for(p)) for p in part}
            results += _store_pairings(kind, period, program, part, last, pairing_data)
    return results


def published_by_policy(program, report):
    """Whether the program's policy publishes this report now: a draft, version 1 (the scheduled build), of a
    kind published as soon as it is built."""
    return (report.status == Report.Status.DRAFT and report.version == 1
            and publishing.publishes_on_generation(program, report.kind))


def _publish_by_policy(program, reports):
    """Publish the drafts the program's policy publishes as soon as they are built (monthly reminders, unless
    switched off), through the one publishing path, so their recipients are told as if an admin had published
    them. Only version 1, the scheduled build: a later version was made by hand and waits for who made it.
    A retried generation finds the report published (frozen, returned as it is): nothing is published twice."""
    due = [r for r in reports if published_by_policy(program, r)]
    if not due:
        return
    published = publishing.publish_drafts(reports=due, actor=None)
    done = set(published.ids)
    for report in due:
        if report.pk in done:
            report.status, report.published_at = Report.Status.PUBLISHED, published.at


class StoredJSONEncoder(json.JSONEncoder):
    """Report data as they are written: Chinese text as UTF-8, not as \\u escapes, and no space after "," and
    ":". The stored value is the same (PostgreSQL keeps jsonb, which keeps neither, SQLite text that reads back
    alike), but a program's report of thousands of names is a third shorter (the spaces: another tenth), and
    PostgreSQL parses it in half the time (0.37 s instead of 0.69 s for the 551 pairings').

    Encoded by orjson, to the same text as the standard library's but for a float's exponent (1e-7, not 1e-07: the
    same number). The 1,004 monthly reports of the benchmark: every one the same text, 20.5 MB in 0.11 s instead of
    0.29 s. What neither encodes (a Decimal, a date: report data are
    plain by construction, builders.plain) raises TypeError as before."""

    # keys that are not strings (ids) become strings, as the standard library writes them; dates and dataclasses,
    # which orjson would write itself, go to default() and are refused, as the standard library refuses them
    OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def encode(self, o):
        return orjson.dumps(o, default=self.default, option=self.OPTIONS).decode()


def stored(data):
    """A report's data as an expression to write (StoredJSONEncoder). As an expression too because Django
    bulk-inserts plain values on PostgreSQL through UNNEST of one array per column, and quoting a column of large
    JSON documents into an array literal costs psycopg ~20 ms a report. Written inside portal.db.values_bound:
    the document goes to PostgreSQL as a parameter, not quoted into the statement's text."""
    return Value(data, output_field=JSONField(encoder=StoredJSONEncoder))


def _store_new(kind, period, program, pairings, data):
    """Insert version 1 of these pairings' reports at once: one transaction, one INSERT of the reports and one of
    their history rows, instead of a transaction each. Returns {pairing id: report}; {} when another worker (or a
    redelivered copy of this message) inserted one of them meanwhile: nothing is inserted, and _store then
    stores each as it does one report."""
    if not pairings:
        return {}
    reports = [
        Report(
            kind=kind, period=period.key, program=program, pairing=p, scope_key=scope_key_for(p), data=stored(data[p.pk]),
        )
        for p in pairings
    ]
    try:
        with transaction.atomic(), values_bound(connection):
            bulk_create_with_history(reports, Report)
    except IntegrityError:
        log.info("%s reports %s of %d pairings: some inserted concurrently elsewhere; storing them one by one",
                 kind, period.key, len(pairings))
        return {}
    for report in reports:
        report.data = data[report.pairing_id]
    return {report.pairing_id: report for report in reports}


def _store(kind, period, program, pairing, latest, data):
    """Insert version 1 of a scope's report (``latest`` None) or rebuild its latest draft with ``data``."""
    key = _key(kind, period, program, pairing)
    if latest is None:
        try:
            with transaction.atomic(), values_bound(connection):
                report = Report.objects.create(
                    kind=kind, period=period.key, program=program, pairing=pairing, data=stored(data)
                )
            report.data = data
            return report, True
        except IntegrityError:
            # another worker (or a redelivered copy of this message) inserted version 1 meanwhile
            log.info("%s report %s of %s: inserted concurrently elsewhere; rebuilding that draft", kind, period.key, key["scope_key"])
    with transaction.atomic():
        report = Report.objects.select_for_update().filter(**key).order_by("-version").first()
        if report.status == Report.Status.DRAFT:
            report.data = stored(data)
            report.generated_at = timezone.now()
            with values_bound(connection):
                report.save(update_fields=["data", "generated_at"])
            report.data = data
    return report, False


def scopes_to_generate(kind, period, program_ids=None):
    """(program id, pairing id or None) for every scope the scheduled job reports on."""
    period = period_for(kind, period)
    programs = Program.objects.filter(is_active=True)
    if kind in KIND_FLAG:
        programs = programs.filter(**{KIND_FLAG[kind]: True})
    if program_ids is not None:
        programs = programs.filter(pk__in=program_ids)
    # a period that has ended is reported as it stood at its end: its pairings too (those its program report covers)
    now = timezone.now()
    then = as_at_day(period, now) if reads_history(period, now) else None
    scopes = []
    for program in programs.order_by("id"):
        scopes.append((program.id, None))
        scopes.extend((program.id, pairing_id) for pairing_id in selectors.pairings_to_generate(program, period, then))
    return scopes
