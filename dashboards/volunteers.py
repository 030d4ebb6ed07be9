"""The volunteer and team pages: who they are (volunteers), the hours they served and their verification
(activities), their verified totals (figures) and their service certificates (reports). Thin: parse, check scope
(ScopedObjectMixin: outside scope 404, visible but not allowed 403), call selectors, render."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef
from django.views.generic import DetailView, ListView

from activities.selectors import team_pending_records, volunteer_records
from dashboards.forms import VolunteerFilterForm
from figures.selectors import ZERO, volunteer_totals, with_hours, with_team_hours
from portal.permissions import ScopedObjectMixin
from reports.certificates import can_issue_certificates, volunteer_certificates
from reports.forms import CertificateForm
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


class VolunteerListView(LoginRequiredMixin, ListView):
    template_name = "dashboards/volunteers/volunteer_list.html"
    paginate_by = 50

    def get_queryset(self):
        self.filter_form = VolunteerFilterForm(self.request.GET or None)
        return self.filter_form.filter(volunteer_list(self.request.user))

    def get_context_data(self, **kwargs):
        return super().get_context_data(filter_form=self.filter_form, **kwargs)


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
