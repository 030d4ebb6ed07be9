"""The volunteer and team pages: who they are (volunteers), the hours they served and their verification
(activities), their verified totals (figures) and their service certificates (reports). Thin: parse, check scope
(ScopedObjectMixin: outside scope 404, visible but not allowed 403), call selectors, render."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views import View
from django.views.generic import DetailView, ListView

from activities.selectors import team_pending_records, volunteer_records
from dashboards.filters import VolunteerFilter
from figures.selectors import HOURS, ZERO, pending_q, volunteer_totals, with_hours, with_team_hours
from portal import downloads, search
from portal.db import StringAgg, ids_in_q, stream_rows
from portal.downloads import NUMBER, Column, yes_no
from portal.permissions import ScopedObjectMixin, scope_for, shown_phone
from portal.widgets import MAX_RESULTS, picker_query, picker_response
from reports.certificates import can_issue_certificates, volunteer_certificates
from reports.forms import CertificateForm
from volunteers.ledger import VolunteerLedger
from volunteers.models import Team, Volunteer

RECORDS_PER_PAGE = 50


# --- the reads (as volunteers/selectors.py had them before the hours moved right) ----------------------


def volunteer_list(user):
    """The volunteers the user reads, with their verified and pending hours."""
    volunteers = Volunteer.objects.visible_to(user).select_related("organization").prefetch_related("teams")
    return with_hours(volunteers).order_by("organization__name", "name", "id")


def team_list(user):
    """The teams the user reads, with their member count and the verified hours of their members."""
    teams = Team.objects.visible_to(user).select_related("organization", "leader")
    return with_team_hours(teams.annotate(member_count=Count("members", distinct=True))).order_by(
        "organization__name", "name"
    )


def team_members(team):
    return list(with_hours(team.members.select_related("organization")).order_by("name", "id"))


def volunteer_teams(user, volunteer):
    """The volunteer's teams, each with `readable`: a team of another organisation is named, not linked, where
    the user may not open it."""
    readable = Exists(Team.objects.visible_to(user).filter(pk=OuterRef("pk")))
    return list(volunteer.teams.select_related("organization").annotate(readable=readable).order_by("name"))


# --- the pages ----------------------------------------------------------------------------------------


def volunteer_filter(request):
    """The volunteer list's FilterSet over the volunteers the user reads: the page's and its exports'."""
    return VolunteerFilter(request.GET or None, queryset=volunteer_list(request.user), request=request)


class VolunteerListView(LoginRequiredMixin, ListView):
    template_name = "dashboards/volunteers/volunteer_list.html"
    paginate_by = 50

    def get_queryset(self):
        self.filterset = volunteer_filter(self.request)
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            filter=self.filterset, filter_form=self.filterset.form, q=self.request.GET.get("q", ""), **kwargs
        )


# --- the volunteer ledger (志愿者台账) out: the import's columns first ----------------------------------------


def volunteer_columns():
    """The volunteer ledger's import columns, in its order (the ledger import reads these headers, so an export
    can be imported back), then what the portal adds: teams and hours."""
    ledger = "volunteer ledger"
    return [
        *(Column(column.header) for column in VolunteerLedger().columns(None)),
        Column(pgettext(ledger, "Teams")), Column(pgettext(ledger, "Verified hours"), NUMBER),
        Column(pgettext(ledger, "Pending hours"), NUMBER), Column(pgettext(ledger, "Active (yes/no)")),
    ]


def volunteer_rows(user, queryset):
    """The rows of the volunteers of ``queryset`` (the list's, filtered): phones as the list shows them
    (portal.permissions.shown_phone), hours by the figures' rules (verified; recorded and waiting). One query,
    streamed: the teams are a subquery of it."""
    teams = (
        Team.members.through.objects.filter(volunteer_id=OuterRef("pk"))
        .order_by()
        .values("volunteer_id")
        .annotate(text=StringAgg("team__name", "、", order_by=("team__name", "team_id")))
        .values("text")
    )
    rows = queryset.annotate(
        team_names=Subquery(teams),
        pending_hours=Coalesce(Sum("service_records__hours", filter=pending_q()), Value(ZERO), output_field=HOURS),
    ).values_list(
        "name", "phone", "organization_id", "organization__name", "kind", "is_party_member", "note", "team_names",
        "verified_hours", "pending_hours", "is_active",
    )
    kinds = dict(Volunteer.Kind.choices)
    scope_for(user)  # read (and kept) before the stream: no other query may run on its connection meanwhile
    stream = stream_rows(rows)
    try:
        for name, phone, org_id, org, kind, member, note, team_names, verified, pending, active in stream:
            yield (
                name, shown_phone(user, phone, org_id) if phone else "", org, kinds.get(kind, kind), yes_no(member),
                note, team_names, verified, pending, yes_no(active),
            )
    finally:
        stream.close()


class VolunteerExportView(downloads.TableExportView):
    """The volunteer list's rows under its filters (VolunteerFilter over volunteer_list), all its pages, as the
    volunteer ledger (CSV or XLSX, portal.downloads)."""

    list_view = VolunteerListView

    def filterset(self):
        return volunteer_filter(self.request)

    def columns(self):
        return volunteer_columns()

    def rows(self, queryset):
        return volunteer_rows(self.request.user, queryset)

    def names(self):
        return _("volunteers"), _("Volunteers")


class VolunteerMixin(LoginRequiredMixin, ScopedObjectMixin):
    model = Volunteer

    def get_queryset(self):
        return super().get_queryset().select_related("organization__parent")


class VolunteerDetailView(VolunteerMixin, DetailView):
    template_name = "dashboards/volunteers/volunteer_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        volunteer, user = self.object, self.request.user
        records = volunteer_records(user, volunteer)
        page = Paginator(records, RECORDS_PER_PAGE).get_page(self.request.GET.get("page"))
        can_issue = can_issue_certificates(user, volunteer)
        totals = volunteer_totals(volunteer)
        context.update(
            totals=totals,
            records=page,
            verifiable=any(r.can_verify for r in records),
            teams=volunteer_teams(user, volunteer),
            certificates=volunteer_certificates(volunteer),
            can_issue=can_issue,
            certificate_form=CertificateForm(last_service=totals["last_verified_on"]) if can_issue else None,
        )
        return context


# --- teams ---------------------------------------------------------------------------------------


class TeamListView(LoginRequiredMixin, ListView):
    template_name = "dashboards/volunteers/team_list.html"
    paginate_by = 50

    def get_queryset(self):
        return team_list(self.request.user)


class TeamMixin(LoginRequiredMixin, ScopedObjectMixin):
    model = Team

    def get_queryset(self):
        return super().get_queryset().select_related("organization", "leader")


class TeamDetailView(TeamMixin, DetailView):
    template_name = "dashboards/volunteers/team_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        members = team_members(self.object)
        context.update(
            members=members,
            team_hours=sum((m.verified_hours for m in members), ZERO),
            pending=team_pending_records(self.request.user, self.object) if members else [],
            offerings=list(self.object.offerings.filter(is_active=True).order_by("name")),
        )
        return context


PICKER_SCOPE_IN_SQL = 200  # organisations in the viewer's scope up to which the picker's query carries them
PICKER_WINDOW = 200  # beyond it, the first matches checked against the scope before the query is narrowed


class VolunteerPickerView(LoginRequiredMixin, View):
    """The volunteer picker's endpoint (portal.widgets.PickerWidget): the volunteers the user reads (the
    volunteer list's scope) whose name holds every term of ?q=, ≤ 20, their organisation as the hint."""

    def get(self, request):
        query = picker_query(request)
        if not search.terms(query):
            return picker_response([])
        matches = (
            Volunteer.objects.filter(search.search_q(query, ("name",), indexed=("name",)))
            .order_by("name", "id")
            .values_list("id", "name", "organization__name", "organization_id")
        )
        org_ids = Volunteer.objects.visible_org_ids(request.user)
        if org_ids is not None and len(org_ids) > PICKER_SCOPE_IN_SQL:
            # a province admin reads nearly every organisation: checking the first matches against the scope here
            # is cheaper than sending it thousands of ids; the scope is the same rule (visible_org_ids)
            window = list(matches[:PICKER_WINDOW])
            rows = [row[:3] for row in window if row[3] in org_ids][:MAX_RESULTS]
            if len(rows) == MAX_RESULTS or len(window) < PICKER_WINDOW:
                return picker_response(rows)
        rows = matches.filter(ids_in_q("organization_id", org_ids)) if org_ids is not None else matches
        return picker_response(row[:3] for row in rows[:MAX_RESULTS])
