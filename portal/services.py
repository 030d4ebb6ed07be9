"""Writes of the base app: accounts and memberships."""

import os

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _


def user_invitation_link(*, user):
    """A one-time link where the user sets their own password (allauth's reset-from-key page)."""
    path = reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(user), "key": default_token_generator.make_token(user)},
    )
    return f"{settings.PORTAL_BASE_URL}{path}"


@transaction.atomic
def user_invite(*, user, inviter):
    """Send a new account its invitation: an e-mail with a link to set a password, once the transaction
    commits. No public sign-up exists, so this is how people get in. A user who never set a password keeps
    an unusable one."""
    if not user.is_active:
        raise ValidationError(_("%(user)s is deactivated and cannot be invited.") % {"user": user})
    if not user.email:
        raise ValidationError(_("%(user)s has no e-mail address to send the invitation to.") % {"user": user})
    link = user_invitation_link(user=user)
    subject = _("Your account on the pairing portal")
    body = _(
        "Hello %(name)s,\n\n%(inviter)s has created an account for you on the pairing portal "
        "(结对共建). Your user name is %(username)s.\n\nSet your password here (the link works once):\n"
        "%(link)s\n"
    ) % {"name": user, "inviter": inviter, "username": user.username, "link": link}
    recipients = [user.email]
    # after the commit: a transaction around this call that rolls back sends nothing
    transaction.on_commit(lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients))
    return link


# ---------------------------------------------------------------------------------------------------------
# Ledger import (台账导入): the engine is portal.ledger; the kinds live in their apps. See docs/ledger-import.md.
# ---------------------------------------------------------------------------------------------------------

ASYNC_ROWS = 1000  # files with more rows are checked and saved by a Celery task, with a progress bar
PROGRESS_EVERY = 200
PROGRESS_TTL = 6 * 3600


def import_progress_key(batch_id):
    return f"ledger:batch:{batch_id}:progress"


def import_progress(batch_id):
    """{"phase", "done", "total"} of a batch being checked or saved, read from the cache (another process may be
    writing it inside an open transaction)."""
    from django.core.cache import cache

    return cache.get(import_progress_key(batch_id)) or {}


def _progress(batch_id, phase, done, total):
    from django.core.cache import cache

    cache.set(import_progress_key(batch_id), {"phase": phase, "done": done, "total": total}, PROGRESS_TTL)


def import_batches_visible(user):
    """The imports a user sees: their own uploads; a program admin, every batch of the programs they administer
    (each kind says which programs a user oversees: `Kind.overseen_program_ids`); a superuser, all."""
    from django.db.models import Q

    from portal import ledger
    from portal.models import ImportBatch

    if user.is_superuser:
        return ImportBatch.objects.all()
    visible = Q(created_by=user)
    for code, kind in ledger.kinds().items():
        program_ids = list(kind.overseen_program_ids(user))
        if program_ids:
            visible |= Q(kind=code, program_id__in=program_ids)
    return ImportBatch.objects.filter(visible)


def import_batch_actable(user, batch):
    """Who confirms or undoes a batch: who uploaded it (its rows were checked in their scope), or a superuser;
    a program admin overseeing it reads it."""
    return user.is_superuser or batch.created_by_id == user.pk


def _kind_for(batch_or_code, user, program_id):
    from portal import ledger

    kind = ledger.get_kind(batch_or_code)
    if kind is None or not kind.may_import(user, program_id):
        raise PermissionDenied(_("You may not import this kind of ledger for this program."))
    return kind


@transaction.atomic
def import_batch_create(*, user, kind, program_id, upload):
    """Keep an uploaded ledger file (privately) as a batch to check. Refuses, with a message for the form and
    nothing saved, a file that cannot be read or lacks a required column. Returns (batch, table)."""
    from django.core.files.base import ContentFile

    from portal import ledger
    from portal.models import ImportBatch

    kind_obj = _kind_for(kind, user, program_id)
    if upload.size > ledger.MAX_BYTES:
        raise ValidationError(
            _("The file is %(size)s MB; at most %(limit)d MB can be imported. Split it into smaller files.")
            % {"size": f"{upload.size / 1024 / 1024:.1f}", "limit": ledger.MAX_BYTES // 1024 // 1024}
        )
    data = upload.read()
    try:
        table = ledger.read_file(upload.name, data)
    except ledger.LedgerFileError as exc:
        raise ValidationError(str(exc)) from None
    by_key, unknown, missing = ledger.match_headers(table, kind_obj.columns(program_id))
    if missing:
        raise ValidationError(
            _("The file lacks these columns: %(columns)s. Download the template to see the columns.")
            % {"columns": "、".join(missing)}
        )
    program_name = dict(kind_obj.programs(user)).get(program_id, "") if program_id else ""
    name = os.path.basename(upload.name)[:200]
    batch = ImportBatch(
        kind=kind, program_id=program_id, program_name=str(program_name)[:100], file_name=name,
        file_sha256=ledger.file_hash(data), encoding=table.encoding, created_by=user, total_rows=len(table.rows),
        unknown_columns=unknown,
    )
    batch.file.save(f"{batch.file_sha256[:16]}{os.path.splitext(name)[1].lower()}", ContentFile(data), save=False)
    batch._history_user = user
    batch.save()
    return batch, table


def import_batch_check(*, batch, table=None):
    """Check every row of the batch against the database as it stands (nothing of the ledger is saved): each
    row's outcome (new, unchanged, updated, error) and its errors, worded with row, column, value and reason."""
    from portal import ledger
    from portal.models import ImportBatch, ImportRow

    kind = ledger.get_kind(batch.kind)
    if table is None:
        with batch.file.open("rb") as handle:
            table = ledger.read_file(batch.file_name, handle.read())
    columns = kind.columns(batch.program_id)
    by_key, _unknown, _missing = ledger.match_headers(table, columns)
    ctx = kind.context(user=batch.created_by, program_id=batch.program_id, batch=batch)
    total, rows, seen, counts = len(table.rows), [], {}, dict.fromkeys(ImportRow.Outcome.values, 0)
    _progress(batch.id, "check", 0, total)
    all_values = [ledger.row_dict(cells, by_key) for _number, cells, _problems in table.rows]
    kind.prepare(ctx, all_values)
    for done, ((number, cells, problems), values) in enumerate(zip(table.rows, all_values), start=1):
        formula_errors = [
            ledger.cell_error(number, table.headers[index] if index < len(table.headers) else f"#{index + 1}", "",
                              _("holds a formula; enter the value itself (copy, then paste as values)."))
            for index in sorted(problems)
        ]
        check = kind.check(ctx, number, values)
        errors = formula_errors + list(check.errors)
        if not errors and check.key:
            if check.key in seen:
                errors.append(_("Row %(row)s repeats row %(first)s (the same %(key)s).")
                              % {"row": number, "first": seen[check.key], "key": kind.key_help})
            else:
                seen[check.key] = number
        outcome = ImportRow.Outcome.ERROR if errors else check.outcome
        counts[outcome] += 1
        changes = {k: v for k, v in check.changes.items() if not k.startswith("_")}
        if check.checked and outcome != ImportRow.Outcome.ERROR:
            changes["checked"] = check.checked
        rows.append(ImportRow(
            batch=batch, number=number, outcome=outcome, values=values, errors=errors, key=check.key[:400],
            summary=check.summary[:400], changes=changes,
        ))
        if done % PROGRESS_EVERY == 0:
            _progress(batch.id, "check", done, total)
    with transaction.atomic():
        ImportRow.objects.filter(batch=batch).delete()
        ImportRow.objects.bulk_create(rows, batch_size=1000)
        ImportBatch.objects.filter(pk=batch.pk).update(
            status=ImportBatch.Status.PREVIEW, total_rows=total, new_rows=counts["new"],
            unchanged_rows=counts["unchanged"], updated_rows=counts["updated"], error_rows=counts["error"],
        )
    _progress(batch.id, "check", total, total)
    batch.refresh_from_db()
    return batch


@transaction.atomic
def import_batch_apply(*, batch, user):
    """Save the whole batch, all or nothing, once the user has read the preview and confirmed. Every row is
    checked again against the database as it now stands; one error and nothing is saved."""
    from portal.models import ImportBatch, ImportRow

    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    kind = _kind_for(batch.kind, user, batch.program_id)
    if batch.status not in (ImportBatch.Status.PREVIEW, ImportBatch.Status.APPLYING):
        raise ValidationError(_("This import is not waiting to be saved (it is %(status)s).")
                              % {"status": batch.get_status_display()})
    if batch.error_rows:
        raise ValidationError(_("Correct the rows with errors in the file and upload it again: nothing was saved."))
    ctx = kind.context(user=user, program_id=batch.program_id, batch=batch)
    batch_apply = getattr(kind, "apply_rows", None)
    rows = ImportRow.objects.filter(batch=batch).order_by("number")
    if batch_apply is not None:  # the cells are read only for the rows checked again (deferred: rare)
        rows = rows.defer("values", "errors", "summary", "key")
    rows = list(rows)
    total, errors, changed = len(rows), [], []
    _progress(batch.id, "apply", 0, total)
    if batch_apply is not None:  # the kind saves the whole batch at once, from what its check kept
        errors = batch_apply(ctx, rows, progress=lambda done: _progress(batch.id, "apply", done, total))
        changed = rows
    for done, row in enumerate(rows if batch_apply is None else (), start=1):
        check = kind.check(ctx, row.number, row.values)
        if check.errors:
            errors.extend(check.errors)
        elif check.outcome in (ImportRow.Outcome.NEW, ImportRow.Outcome.UPDATED):
            row.outcome = check.outcome
            row.object_id, row.previous = kind.apply(ctx, row.number, row.values, check)
            changed.append(row)
        elif row.outcome != check.outcome:
            row.outcome = check.outcome
            changed.append(row)
        if done % PROGRESS_EVERY == 0:
            _progress(batch.id, "apply", done, total)
    if errors:
        raise ValidationError(
            [_("The database changed since the preview; nothing was saved. Upload the file again to see a new "
               "preview.")] + errors[:20]
        )
    ImportRow.objects.bulk_update(changed, ["outcome", "object_id", "previous"], batch_size=1000)
    batch.status = ImportBatch.Status.APPLIED
    batch.applied_at = timezone.now()
    batch.new_rows = sum(1 for row in rows if row.outcome == ImportRow.Outcome.NEW)
    batch.updated_rows = sum(1 for row in rows if row.outcome == ImportRow.Outcome.UPDATED)
    batch.unchanged_rows = total - batch.new_rows - batch.updated_rows
    batch.message = ""
    batch._history_user = user
    batch._change_reason = "applied"
    batch.save()
    _progress(batch.id, "apply", total, total)
    return batch


@transaction.atomic
def import_batch_undo(*, batch, user):
    """Undo a saved batch: what it created is deleted, what it updated gets its values back. Refused (nothing
    changed) when something has since been built on what it saved."""
    from portal.models import ImportBatch, ImportRow

    batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
    kind = _kind_for(batch.kind, user, batch.program_id)
    if batch.status != ImportBatch.Status.APPLIED:
        raise ValidationError(_("Only a saved import can be undone."))
    records = list(
        ImportRow.objects.filter(batch=batch, outcome__in=[ImportRow.Outcome.NEW, ImportRow.Outcome.UPDATED])
        .order_by("-number").values_list("outcome", "object_id", "previous")
    )
    blockers = kind.undo_blockers(batch=batch, records=records)
    if blockers:
        raise ValidationError([_("This import cannot be undone:")] + blockers[:20])
    kind.undo(batch=batch, user=user, records=records)
    batch.status = ImportBatch.Status.UNDONE
    batch.undone_at = timezone.now()
    batch.undone_by = user
    batch._history_user = user
    batch._change_reason = "undone"
    batch.save()
    return batch
