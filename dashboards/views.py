"""The pages that compose every app: each role's home page, the program dashboards and the completeness board
(the volunteer and team pages are in dashboards/volunteers.py). Thin: parse, call a selector, render."""

import calendar
import datetime

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import get_language
from django.views import View

from dashboards import board
from dashboards.forms import BoardForm, DashboardForm
from dashboards.home import home_for
from dashboards.program import SORTS, dashboard, program_figures
from figures.cache import cached_figures
from figures.selectors import activity_list_url
from portal.permissions import can_set_up, scope_for
from pairings.models import Program
from reports.report_views import ProgramAdminRequiredMixin


@login_required
def home(request):
    """Each role's home page: what to do now (dashboards/home.py decides what that is)."""
    memberships = request.user.memberships.select_related("organization").order_by("organization__name", "role")
    return render(
        request,
        "dashboards/home.html",
        {"home": home_for(request.user, timezone.localdate()), "memberships": memberships},
    )


class CompletenessView(LoginRequiredMixin, View):
    """Branches × months of a year, coloured by what they logged: nothing, submitted, confirmed."""

    template_name = "dashboards/completeness.html"

    def get(self, request):
        programs = board.board_programs(request.user)
        if not programs.exists():
            raise PermissionDenied
        today = timezone.localdate()
        params = request.GET.copy()
        params.setdefault("program", str(programs.order_by("name").first().pk))
        if "year" not in params:
            params["year"] = str(board.board_default_year(params["program"], today))
        form = BoardForm(params, programs=programs, today=today)
        context = {"form": form, "months": range(1, 13)}
        if form.is_valid():
            program, year = form.cleaned_data["program"], form.cleaned_data["year"]
            page_obj = Paginator(board.board_rows(request.user, program), board.PER_PAGE).get_page(request.GET.get("page"))
            branches = list(page_obj)
            state = board.board_state(program, year, [branch["id"] for branch in branches])
            last_month = 12 if year < today.year else (today.month if year == today.year else 0)
            months = [(month, datetime.date(year, month, 1)) for month in range(1, 13)]
            rows = []
            for branch in branches:
                cells = []
                for month, first in months:
                    status = state.get((branch["id"], month))
                    css = status or ("none" if month <= last_month else "future")
                    url = ""
                    if status:  # the activities credited to the branch that month (host or co-host), counted
                        url = activity_list_url(
                            program_id=program.pk, branch_id=branch["id"], credited=True, date_after=first,
                            date_before=first.replace(day=calendar.monthrange(year, month)[1]),
                        )
                    cells.append({"month": month, "css": css, "status": status, "url": url})
                rows.append({"branch": branch, "cells": cells})
            context.update(program=program, year=year, rows=rows, page_obj=page_obj)
        return render(request, self.template_name, context, status=200 if form.is_valid() else 400)


class ProgramDashboardView(LoginRequiredMixin, View):
    """/dashboards/programs/<pk>/?year=2024&sort=attention: the program's admins (and superusers) only;
    for anyone else the program does not exist (404). Two queries besides the session, user and scope."""

    model = Program  # what the <pk> is (read through Program.objects.editable_by)
    template_name = "dashboards/program_dashboard.html"

    def get(self, request, pk):
        form = DashboardForm(request.GET)
        if not form.is_valid():
            # the program's name only, once it is known to be the user's
            program = Program.objects.editable_by(request.user).filter(pk=pk).first()
            if program is None:
                raise Http404
            return render(request, self.template_name, {"program": program, "form": form, "sorts": SORTS}, status=400)
        today = timezone.localdate()
        # per user (whether they administer the program is part of it), until the rollup or the set-up changes
        user = request.user
        figures = cached_figures("program_figures", lambda: program_figures(user, pk, today), user.pk, user.is_superuser, pk, today)
        if figures.program is None:
            raise Http404
        sort = form.cleaned_data["sort"] or "attention"
        year, page = form.cleaned_data["year"], form.cleaned_data["page"] or 1
        # the same for each of the program's admins: cached once the user is known to be one, with its HTML (a
        # hundred cells: rendering them took longer than the rest of the request)
        def build():
            figures_context = dashboard(figures, year=year, sort=sort, page=page, today=today)
            figures_context["figures_html"] = render_to_string(
                "dashboards/_program_figures.html", {**figures_context, "sorts": SORTS, "sort": sort}
            )
            return figures_context

        context = cached_figures("program_dashboard_page", build, pk, year, sort, page, today, get_language())
        context.update(program={"pk": figures.program[0], "name": figures.program[1]}, form=form, sorts=SORTS, sort=sort)
        return render(request, self.template_name, context)


class ProgramListView(ProgramAdminRequiredMixin, View):
    """/dashboards/programs/: the programs the user administers, each with its dashboard (one query)."""

    def get(self, request):
        programs = (
            Program.objects.editable_by(request.user)
            .annotate(pairing_count=Count("pairings"))
            .order_by("name")
        )
        return render(request, "dashboards/program_list.html", {"programs": programs})


class SetupView(LoginRequiredMixin, View):
    """Where a program office or a party committee sets up its work: the organisation tree and people, the
    programs and pairings, the ledger import. Only those who may set something up see it (403 otherwise)."""

    def get(self, request):
        scope = scope_for(request.user)
        if not can_set_up(request.user):
            raise PermissionDenied
        return render(
            request,
            "dashboards/setup.html",
            {"runs_programs": scope.is_superuser or bool(scope.admin_orgs)},
        )
