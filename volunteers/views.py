"""Volunteer and team pages, bulk verification of hours, service certificates. Thin: parse, check scope
(ScopedObjectMixin: outside scope 404, visible but not allowed 403), call a selector or service, render."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import DetailView, ListView

from portal.forms import add_service_error
from portal.permissions import ScopedObjectMixin
from volunteers import selectors, services
from volunteers.certificates import CONTENT_TYPE, certificate_docx
from volunteers.forms import CertificateForm, VerifyForm, VolunteerFilterForm
from volunteers.models import Certificate, Team, Volunteer

RECORDS_PER_PAGE = 50


class VolunteerListView(LoginRequiredMixin, ListView):
    template_name = "volunteers/volunteer_list.html"
    paginate_by = 50

    def get_queryset(self):
        self.filter_form = VolunteerFilterForm(self.request.GET or None)
        queryset = selectors.volunteer_list(self.request.user).prefetch_related("teams")
        return self.filter_form.filter(queryset)

    def get_context_data(self, **kwargs):
        return super().get_context_data(filter_form=self.filter_form, **kwargs)


class VolunteerMixin(LoginRequiredMixin, ScopedObjectMixin):
    model = Volunteer

    def get_queryset(self):
        return super().get_queryset().select_related("organization__parent")


class VolunteerDetailView(VolunteerMixin, DetailView):
    template_name = "volunteers/volunteer_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        volunteer, user = self.object, self.request.user
        records = selectors.volunteer_records(user, volunteer)
        page = Paginator(records, RECORDS_PER_PAGE).get_page(self.request.GET.get("page"))
        can_issue = services.can_issue_certificates(user, volunteer)
        totals = selectors.volunteer_totals(volunteer)
        context.update(
            totals=totals,
            records=page,
            verifiable=any(r.can_verify for r in records),
            teams=list(volunteer.teams.select_related("organization").order_by("name")),
            certificates=selectors.volunteer_certificates(volunteer),
            can_issue=can_issue,
            certificate_form=CertificateForm(last_service=totals["last_verified_on"]) if can_issue else None,
        )
        return context


def _verify(request, records, actor):
    form = VerifyForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("records", []):
            messages.error(request, error)
        return
    verified = services.service_records_verify(records=records.filter(pk__in=form.cleaned_data["records"]), actor=actor)
    asked = len(set(form.cleaned_data["records"]))
    if verified:
        messages.success(
            request,
            ngettext("%(n)d service record verified.", "%(n)d service records verified.", verified) % {"n": verified},
        )
    if verified < asked:
        messages.warning(
            request,
            ngettext(
                "%(n)d record was left as it was: already verified, or not yours to verify.",
                "%(n)d records were left as they were: already verified, or not yours to verify.",
                asked - verified,
            )
            % {"n": asked - verified},
        )


class VolunteerVerifyView(VolunteerMixin, DetailView):
    """POST: verify the ticked hours of one volunteer (the organising side only, 谁记录谁证明)."""

    http_method_names = ["post"]

    def permission_check(self, obj):
        return obj.service_records.editable_by(self.request.user).exists()

    def post(self, request, *args, **kwargs):
        volunteer = self.get_object()
        _verify(request, volunteer.service_records.all(), request.user)
        return redirect("volunteers:volunteer_detail", pk=volunteer.pk)


class CertificateIssueView(VolunteerMixin, DetailView):
    """The service certificate of a volunteer for a period: issued (numbered) by their organisation's
    managers, then downloaded from the volunteer's page."""

    needs_edit = True
    template_name = "volunteers/certificate_form.html"

    def get(self, request, *args, **kwargs):
        self.object = volunteer = self.get_object()
        last = selectors.volunteer_totals(volunteer)["last_verified_on"]
        return self.render_to_response(self.get_context_data(form=CertificateForm(last_service=last)))

    def post(self, request, *args, **kwargs):
        self.object = volunteer = self.get_object()
        form = CertificateForm(request.POST)
        if form.is_valid():
            try:
                certificate, created = services.certificate_issue(
                    volunteer=volunteer, start=form.cleaned_data["start"], end=form.cleaned_data["end"], actor=request.user
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                if created:
                    message = _("Certificate %(number)s issued: download it, print it and stamp it.")
                else:
                    message = _("Certificate %(number)s was already issued for this period and these hours.")
                messages.success(request, message % {"number": certificate.number})
                return redirect(reverse("volunteers:volunteer_detail", args=[volunteer.pk]) + "#certificates")
        return self.render_to_response(self.get_context_data(form=form))


class CertificateDownloadView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    model = Certificate

    def get_queryset(self):
        return super().get_queryset().select_related("volunteer")

    def get(self, request, *args, **kwargs):
        certificate = self.get_object()
        content = certificate_docx(certificate, volunteer_kind=certificate.volunteer.get_kind_display())
        response = HttpResponse(content, content_type=CONTENT_TYPE)
        filename = _("volunteer-service-certificate-%(number)s.docx") % {"number": certificate.number}
        response["Content-Disposition"] = content_disposition_header(True, filename)
        response["Cache-Control"] = "private, no-store"
        return response


# --- teams ---------------------------------------------------------------------------------------


class TeamListView(LoginRequiredMixin, ListView):
    template_name = "volunteers/team_list.html"
    paginate_by = 50

    def get_queryset(self):
        return selectors.team_list(self.request.user)


class TeamMixin(LoginRequiredMixin, ScopedObjectMixin):
    model = Team

    def get_queryset(self):
        return super().get_queryset().select_related("organization", "leader")


class TeamDetailView(TeamMixin, DetailView):
    template_name = "volunteers/team_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        members = selectors.team_members(self.object)
        context.update(
            members=members,
            team_hours=sum((m.verified_hours for m in members), selectors.ZERO),
            pending=selectors.team_pending_records(self.request.user, members),
            offerings=list(self.object.offerings.filter(is_active=True).order_by("name")),
        )
        return context


class TeamVerifyView(TeamMixin, DetailView):
    """POST: verify the ticked hours of the team's members (those the user's side recorded)."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        team = self.get_object()
        members = list(team.members.all())
        records = selectors.records_of(members)
        if records is None or not records.editable_by(request.user).exists():
            raise PermissionDenied
        _verify(request, records, request.user)
        return redirect("volunteers:team_detail", pk=team.pk)
