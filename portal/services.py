"""Writes of the base app: accounts and memberships."""

import hashlib
import os
import re
import secrets
from datetime import timedelta

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from celery import current_app
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import permissions
from portal.models import Invitation, Membership, Organization, User
from portal.queue import enqueue


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


# --- Set-up: organisations, people, invitations (the set-up pages of portal/setup_views.py call these).

def _require(condition):
    """Outside the actor's scope an object does not exist for them: the same answer as an unknown id."""
    if not condition:
        raise ValidationError(_("Select a valid choice. That choice is not one of the available choices."))


ORG_FIELDS = ("name", "short_name", "kind", "address", "contact_name", "contact_phone")


def _check_org_name(*, name, parent, exclude_pk=None):
    siblings = Organization.objects.filter(parent=parent, name=name)
    if exclude_pk:
        siblings = siblings.exclude(pk=exclude_pk)
    if siblings.exists():
        if parent is None:
            message = _("A top-level organisation named %(name)s already exists.") % {"name": name}
        else:
            message = _("%(parent)s already has an organisation named %(name)s.") % {"parent": parent, "name": name}
        raise ValidationError({"name": message})


@transaction.atomic
def organization_create(*, actor, name, kind, parent=None, managed_by=None, **fields):
    """Add an organisation below one the actor manages, or (a program admin) a root kept by one of the
    actor's offices. Names are unique within their parent."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Enter a name.")})
    if kind not in Organization.Kind.values:
        raise ValidationError({"kind": _("Choose a kind.")})
    if parent is not None:
        if not permissions.can_manage_org(actor, parent):
            raise ValidationError({"parent": _("Select a valid choice. That choice is not one of the available choices.")})
        managed_by = None  # a subtree follows its root
    else:
        if not permissions.can_create_root(actor):
            raise ValidationError({"parent": _("Choose the organisation this one belongs to.")})
        offices = permissions.admin_offices(actor)
        if managed_by is None and not actor.is_superuser:
            offices = list(offices[:2])
            if len(offices) != 1:
                raise ValidationError({"managed_by": _("Choose the program office that keeps this organisation.")})
            managed_by = offices[0]
        elif managed_by is not None and not actor.is_superuser and not offices.filter(pk=managed_by.pk).exists():
            raise ValidationError({"managed_by": _("Select a valid choice. That choice is not one of the available choices.")})
    _check_org_name(name=name, parent=parent)
    extra = {key: (fields.get(key) or "").strip() for key in ORG_FIELDS if key not in ("name", "kind")}
    return Organization.objects.create(name=name, kind=kind, parent=parent, managed_by=managed_by, **extra)


@transaction.atomic
def organization_update(*, actor, organization, name, kind, parent=None, **fields):
    """Change an organisation's record. A new parent must be one the actor manages and not the organisation
    itself or one of its descendants; only a program admin may turn an organisation into a root."""
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    _require(permissions.can_manage_org(actor, organization))
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Enter a name.")})
    if kind not in Organization.Kind.values:
        raise ValidationError({"kind": _("Choose a kind.")})
    if parent is not None and parent.pk != organization.parent_id:
        if not permissions.can_manage_org(actor, parent):
            raise ValidationError({"parent": _("Select a valid choice. That choice is not one of the available choices.")})
        if parent.pk in permissions.subtree_ids([organization.pk]):
            raise ValidationError({"parent": _("An organisation cannot be placed below itself or one of its own units.")})
    if parent is None and organization.parent_id is not None:
        if not permissions.can_create_root(actor):
            raise ValidationError({"parent": _("Choose the organisation this one belongs to.")})
        if organization.managed_by_id is None and not actor.is_superuser:
            offices = list(permissions.admin_offices(actor)[:1])
            organization.managed_by = offices[0] if offices else None
    _check_org_name(name=name, parent=parent, exclude_pk=organization.pk)
    organization.name, organization.kind, organization.parent = name, kind, parent
    if parent is not None:
        organization.managed_by = None
    for key in ORG_FIELDS:
        if key not in ("name", "kind"):
            setattr(organization, key, (fields.get(key) or "").strip())
    organization.save()
    return organization


@transaction.atomic
def organization_set_active(*, actor, organization, active):
    """Deactivate or reactivate an organisation: its records and memberships are kept (the scope code
    ignores memberships of inactive organisations). Nobody switches off the organisation of their own role."""
    _require(permissions.can_manage_org(actor, organization))
    if not active and Membership.objects.filter(user=actor, organization=organization).exists():
        raise ValidationError(_("You cannot deactivate an organisation you hold a role in yourself."))
    if organization.is_active != active:
        organization.is_active = active
        organization.save(update_fields=["is_active"])
    return organization


def _check_role(*, actor, organization, role):
    _require(permissions.can_manage_org(actor, organization))
    if role not in permissions.grantable_roles(actor, organization):
        raise ValidationError({"role": _("You cannot give the role %(role)s in %(organization)s.") % {
            "role": Membership.Role(role).label if role in Membership.Role.values else role,
            "organization": organization,
        }})


@transaction.atomic
def membership_add(*, actor, user, organization, role, title=""):
    """Give a person a role in an organisation the actor manages (a role the actor may grant there)."""
    _check_role(actor=actor, organization=organization, role=role)
    if Membership.objects.filter(user=user, organization=organization, role=role).exists():
        raise ValidationError({"role": _("%(user)s already has this role in %(organization)s.") % {
            "user": user, "organization": organization}})
    return Membership.objects.create(user=user, organization=organization, role=role, title=(title or "").strip())


@transaction.atomic
def membership_remove(*, actor, membership):
    """Take a role away; the person's records stay (and the membership's history shows who removed it)."""
    _check_role(actor=actor, organization=membership.organization, role=membership.role)
    if membership.user_id == actor.pk and membership.role in (Membership.Role.ADMIN, Membership.Role.COMMITTEE):
        raise ValidationError(_("You cannot take away your own set-up role."))
    membership.delete()


def can_set_person_active(actor, person, memberships=None):
    """May the actor switch this account off or on: they manage every organisation the person holds a role
    in, the person is not themselves, and not a superuser (unless the actor is one)."""
    if person.pk == actor.pk or (person.is_superuser and not actor.is_superuser):
        return False
    if memberships is None:
        memberships = list(person.memberships.select_related("organization"))
    if not memberships:
        return bool(actor.is_superuser)
    return all(permissions.can_manage_org(actor, m.organization) for m in memberships)


@transaction.atomic
def person_set_active(*, actor, person, active):
    """Deactivate an account (it can no longer sign in; its memberships and records are kept) or reactivate
    it; who did it and when are recorded on the account."""
    person = User.objects.select_for_update().get(pk=person.pk)
    if not can_set_person_active(actor, person):
        raise PermissionDenied
    if person.is_active != active:
        person.is_active = active
        person.active_changed_by = actor
        person.active_changed_at = timezone.now()
        person.save(update_fields=["is_active", "active_changed_by", "active_changed_at"])
        if not active:
            Invitation.objects.filter(user=person, used_at__isnull=True, revoked_at__isnull=True).update(
                revoked_at=timezone.now()
            )
    return person


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_link(token):
    """The full address of an invitation's one-time link (settings.PORTAL_BASE_URL)."""
    return f"{settings.PORTAL_BASE_URL}{reverse('setup:invite_accept', args=[token])}"


# Named, not imported: portal.tasks runs this module's services (the ledger import's).
SEND_INVITATION = "portal.tasks.send_invitation"


def _invitation_issue(*, user, actor):
    """A new invitation for the user (any open one is revoked): returns (invitation, token). The token is
    shown once; only its SHA-256 hash is stored."""
    now = timezone.now()
    Invitation.objects.filter(user=user, used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        user=user, token_hash=_hash(token), created_by=actor, expires_at=now + timedelta(days=Invitation.VALID_DAYS)
    )
    if user.email:
        enqueue(current_app.tasks[SEND_INVITATION], invitation.pk, token)
    return invitation, token


def _generated_username():
    for _attempt in range(20):
        username = f"u{secrets.randbelow(10**8):08d}"
        if not User.objects.filter(username__iexact=username).exists():
            return username
    raise ValidationError(_("Could not make a user name; try again."))


PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{5,19}$")


@transaction.atomic
def person_invite(*, actor, full_name, organization, role, phone="", title="", email="", username=""):
    """Create a person's account (no usable password yet) with a role in an organisation the actor manages,
    and a one-time invitation link: returns (user, invitation, token). With an e-mail address the link also
    goes out by mail (a Celery task, after the commit); the link is always shown once to the actor, who can
    paste it into WeChat."""
    errors = {}
    full_name, phone, email, username = (v.strip() for v in (full_name or "", phone or "", email or "", username or ""))
    if not full_name:
        errors["full_name"] = _("Enter the person's full name.")
    if phone and not PHONE_RE.match(phone):
        errors["phone"] = _("Enter a phone number of digits only, e.g. 13800138000.")
    if email and User.objects.filter(email__iexact=email).exists():
        errors["email"] = _("Someone already uses this e-mail address.")
    if username:
        try:
            UnicodeUsernameValidator()(username)
        except ValidationError:
            errors["username"] = _("Use letters, digits and @ . + - _ only.")
        else:
            if User.objects.filter(username__iexact=username).exists():
                errors["username"] = _("This user name is taken.")
    if errors:
        raise ValidationError(errors)
    _check_role(actor=actor, organization=organization, role=role)
    user = User(username=username or _generated_username(), full_name=full_name, phone=phone, email=email)
    user.set_unusable_password()
    user.save()
    Membership.objects.create(user=user, organization=organization, role=role, title=(title or "").strip())
    invitation, token = _invitation_issue(user=user, actor=actor)
    return user, invitation, token


@transaction.atomic
def invitation_reissue(*, actor, person):
    """A new one-time link for someone who has not signed in yet (or lost theirs); the old link stops working."""
    if not person.is_active:
        raise ValidationError(_("%(user)s is deactivated and cannot be invited.") % {"user": person})
    if not can_set_person_active(actor, person):
        raise PermissionDenied
    return _invitation_issue(user=person, actor=actor)


def invitation_find(token, *, now=None):
    """The open invitation of this token, or (None, reason) where reason is 'unknown' or 'closed'."""
    now = now or timezone.now()
    invitation = Invitation.objects.select_related("user", "created_by").filter(token_hash=_hash(token or "")).first()
    if invitation is None:
        return None, "unknown"
    if not invitation.is_open(now) or not invitation.user.is_active:
        return None, "closed"
    return invitation, ""


def invitation_used(token):
    """The invitation of this token if it was accepted (not revoked), else None: a second click on "accept"."""
    return Invitation.objects.filter(token_hash=_hash(token or ""), used_at__isnull=False, revoked_at__isnull=True).first()


@transaction.atomic
def invitation_accept(*, token, username, password):
    """The invitee chooses a user name and password; the link is used up. Returns the user."""
    invitation, _reason = invitation_find(token)
    if invitation is None:
        raise ValidationError(_("This invitation link is no longer valid."))
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.used_at is not None or invitation.revoked_at is not None:
        raise ValidationError(_("This invitation link is no longer valid."))
    user = invitation.user
    username = (username or "").strip()
    errors = {}
    try:
        UnicodeUsernameValidator()(username)
    except ValidationError:
        errors["username"] = _("Use letters, digits and @ . + - _ only.")
    if not username:
        errors["username"] = _("Choose a user name.")
    elif User.objects.filter(username__iexact=username).exclude(pk=user.pk).exists():
        errors["username"] = _("This user name is taken.")
    user.username = username
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password1"] = exc.messages
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save(update_fields=["username", "password"])
    invitation.used_at = timezone.now()
    invitation.save(update_fields=["used_at"])
    return user
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


# Named, not imported (portal.tasks runs these services): the worker's half of a large import.
LEDGER_APPLY = "portal.ledger_apply"


@transaction.atomic
def import_batch_queue_apply(*, batch, user):
    """Hand a large checked batch to the worker: claimed once (preview → being saved), so a double click or a
    second tab queues nothing more; refused when the batch is not waiting to be saved."""
    from portal.models import ImportBatch

    claimed = ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.PREVIEW, error_rows=0).update(
        status=ImportBatch.Status.APPLYING, message=""
    )
    if not claimed:
        raise ValidationError(_("This import is not waiting to be saved."))
    enqueue(current_app.tasks[LEDGER_APPLY], batch.pk, user.pk)


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
    else:  # each row is checked again, against the database as it now stands: read what they look up once
        kind.prepare(ctx, [row.values for row in rows])
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
