"""The pages that compose every app: each role's home page, the program dashboards and the completeness board
(the volunteer and team pages are in dashboards/volunteers.py). Thin: parse, call a selector, render."""

from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.views import View

from dashboards import board
from dashboards.forms import BoardForm, DashboardForm
from dashboards.home import home_for
from dashboards.program import SORTS, dashboard, program_figures
from figures.cache import cached_figures
from portal import versioned
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
        programs = board.board_program_list(request.user)
        if not programs:
            raise PermissionDenied
        today = timezone.localdate()
        params = request.GET.copy()
        params.setdefault("program", str(programs[0].pk))
        if "year" not in params:
            params["year"] = str(board.board_default_year(params["program"], today))
        form = BoardForm(params, programs=programs, today=today)
        context = {"form": form, "months": range(1, 13)}
        if form.is_valid():
            program, year = form.cleaned_data["program"], form.cleaned_data["year"]
            # After the access check (the program is one of the user's: the form), per whose branches are shown:
            # the branch rows from the set-up alone; a page's cells, and its table rendered (most of the page's
            # time), until the rollup changes too (figures/cache.py: every refresh replaces its version, and an
            # activity's new host or co-hosts refresh its month).
            scope = board.board_scope(request.user, program)
            branches = versioned.cached("board_rows", lambda: board.scoped_rows(program, scope), program.pk, scope)
            page_obj = Paginator(branches, board.PER_PAGE).get_page(request.GET.get("page"))

            def page():
                rows = board.board_page(program, year, list(page_obj), today)
                table = render_to_string(
                    "dashboards/_board_page.html",
                    {"rows": rows, "months": range(1, 13), "program": program, "year": year, "page_obj": page_obj,
                     "pager_params": {"program": program.pk, "year": year}},
                )
                return rows, table

            rows, table = cached_figures(
                "board_page", page, program.pk, year, scope, page_obj.number, today, get_language()
            )
            # the rows too: what the table shows, cell by cell
            context.update(program=program, year=year, rows=rows, page_obj=page_obj, board_page=mark_safe(table))
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
                "dashboards/_program_figures.html",
                {**figures_context, "sorts": SORTS, "sort": sort, "pager_params": {"year": year, "sort": sort}},
            )
            # the pager is in the HTML; the page object is not kept: its paginator's lazy error messages made
            # reading the cached page a third dearer (each lazy string is a new class when unpickled)
            del figures_context["page_obj"]
            return figures_context

        context = {
            **cached_figures("program_dashboard_page", build, pk, year, sort, page, today, get_language()),
            # a copy: the cached context is shared by the process's requests (portal/versioned.py)
            "program": {"pk": figures.program[0], "name": figures.program[1]}, "form": form, "sorts": SORTS,
            "sort": sort,
        }
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
