"""The organisations ledger (组织名册) for the import engine (portal.ledger), registered in PortalConfig.ready.

Columns: 名称, 简称, 类型 (the Organization.Kind labels), 上级单位, 地址, 联系人, 联系电话. Natural key: (上级单位, 名称).
Parents only among the organisations the importer manages (`portal.permissions.manageable_orgs`): any other is
refused as if it did not exist. A row without 上级单位 is a top-level organisation: only a program admin adds one,
and it is kept by the admin's office (`managed_by`). Rows may name as parent an organisation created by a row
above them in the same file (a school, then its branches). A known organisation whose other columns differ is
updated (a column absent from the file is left as it is); undo restores it, and deletes what was created unless
people, units or records hang on it since.
"""

from django.core.exceptions import ValidationError
from django.db.models import ProtectedError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy

from portal import ledger, permissions, services
from portal.ledger import Column, RowCheck, cell_error
from portal.models import Organization

FIELDS = ("short_name", "kind", "address", "contact_name", "contact_phone")
LIMITS = {"name": 100, "short_name": 40, "address": 200, "contact_name": 60, "contact_phone": 20}


class _Pending:
    """An organisation a row above will create (while the file is only checked)."""

    def __init__(self, name, parent):
        self.pk, self.name, self.parent = None, name, parent


class OrganisationLedger(ledger.OrganisationScopedKind):
    code = "organisations"
    label = gettext_lazy("Organisations")
    key_help = pgettext_lazy("organisation ledger", "parent and name")

    def org_ids(self, user):
        return permissions.manageable_org_ids(user)

    def columns(self, program_id):
        return [
            Column("name", pgettext("organisation ledger", "Name"), True),
            Column("short_name", pgettext("organisation ledger", "Short name")),
            Column("kind", pgettext("organisation ledger", "Type"), True, _("see the sheet of allowed values")),
            Column("parent", pgettext("organisation ledger", "Parent"),
                   help=_("an organisation you manage, or one a row above creates; “parent/name” where two share a "
                          "name; blank: a top-level organisation (program admins only)")),
            Column("address", pgettext("organisation ledger", "Address")),
            Column("contact_name", pgettext("organisation ledger", "Contact person")),
            Column("contact_phone", pgettext("organisation ledger", "Contact phone")),
        ]

    def example(self, user, program_id):
        parent = permissions.manageable_orgs(user).filter(is_active=True).order_by("kind", "name").first()
        return {"name": "第五党支部", "short_name": "", "kind": str(Organization.Kind.BRANCH.label),
                "parent": parent.name if parent else "", "address": "", "contact_name": "张三",
                "contact_phone": "13800000000"}

    def allowed_values(self, user, program_id):
        orgs = permissions.manageable_orgs(user).filter(is_active=True).select_related("parent")[:5000]
        return [
            (pgettext("organisation ledger", "Parent"),
             sorted(ledger.org_path(o) for o in orgs)),
            (pgettext("organisation ledger", "Type"), [str(label) for label in Organization.Kind.labels]),
        ]

    def context(self, *, user, program_id, batch=None):
        ctx = {"user": user, "headers": {c.key: c.header for c in self.columns(None)},
               "kinds": ledger.choice_lookup(Organization.Kind),
               "may_root": permissions.can_create_root(user),
               "offices": 1 if user.is_superuser else len(permissions.admin_offices(user)[:2]),
               "batch_label": f"#{batch.pk}" if batch is not None else ""}
        self._load(ctx)
        return ctx

    def _load(self, ctx):
        orgs = list(permissions.manageable_orgs(ctx["user"]).select_related("parent").order_by("id"))
        by_name, by_path = ledger.org_index(orgs)
        ctx.update(by_name=by_name, by_path=by_path, known={(org.parent_id, org.name): org for org in orgs})

    def _add(self, ctx, org):
        """An organisation created (or to be created) by a row: later rows may name it as their parent."""
        ctx["by_name"][org.name] = [o for o in ctx["by_name"].get(org.name, []) if o.parent is not org.parent
                                    and getattr(o, "pk", None) != org.pk] + [org]
        if org.parent is not None:
            ctx["by_path"][ledger.org_path(org)] = org

    def check(self, ctx, number, row):
        headers, errors = ctx["headers"], []

        def error(key, reason):
            errors.append(cell_error(number, headers[key], row.get(key, ""), reason))

        name = row.get("name", "").strip()
        if not name:
            error("name", _("is required."))
        for key, limit in LIMITS.items():
            if len(row.get(key, "").strip()) > limit:
                error(key, _("is longer than %(n)d characters.") % {"n": limit})
        kind = ctx["kinds"].get(row.get("kind", "").strip())
        if not row.get("kind", "").strip():
            error("kind", _("is required."))
        elif kind is None:
            error("kind", _("is not one of the types on the sheet of allowed values."))
        parent = None
        text = row.get("parent", "").strip()
        if text:
            found = ledger.orgs_named(text, ctx["by_name"], ctx["by_path"])
            if len(found) == 1:
                parent = found[0]
            elif len(found) > 1:
                error("parent", _("names more than one organisation; write it as “parent/name”."))
            else:
                error("parent", _("is not an organisation you manage."))
        elif not ctx["may_root"]:
            error("parent", _("is required: only a program admin adds a top-level organisation."))
        elif ctx["offices"] != 1:
            error("parent", _("is required: you administer several program offices; add the top-level "
                              "organisation on the set-up page, where you choose the office that keeps it."))
        if errors:
            return RowCheck(outcome=ledger.Outcome.ERROR, errors=errors)
        values = {key: row[key].strip() for key in FIELDS if key in row and key != "kind"}
        values["kind"] = kind
        parent_key = f"p{parent.pk}" if getattr(parent, "pk", None) else f"n{id(parent)}" if parent else "root"
        key = f"{parent_key}|{name}"
        summary = f"{parent.name}/{name}" if parent is not None else name
        existing = ctx["known"].get((parent.pk, name) if parent is not None else (None, name)) \
            if getattr(parent, "pk", True) is not None else None
        if existing is None:
            if parent is None and Organization.objects.filter(parent=None, name=name).exists():
                error("name", _("is a top-level organisation you do not manage; name a parent, or ask its admin."))
                return RowCheck(outcome=ledger.Outcome.ERROR, errors=errors, key=key)
            self._add(ctx, _Pending(name, parent))
            return RowCheck(outcome=ledger.Outcome.NEW, key=key, summary=summary,
                            changes={"_name": name, "_parent": parent, "_values": values})
        differ = {field: value for field, value in values.items() if getattr(existing, field) != value}
        if not differ:
            return RowCheck(outcome=ledger.Outcome.UNCHANGED, key=key, summary=summary)
        return RowCheck(outcome=ledger.Outcome.UPDATED, key=key, summary=summary,
                        changes={"columns": [headers[field] for field in differ], "_existing": existing,
                                 "_values": differ})

    def apply(self, ctx, number, row, check):
        changes, user = check.changes, ctx["user"]
        try:
            if "_existing" in changes:
                org = changes["_existing"]
                previous = {field: getattr(org, field) for field in changes["_values"]}
                fields = {field: getattr(org, field) for field in FIELDS} | changes["_values"]
                services.organization_update(actor=user, organization=org, name=org.name, parent=org.parent, **fields)
                return org.pk, previous
            org = services.organization_create(actor=user, name=changes["_name"], parent=changes["_parent"],
                                               **changes["_values"])
        except ValidationError as exc:
            raise ValidationError([_("Row %(row)s: %(reason)s") % {"row": number, "reason": message}
                                   for message in exc.messages]) from None
        permissions.forget_manageable_orgs(user)  # a new root's subtree is now the importer's to manage
        org.parent = changes["_parent"]
        self._add(ctx, org)
        ctx["known"][(org.parent_id, org.name)] = org
        return org.pk, None

    def undo_blockers(self, *, batch, records):
        """Whatever refers to an organisation the batch created, except the batch's own organisations below it:
        every relation of Organization is asked (generically: this app names none of the apps that point at it),
        so people, volunteers, pairings or records added since keep it, and nothing is deleted in cascade."""
        created = [object_id for outcome, object_id, _p in records if outcome == "new" and object_id]
        if not created:
            return []
        found = set()
        for relation in Organization._meta.related_objects:
            model = relation.related_model
            if model._meta.auto_created or model.__name__.startswith("Historical") or not relation.field.concrete:
                continue
            linked = model._base_manager.filter(**{f"{relation.field.name}__in": created})
            if model is Organization:
                linked = linked.exclude(pk__in=created)
            if linked.exists():
                found.add(str(model._meta.verbose_name_plural))
        if found:
            return [_("People, units or records were added to the organisations it created since the import (%(what)s).")
                    % {"what": "、".join(sorted(found))}]
        return []

    def undo(self, *, batch, user, records):
        orgs = Organization.objects.in_bulk([object_id for _o, object_id, _p in records])
        for outcome, object_id, previous in records:  # the last row first: children before their parents
            org = orgs.get(object_id)
            if org is None:
                continue
            org._history_user = user
            org._change_reason = "ledger import undone"
            if outcome == "new":
                try:
                    org.delete()
                except ProtectedError:
                    raise ValidationError([_("“%(name)s” has people, units or records since the import.")
                                           % {"name": org.name}]) from None
            else:
                for field, value in previous.items():
                    setattr(org, field, value)
                org.save(update_fields=list(previous))


ledger.register(OrganisationLedger())
