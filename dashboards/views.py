"""The pages that compose every app: each role's home page and the completeness board (the program dashboard is
in dashboards/program.py). Thin: parse, call a selector, render."""

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from dashboards import board
from dashboards.forms import BoardForm
from dashboards.home import home_for


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
        form = BoardForm(params, programs=programs)
        context = {"form": form, "months": range(1, 13)}
        if form.is_valid():
            program, year = form.cleaned_data["program"], form.cleaned_data["year"]
            branches, state = board.board_cells(request.user, program, year)
            last_month = 12 if year < today.year else (today.month if year == today.year else 0)
            rows = []
            for branch in branches:
                cells = []
                for month in range(1, 13):
                    status = state.get((branch["id"], month))
                    css = status or ("none" if month <= last_month else "future")
                    cells.append({"month": month, "css": css, "status": status})
                rows.append({"branch": branch, "cells": cells})
            context.update(program=program, year=year, rows=rows)
        return render(request, self.template_name, context, status=200 if form.is_valid() else 400)
