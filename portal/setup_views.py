"""Set-up pages for program admins and party committees: the organisation tree, people, memberships and
invitations. Thin: parse, check the scope (portal.permissions: outside it 404, may see but not change 403),
call a selector or a service (portal.services), render."""

from allauth.core import ratelimit
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.utils.decorators import method_decorator
from django.views.generic import ListView

from portal import permissions, search, selectors, services
from portal.filters import OrganizationFilter, PersonFilter
from portal.forms import AcceptInvitationForm, InviteForm, MembershipForm, OrganizationForm, add_service_error
from portal.models import Membership, Organization
from portal.permissions import shown_phone
from portal.widgets import MAX_RESULTS, picker_query, picker_response


class SetUpMixin(LoginRequiredMixin):
    """Only those who set something up (a program admin, a party committee, a superuser) reach these pages:
    anyone else gets 403 on the list and form pages (`list_page`) and 404 on an object (it is outside their
    scope, like any object they cannot see)."""

    list_page = False

    def dispatch(self, request, *args, **kwargs):
        if self.list_page and request.user.is_authenticated and not permissions.can_set_up(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def org_or_404(self, pk):
        org = Organization.objects.select_related("parent", "managed_by").filter(pk=pk).first()
        if org is None or not permissions.can_manage_org(self.request.user, org):
            raise Http404
        return org

    def person_or_404(self, pk):
        person = selectors.person_visible(self.request.user, pk)
        if person is None:
            raise Http404
        return person


def _id(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- Organisations


class OrganizationPickerView(SetUpMixin, View):
    """The organisation picker's endpoint (portal.widgets.PickerWidget, the people list's filter): the
    organisations the user sets up whose name or short name holds every term of ?q=, ≤ 20, the parent as a hint."""

    list_page = True

    def get(self, request):
        query = picker_query(request)
        if not search.terms(query):
            return picker_response([])
        rows = (
            permissions.manageable_orgs(request.user)
            .filter(search.search_q(query, ("name", "short_name")))
            .order_by("name", "id")
            .values_list("id", "name", "parent__name")[:MAX_RESULTS]
        )
        return picker_response(rows)


class OrganizationListView(SetUpMixin, View):
    list_page = True

    def get(self, request):
        queryset = permissions.manageable_orgs(request.user)
        filterset = OrganizationFilter(request.GET or None, queryset=queryset)
        if filterset.is_bound and filterset.is_valid():
            queryset = filterset.qs
        page_obj = selectors.organization_tree(request.user, queryset, request.GET.get("page"))
        return render(request, "portal/setup/org_list.html", {
            "orgs": page_obj.object_list, "page_obj": page_obj, "paginator": page_obj.paginator,
            "is_paginated": page_obj.has_other_pages(), "filter": filterset,
            "can_create_root": permissions.can_create_root(request.user),
        })


def _org_values(form):
    data = dict(form.cleaned_data)
    data.pop("managed_by", None)
    return data


K = Organization.Kind
CHILD_KIND = {
    K.SCHOOL: K.BRANCH, K.COLLEGE: K.BRANCH, K.PARTY_COMMITTEE: K.BRANCH, K.GOVERNMENT: K.DEPARTMENT,
    K.DEPARTMENT: K.BRANCH, K.TOWN: K.VILLAGE, K.SUBDISTRICT: K.COMMUNITY,
}


class OrganizationCreateView(SetUpMixin, View):
    list_page = True

    def form(self, data=None):
        parent_id = _id(self.request.GET.get("parent"))
        initial = {}
        if parent_id is not None:
            parent = self.org_or_404(parent_id)
            initial["parent"] = parent.pk
            # what usually sits under the parent: a school's party branch, a town's village
            initial["kind"] = CHILD_KIND.get(parent.kind, "")
        return OrganizationForm(data, user=self.request.user, initial=initial)

    def get(self, request):
        return render(request, "portal/setup/org_form.html", {"form": self.form()})

    def post(self, request):
        form = self.form(request.POST)
        if form.is_valid():
            try:
                org = services.organization_create(
                    actor=request.user, managed_by=form.cleaned_data.get("managed_by"), **_org_values(form)
                )
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("%(org)s was added.") % {"org": org})
                return redirect("setup:org_detail", org.pk)
        return render(request, "portal/setup/org_form.html", {"form": form})


class OrganizationDetailView(SetUpMixin, View):
    def get(self, request, pk):
        org = self.org_or_404(pk)
        children = list(org.children.order_by("name"))
        memberships = list(org.memberships.select_related("user").order_by("role", "user__full_name"))
        for m in memberships:
            m.shown_phone = shown_phone(request.user, m.user.phone, org.pk)
        return render(request, "portal/setup/org_detail.html", {
            "org": org, "children": children, "memberships": memberships,
            "can_invite": bool(permissions.grantable_roles(request.user, org)) and org.is_active,
        })


class OrganizationUpdateView(SetUpMixin, View):
    def form(self, org, data=None):
        initial = {name: getattr(org, name) for name in services.ORG_FIELDS}
        initial["parent"] = org.parent_id
        return OrganizationForm(data, user=self.request.user, instance=org, initial=initial)

    def get(self, request, pk):
        org = self.org_or_404(pk)
        return render(request, "portal/setup/org_form.html", {"form": self.form(org), "org": org})

    def post(self, request, pk):
        org = self.org_or_404(pk)
        form = self.form(org, request.POST)
        if form.is_valid():
            try:
                services.organization_update(actor=request.user, organization=org, **_org_values(form))
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("The changes were saved."))
                return redirect("setup:org_detail", org.pk)
        return render(request, "portal/setup/org_form.html", {"form": form, "org": org})


class OrganizationActiveView(SetUpMixin, View):
    def post(self, request, pk):
        org = self.org_or_404(pk)
        active = request.POST.get("active") == "1"
        try:
            services.organization_set_active(actor=request.user, organization=org, active=active)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("%(org)s is active again.") % {"org": org} if active
                             else _("%(org)s was deactivated; its records are kept.") % {"org": org})
        return redirect("setup:org_detail", org.pk)


# --- People

class PersonListView(SetUpMixin, ListView):
    list_page = True

    template_name = "portal/setup/person_list.html"
    paginate_by = 50

    def get_queryset(self):
        queryset = selectors.people(self.request.user)
        self.filterset = PersonFilter(self.request.GET or None, queryset=queryset, request=self.request)
        return self.filterset.qs if self.filterset.is_bound and self.filterset.is_valid() else queryset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        for person in context["object_list"]:
            shown = person.shown_memberships
            org_id = shown[0].organization_id if shown else None
            person.shown_phone = shown_phone(self.request.user, person.phone, org_id)
        context["filter"] = self.filterset
        return context


class PersonDetailView(SetUpMixin, View):
    def get(self, request, pk):
        person = self.person_or_404(pk)
        memberships = list(person.memberships.select_related("organization").order_by("organization__name", "role"))
        offices = set(permissions.admin_offices(request.user).values_list("id", flat=True))
        for m in memberships:
            m.in_scope = permissions.can_manage_org(request.user, m.organization)
            m.removable = m.in_scope and m.role in permissions.grantable_roles(
                request.user, m.organization, office_ids=offices
            )
        first = next((m.organization_id for m in memberships if m.in_scope), None)
        invitation = person.invitations.select_related("created_by").order_by("-created_at").first()
        shown = request.session.pop("setup_invitation_link", None)
        link = shown["link"] if shown and shown.get("user") == person.pk else None
        return render(request, "portal/setup/person_detail.html", {
            "person": person,
            "memberships": memberships,
            "phone": shown_phone(request.user, person.phone, first),
            "can_set_active": services.can_set_person_active(request.user, person, memberships),
            "invitation": invitation,
            "link": link,
            "invitation_open": invitation is not None and invitation.is_open(timezone.now()),
        })


class MembershipAddView(SetUpMixin, View):
    def get(self, request, pk):
        person = self.person_or_404(pk)
        return render(request, "portal/setup/membership_form.html", {
            "person": person, "form": MembershipForm(user=request.user),
        })

    def post(self, request, pk):
        person = self.person_or_404(pk)
        form = MembershipForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                services.membership_add(actor=request.user, user=person, **form.cleaned_data)
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("The role was added."))
                return redirect("setup:person_detail", person.pk)
        return render(request, "portal/setup/membership_form.html", {"person": person, "form": form})


class MembershipRemoveView(SetUpMixin, View):
    def post(self, request, pk):
        membership = Membership.objects.select_related("organization", "user").filter(pk=pk).first()
        if membership is None or not permissions.can_manage_org(request.user, membership.organization):
            raise Http404
        try:
            services.membership_remove(actor=request.user, membership=membership)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The role was taken away; the person's records are kept."))
        if selectors.person_visible(request.user, membership.user_id) is None:
            return redirect("setup:person_list")
        return redirect("setup:person_detail", membership.user_id)


class PersonActiveView(SetUpMixin, View):
    def post(self, request, pk):
        person = self.person_or_404(pk)
        active = request.POST.get("active") == "1"
        services.person_set_active(actor=request.user, person=person, active=active)  # PermissionDenied → 403
        messages.success(request, _("%(user)s can sign in again.") % {"user": person} if active
                         else _("%(user)s can no longer sign in; their roles and records are kept.") % {"user": person})
        return redirect("setup:person_detail", person.pk)


def _show_link(request, person, token):
    """The one-time link is shown once, on the next page: kept in the session until then, never stored."""
    # The copied link names the host the admin is on (Django has checked it against ALLOWED_HOSTS); the mail's
    # link is built from settings.PORTAL_BASE_URL instead, never from a request's Host header.
    link = request.build_absolute_uri(reverse("setup:invite_accept", args=[token]))
    request.session["setup_invitation_link"] = {"user": person.pk, "link": link}


class InviteView(SetUpMixin, View):
    list_page = True

    def get(self, request):
        org = None
        if "organization" in request.GET:
            org_id = _id(request.GET["organization"])
            if org_id is None:
                raise Http404
            org = self.org_or_404(org_id)
        return render(request, "portal/setup/invite.html", {
            "form": InviteForm(user=request.user, organization=org), "org": org,
        })

    def post(self, request):
        form = InviteForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                person, _invitation, token = services.person_invite(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                _show_link(request, person, token)
                if person.email:
                    messages.success(request, _("%(user)s was invited; the link was also sent to %(email)s.") % {
                        "user": person, "email": person.email})
                else:
                    messages.success(request, _("%(user)s was invited.") % {"user": person})
                return redirect("setup:person_detail", person.pk)
        return render(request, "portal/setup/invite.html", {"form": form, "org": None})


class InvitationReissueView(SetUpMixin, View):
    def post(self, request, pk):
        person = self.person_or_404(pk)
        try:
            _invitation, token = services.invitation_reissue(actor=request.user, person=person)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            _show_link(request, person, token)
            messages.success(request, _("A new link was made; the old one no longer works."))
        return redirect("setup:person_detail", person.pk)


# --- Accepting an invitation (anonymous)

@method_decorator(never_cache, name="dispatch")
class InvitationAcceptView(View):
    def invalid(self, request, reason):
        return render(request, "portal/setup/invite_invalid.html", status=404 if reason == "unknown" else 410)

    def dispatch(self, request, *args, **kwargs):
        # the same budget as allauth's password-reset links (settings.ACCOUNT_RATE_LIMITS)
        if request.method == "POST" and not ratelimit.consume(request, action="reset_password_from_key"):
            return render(request, "portal/setup/invite_invalid.html", {"too_many": True}, status=429)
        return super().dispatch(request, *args, **kwargs)

    def context(self, invitation, form):
        membership = invitation.user.memberships.select_related("organization").order_by("pk").first()
        return {"invitation": invitation, "membership": membership, "form": form}

    def get(self, request, token):
        invitation, reason = services.invitation_find(token)
        if invitation is None:
            return self.invalid(request, reason)
        form = AcceptInvitationForm(initial={"username": invitation.user.username})
        return render(request, "portal/setup/invite_accept.html", self.context(invitation, form))

    def post(self, request, token):
        invitation, reason = services.invitation_find(token)
        used = services.invitation_used(token) if invitation is None else None
        if used is not None:
            # a second click on "accept" (the first one chose the name and password, and signed the invitee in)
            if request.user.is_authenticated and request.user.pk == used.user_id:
                messages.info(request, _("Your account is ready already; you are signed in."))
                return redirect("home")
            messages.info(request, _("This invitation was used already: sign in with the user name and password chosen then."))
            return redirect("account_login")
        if invitation is None:
            return self.invalid(request, reason)
        form = AcceptInvitationForm(request.POST)
        if form.is_valid():
            try:
                user = services.invitation_accept(
                    token=token, username=form.cleaned_data["username"], password=form.cleaned_data["password1"]
                )
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                login(request, user, backend="allauth.account.auth_backends.AuthenticationBackend")
                messages.success(request, _("Welcome, %(user)s: your account is ready.") % {"user": user})
                return redirect("home")
        return render(request, "portal/setup/invite_accept.html", self.context(invitation, form))
