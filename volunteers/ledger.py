"""The volunteers ledger (志愿者名册) for the import engine (portal.ledger).

Columns: 姓名, 手机号, 所属单位, 人员类别, 是否党员, 备注 (the volunteer list's export writes the same six first, so an
export imports back). Natural key: (所属单位, 姓名, 手机号). A known volunteer whose category, party membership or
note differ is updated (undo restores them). 人员类别 has no default: a blank one is an error.
Who: the organisations the importer manages (portal.permissions.manageable_org_ids: a program admin's, a party
committee's subtree) and a secretary's own branch; any other organisation named is refused as if it did not exist.
"""

from django.core.exceptions import ValidationError
from django.db.models import ProtectedError, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy

from portal import ledger
from portal.ledger import Column, RowCheck, cell_error
from portal.models import Organization
from portal.permissions import manageable_org_ids, scope_for
from volunteers.models import Volunteer

UPDATABLE = ("kind", "is_party_member", "note")


def importable_org_ids(user):
    """The organisations whose volunteers the user may import (None: all, for a superuser)."""
    managed = manageable_org_ids(user)
    if managed is None:
        return None
    return frozenset(managed) | scope_for(user).secretary_orgs


def _orgs(user):
    ids = importable_org_ids(user)
    orgs = Organization.objects.filter(is_active=True).select_related("parent")
    return orgs if ids is None else orgs.filter(id__in=ids)


class VolunteerLedger(ledger.OrganisationScopedKind):
    code = "volunteers"
    label = gettext_lazy("Volunteers")
    key_help = pgettext_lazy("volunteer ledger", "organisation, name and mobile phone")

    def org_ids(self, user):
        return importable_org_ids(user)

    def columns(self, program_id):
        return [
            Column("name", pgettext("volunteer ledger", "Name"), True),
            Column("phone", pgettext("volunteer ledger", "Mobile phone"), help=_("11 digits; part of the key")),
            Column("organization", pgettext("volunteer ledger", "Organisation"), True,
                   _("its name, or “parent/name” where two share a name")),
            Column("kind", pgettext("volunteer ledger", "Category"), True, _("see the sheet of allowed values")),
            Column("is_party_member", pgettext("volunteer ledger", "Party member?"), help=_("是 or 否")),
            Column("note", pgettext("volunteer ledger", "Note")),
        ]

    def example(self, user, program_id):
        org = _orgs(user).order_by("kind", "name").first()
        return {"name": "张三", "phone": "13800000000", "organization": org.name if org else "",
                "kind": str(Volunteer.Kind.PARTY_MEMBER.label), "is_party_member": "是", "note": ""}

    def allowed_values(self, user, program_id):
        names = sorted(ledger.org_path(o) for o in _orgs(user)[:5000])
        return [
            (pgettext("volunteer ledger", "Organisation"), names),
            (pgettext("volunteer ledger", "Category"), [str(label) for label in Volunteer.Kind.labels]),
            (pgettext("volunteer ledger", "Party member?"), ["是", "否"]),
        ]

    def context(self, *, user, program_id, batch=None):
        by_name, by_path = ledger.org_index(_orgs(user))
        return {"user": user, "by_name": by_name, "by_path": by_path, "kinds": ledger.choice_lookup(Volunteer.Kind),
                "headers": {c.key: c.header for c in self.columns(None)}, "existing": {}}

    def prepare(self, ctx, rows):
        # the volunteers the file's names may already be: one query for the batch, not one per row
        names = {row.get("name", "").strip()[:60] for row in rows} - {""}
        orgs = {org.pk for found in ctx["by_name"].values() for org in found}
        existing = ctx["existing"]
        for volunteer in (Volunteer.objects.filter(name__in=names, organization_id__in=orgs)
                          .order_by("-is_active", "id")):
            existing.setdefault((volunteer.organization_id, volunteer.name, volunteer.phone), volunteer)

    def check(self, ctx, number, row):
        headers, errors = ctx["headers"], []

        def error(key, reason):
            errors.append(cell_error(number, headers[key], row.get(key, ""), reason))

        name = row.get("name", "").strip()[:60]
        if not name:
            error("name", _("is required."))
        phone = row.get("phone", "").replace(" ", "").replace("-", "")[:20]
        if phone and not phone.lstrip("+").isdigit():
            error("phone", _("is not a phone number."))
        org = None
        text = row.get("organization", "").strip()
        if not text:
            error("organization", _("is required."))
        else:
            found = ledger.orgs_named(text, ctx["by_name"], ctx["by_path"])
            if len(found) == 1:
                org = found[0]
            elif len(found) > 1:
                error("organization", _("names more than one organisation; write it as “parent/name”."))
            else:
                error("organization", _("is not an organisation you may import volunteers for."))
        kind = ctx["kinds"].get(row.get("kind", "").strip())
        if not row.get("kind", "").strip():
            error("kind", _("is required."))
        elif kind is None:
            error("kind", _("is not one of the categories on the sheet of allowed values."))
        party = ledger.parse_bool(row.get("is_party_member", ""))
        if party is None:
            error("is_party_member", _("is not 是 or 否."))
        if errors:
            return RowCheck(outcome=ledger.Outcome.ERROR, errors=errors)
        values = {"kind": kind, "is_party_member": party, "note": row.get("note", "")[:200]}
        key = f"{org.pk}|{name}|{phone}"
        summary = f"{org.name} {name}"
        existing = ctx["existing"].get((org.pk, name, phone))
        if existing is None:
            return RowCheck(outcome=ledger.Outcome.NEW, key=key, summary=summary,
                            changes={"_org": org, "_name": name, "_phone": phone, "_values": values})
        differ = {field: values[field] for field in UPDATABLE if getattr(existing, field) != values[field]}
        if not differ:
            return RowCheck(outcome=ledger.Outcome.UNCHANGED, key=key, summary=summary)
        return RowCheck(outcome=ledger.Outcome.UPDATED, key=key, summary=summary,
                        changes={"columns": [headers[f] for f in differ], "_existing": existing, "_values": differ})

    def apply(self, ctx, number, row, check):
        changes = check.changes
        if "_existing" in changes:
            volunteer = changes["_existing"]
            previous = {field: getattr(volunteer, field) for field in changes["_values"]}
            for field, value in changes["_values"].items():
                setattr(volunteer, field, value)
            volunteer._history_user = ctx["user"]
            volunteer._change_reason = "ledger import"
            volunteer.save(update_fields=list(changes["_values"]))
            return volunteer.pk, previous
        volunteer = Volunteer(organization=changes["_org"], name=changes["_name"], phone=changes["_phone"],
                              **changes["_values"])
        volunteer._history_user = ctx["user"]
        volunteer._change_reason = "ledger import"
        volunteer.save()
        return volunteer.pk, None

    def undo_blockers(self, *, batch, records):
        created = [object_id for outcome, object_id, _p in records if outcome == "new"]
        used = Volunteer.objects.filter(pk__in=created).filter(
            Q(teams__isnull=False) | Q(certificates__isnull=False)
        ).distinct().order_by("name")[:20]
        return [_("“%(name)s” has service hours, a team or a certificate since the import.") % {"name": v.name}
                for v in used]

    def undo(self, *, batch, user, records):
        volunteers = Volunteer.objects.in_bulk([object_id for _o, object_id, _p in records])
        for outcome, object_id, previous in records:
            volunteer = volunteers.get(object_id)
            if volunteer is None:
                continue
            volunteer._history_user = user
            volunteer._change_reason = "ledger import undone"
            if outcome == "new":
                try:
                    volunteer.delete()
                except ProtectedError:  # hours recorded for them since (in an app that builds on this one)
                    raise ValidationError(
                        [_("“%(name)s” has service hours, a team or a certificate since the import.") % {"name": volunteer.name}]
                    ) from None
            else:
                for field, value in previous.items():
                    setattr(volunteer, field, value)
                volunteer.save(update_fields=list(previous))


ledger.register(VolunteerLedger())
