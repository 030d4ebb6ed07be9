"""Small helpers shared by the apps' forms and views."""


def add_service_error(form, error):
    """Put a service's ValidationError on the form: each message under the field it is keyed by where the
    form has that field, else at the top of the form (as is a message keyed by no field at all)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.error_dict.items():
        form.add_error(name if name in form.fields else None, errors)


# --- The set-up pages' forms (portal/setup_views.py); the services check everything again.

from django import forms  # noqa: E402
from django.utils.translation import gettext_lazy as _  # noqa: E402

from portal import permissions  # noqa: E402
from portal.models import Membership, Organization  # noqa: E402
from portal.widgets import PickerWidget  # noqa: E402

# Past this many organisations to choose from, a set-up form asks for one through the organisation picker (typed and
# searched, setup:org_picker) instead of a drop-down: a province office's 7,105 made each form 0.4-1.2 s to render
# and a list no one scrolls. Under it, the drop-down, which a small deployment reads at a glance.
ORG_DROPDOWN_CAP = 300


def org_choice(field, queryset, user):
    """Give the organisation ``field`` its ``queryset`` (some of the organisations ``user`` sets up) and, when those
    are more than ORG_DROPDOWN_CAP, the picker. The field checks the value against the queryset either way."""
    field.queryset = queryset
    ids = permissions.manageable_org_ids(user)  # read with the scope: counted without a query, but a superuser's
    if (Organization.objects.count() if ids is None else len(ids)) > ORG_DROPDOWN_CAP:
        widget = PickerWidget("setup:org_picker", placeholder=_("Type the name"))
        widget.choices, widget.is_required = field.choices, field.required
        field.widget = widget


class OrganizationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    short_name = forms.CharField(label=_("Short name"), max_length=40, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=Organization.Kind.choices)
    parent = forms.ModelChoiceField(label=_("Belongs to"), queryset=Organization.objects.none(), required=False)
    managed_by = forms.ModelChoiceField(
        label=_("Kept by the program office"), queryset=Organization.objects.none(), required=False,
        help_text=_("A top-level organisation is kept by one of your offices."),
    )
    address = forms.CharField(label=_("Address"), max_length=200, required=False)
    contact_name = forms.CharField(label=_("Contact person"), max_length=60, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=20, required=False)

    def __init__(self, *args, user, instance=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.instance = user, instance
        parents = permissions.manageable_orgs(user).order_by("name")
        if instance is not None:
            parents = parents.exclude(pk__in=permissions.subtree_ids([instance.pk]))
        root_allowed = permissions.can_create_root(user) or (instance is not None and instance.parent_id is None)
        if root_allowed:
            self.fields["parent"].empty_label = _("— none: a top-level organisation —")
        else:
            self.fields["parent"].required = True
        org_choice(self.fields["parent"], parents, user)
        offices = permissions.admin_offices(user)
        if instance is None and not user.is_superuser and offices.count() > 1:
            self.fields["managed_by"].queryset = offices
        else:
            del self.fields["managed_by"]


class InviteForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), max_length=60)
    phone = forms.CharField(label=_("Mobile phone"), max_length=20, required=False)
    organization = forms.ModelChoiceField(label=_("Organisation"), queryset=Organization.objects.none())
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)
    title = forms.CharField(label=_("Position"), max_length=60, required=False, help_text=_("e.g. 村支书, 支部书记"))
    email = forms.EmailField(
        label=_("E-mail"), required=False,
        help_text=_("Optional. With an address the link is also sent by e-mail; without, copy it into WeChat."),
    )
    username = forms.CharField(
        label=_("User name"), max_length=150, required=False,
        help_text=_("Optional: one is made up (the person can change it when accepting)."),
    )

    def __init__(self, *args, user, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        active = permissions.manageable_orgs(user).filter(is_active=True).order_by("name")
        org_choice(self.fields["organization"], active, user)
        if organization is not None:
            self.fields["organization"].initial = organization.pk
            roles = permissions.grantable_roles(user, organization)
            self.fields["role"].choices = [(r.value, r.label) for r in roles] or Membership.Role.choices


class MembershipForm(forms.Form):
    organization = forms.ModelChoiceField(label=_("Organisation"), queryset=Organization.objects.none())
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)
    title = forms.CharField(label=_("Position"), max_length=60, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        active = permissions.manageable_orgs(user).filter(is_active=True).order_by("name")
        org_choice(self.fields["organization"], active, user)


class AcceptInvitationForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150, help_text=_("You sign in with it."))
    password1 = forms.CharField(label=_("Password"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(
        label=_("Password (again)"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data
