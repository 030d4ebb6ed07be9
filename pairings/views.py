"""Pairing, agreement and joint-plan pages: parse, check scope (ScopedObjectMixin: outside scope 404,
visible but not editable 403), call a selector or service, render."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, ListView, TemplateView

from pairings import permissions, selectors, services
from pairings.filters import PairingFilter
from pairings.forms import (
    AgreeForm, AgreementForm, JointPlanEditForm, JointPlanForm, MetricForm, PairingCreateForm, PairingSetupForm,
    PlanItemForm, ProgramForm, ProgramPublishingForm, VillageStatisticForm, liaison_formset, target_formset,
)
from pairings.models import (
    JointPlan, Metric, Pairing, PairingBranch, PlanItem, Program, VillageStatistic, village_statistics_readers_q,
)
from portal.models import Organization
from portal import downloads, panels, search
from portal.errors import AlreadyDone
from portal.files import protected_file_response
from portal.forms import add_service_error
from portal.permissions import ScopedObjectMixin
from portal.templatetags.portal_tags import plain_number
from portal.widgets import MAX_RESULTS, picker_query, picker_response

PAIRING_PICKER_FIELDS = ("supporter__name", "supporter__short_name", "supported__name", "supported__short_name")

# The slots of this app's pages that the apps to its right fill (portal/panels.py).
PAIRING_ROW = "pairings.pairing_list.row"
PAIRING_TOP = "pairings.pairing_detail.top"
PAIRING_BOTTOM = "pairings.pairing_detail.bottom"
PLAN_ITEM = "pairings.plan_detail.item"


def _year(request, default):
    try:
        year = int(request.GET.get("year", default))
    except (TypeError, ValueError):
        return default
    return year if 2000 <= year <= 2100 else default


def pairing_filter(request, today):
    """The pairing list's FilterSet over the pairings the user reads: the page's and its exports'."""
    return PairingFilter(
        request.GET or None, queryset=selectors.pairing_list(request.user), request=request, today=today
    )


class PairingListView(LoginRequiredMixin, ListView):
    template_name = "pairings/pairing_list.html"
    paginate_by = 50

    def get_queryset(self):
        self.today = timezone.localdate()
        self.filterset = pairing_filter(self.request, self.today)
        year = self.today.year
        if self.filterset.is_bound and self.filterset.is_valid() and self.filterset.form.cleaned_data.get("year"):
            year = int(self.filterset.form.cleaned_data["year"])
        self.year = year
        valid = self.filterset.is_bound and self.filterset.is_valid()
        return self.filterset.qs if valid else self.filterset.queryset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = panels.attach_row_panels(PAIRING_ROW, self.request, context["object_list"], year=self.year)
        for pairing in rows:
            pairing.warnings = selectors.pairing_warnings(pairing, self.today)
        context.update(object_list=rows, filter=self.filterset, year=self.year, today=self.today)
        return context


class PairingExportView(downloads.TableExportView):
    """The pairing list's rows under its filters (PairingFilter over selectors.pairing_list), all its pages, as
    CSV or XLSX (portal.downloads): one query for the rows, the branches a subquery of it."""

    list_view = PairingListView

    def filterset(self):
        self.today = timezone.localdate()
        return pairing_filter(self.request, self.today)

    def columns(self):
        return selectors.pairing_export_columns()

    def rows(self, queryset):
        return selectors.pairing_export_rows(queryset, self.today)

    def names(self):
        return _("pairings"), _("Pairings")


class PairingDetailView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    model = Pairing
    template_name = "pairings/pairing_detail.html"

    def get_queryset(self):
        return super().get_queryset().select_related("program", "supporter", "supported")

    def get_object(self, queryset=None):
        """The pairing as the user may read it (visible_to, else 404), kept per user until the set-up (or the pairing's
        last activity) changes (selectors.kept_pairing): the pairing, its program and both sides are set-up, and so is
        who reads them; building the visibility's query took longer than running it. A pairing not found is not kept."""
        read = super().get_object
        return selectors.kept_pairing(self.request.user, self.kwargs["pk"], lambda: read(queryset))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        today = timezone.localdate()
        year = _year(self.request, today.year)
        page = selectors.pairing_page(self.request.user, self.object, year=year, today=today)
        last = today.year + 1 if today.month >= 10 else today.year  # next year once its plan is drafted (Q4)
        years = list(range(max(self.object.term_start.year, today.year - 10), last + 1))
        shown = dict(year=year, years=years, today=today, administers=page.can_edit_agreement)
        context.update(
            page=page,
            top_panels=panels.page_panels(PAIRING_TOP, self.request, self.object, **shown),
            bottom_panels=panels.page_panels(PAIRING_BOTTOM, self.request, self.object, **shown),
        )
        return context


class AgreementFileView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    """The signed agreement, served to those who may read the pairing, never by URL."""

    model = Pairing

    def get(self, request, *args, **kwargs):
        pairing = self.get_object()
        response = protected_file_response(
            pairing.agreement_file, content_type="application/pdf", filename=f"agreement-{pairing.pk}.pdf"
        )
        response["Cache-Control"] = "private, no-store"
        return response


class AgreementEditView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    model = Pairing
    needs_edit = True
    template_name = "pairings/agreement_form.html"

    def get_queryset(self):
        return super().get_queryset().select_related("program", "supporter", "supported")

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return self.render_to_response(self.get_context_data(form=AgreementForm(instance=self.object)))

    def post(self, request, *args, **kwargs):
        self.object = pairing = self.get_object()
        form = AgreementForm(request.POST, request.FILES, instance=pairing)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.pairing_agreement_update(
                    pairing=pairing,
                    actor=request.user,
                    signed_on=data["signed_on"],
                    term_start=data["term_start"],
                    term_end=data["term_end"],
                    goals=data["goals"],
                    agreement_file=data.get("agreement_file") or None,
                    renewing=data["renewing"],
                )
            except ValidationError as error:
                pairing.refresh_from_db()
                add_service_error(form, error)
            else:
                messages.success(request, _("The agreement was saved."))
                return redirect("pairings:pairing_detail", pk=pairing.pk)
        else:
            pairing.refresh_from_db()
        return self.render_to_response(self.get_context_data(form=form))


# --- joint plans ---------------------------------------------------------------------------------


class PlanCreateView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    model = Pairing
    template_name = "pairings/plan_form.html"

    def get_queryset(self):
        return super().get_queryset().select_related("program", "supporter", "supported")

    def permission_check(self, obj):
        return permissions.can_edit_plans(self.request.user, obj)

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        year = _year(request, timezone.localdate().year)
        form = JointPlanForm(initial={"year": year, "title": _("%(year)s joint plan") % {"year": year}})
        return self.render_to_response(self.get_context_data(form=form, pairing=self.object))

    def post(self, request, *args, **kwargs):
        self.object = pairing = self.get_object()
        form = JointPlanForm(request.POST)
        if form.is_valid():
            try:
                plan = services.plan_create(pairing=pairing, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("The joint plan was created. Add its items now."))
                return redirect("pairings:plan_detail", pk=plan.pk)
        return self.render_to_response(self.get_context_data(form=form, pairing=pairing))


class PlanMixin(LoginRequiredMixin, ScopedObjectMixin):
    model = JointPlan

    def get_queryset(self):
        return super().get_queryset().select_related(
            "pairing__program", "pairing__supporter", "pairing__supported", "village_agreed_by"
        )


class PlanDetailView(PlanMixin, DetailView):
    template_name = "pairings/plan_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        plan = self.object
        today = timezone.localdate()
        items = panels.attach_row_panels(PLAN_ITEM, self.request, selectors.plan_items(plan, today=today), plan=plan)
        context.update(
            pairing=plan.pairing,
            items=items,
            today=today,
            can_edit=permissions.can_edit_plans(self.request.user, plan.pairing),
            can_agree=permissions.can_agree(self.request.user, plan, items=items),
            overdue=sum(1 for item in items if item.is_overdue),
        )
        return context


class PlanEditView(PlanMixin, DetailView):
    needs_edit = True
    template_name = "pairings/plan_form.html"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        form = JointPlanEditForm(instance=self.object)
        return self.render_to_response(self.get_context_data(form=form, pairing=self.object.pairing))

    def post(self, request, *args, **kwargs):
        self.object = plan = self.get_object()
        form = JointPlanEditForm(request.POST, instance=plan)
        if form.is_valid():
            services.plan_update(plan=plan, actor=request.user, **form.cleaned_data)
            messages.success(request, _("The joint plan was saved."))
            return redirect("pairings:plan_detail", pk=plan.pk)
        return self.render_to_response(self.get_context_data(form=form, pairing=plan.pairing))


class PlanAgreeView(PlanMixin, DetailView):
    """The village committee records its agreement to the plan (GET asks, POST records)."""

    template_name = "pairings/plan_agree.html"

    def permission_check(self, obj):
        return permissions.may_agree(self.request.user, obj)

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return self.render_to_response(self._context(AgreeForm()))

    def _context(self, form):
        plan = self.object
        return self.get_context_data(
            form=form, pairing=plan.pairing, items=selectors.plan_items(plan, today=timezone.localdate())
        )

    def post(self, request, *args, **kwargs):
        self.object = plan = self.get_object()
        form = AgreeForm(request.POST)
        if form.is_valid():
            try:
                services.plan_agree(plan=plan, actor=request.user)
            except AlreadyDone as done:
                messages.info(request, " ".join(done.messages))
                return redirect("pairings:plan_detail", pk=plan.pk)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("Your agreement to the joint plan was recorded."))
                return redirect("pairings:plan_detail", pk=plan.pk)
        return self.render_to_response(self._context(form))


class PlanItemFormMixin:
    template_name = "pairings/plan_item_form.html"

    def _render(self, plan, form, formset, item=None):
        context = self.get_context_data(form=form, formset=formset, plan=plan, pairing=plan.pairing, item=item)
        return self.render_to_response(context)

    def _save(self, plan, form, formset, item=None):
        values = {name: value for name, value in form.cleaned_data.items()}
        branch = values.pop("owner_branch", None)
        values["owner_branch_id"] = branch.pk if branch else None
        try:
            if item is None:
                item, withdrawn = services.plan_item_create(
                    plan=plan, actor=self.request.user, values=values, targets=formset.targets()
                )
            else:
                item, withdrawn = services.plan_item_update(
                    item=item, actor=self.request.user, values=values, targets=formset.targets()
                )
        except ValidationError as error:
            add_service_error(form, error)
            return None
        messages.success(self.request, _("The plan item was saved."))
        if withdrawn:
            messages.warning(
                self.request, _("The plan changed, so the village's agreement was withdrawn: they will be asked to agree again.")
            )
        return item


class PlanItemCreateView(PlanMixin, PlanItemFormMixin, DetailView):
    needs_edit = True

    def get(self, request, *args, **kwargs):
        self.object = plan = self.get_object()
        form = PlanItemForm(pairing=plan.pairing)
        return self._render(plan, form, target_formset(program=plan.pairing.program))

    def post(self, request, *args, **kwargs):
        self.object = plan = self.get_object()
        form = PlanItemForm(request.POST, pairing=plan.pairing)
        formset = target_formset(program=plan.pairing.program, data=request.POST)
        if form.is_valid() and formset.is_valid() and self._save(plan, form, formset):
            return redirect("pairings:plan_detail", pk=plan.pk)
        return self._render(plan, form, formset)


class PlanItemMixin(LoginRequiredMixin, ScopedObjectMixin):
    model = PlanItem
    needs_edit = True

    def get_queryset(self):
        return super().get_queryset().select_related(
            "plan__pairing__program", "plan__pairing__supporter", "plan__pairing__supported"
        )


class PlanItemEditView(PlanItemMixin, PlanItemFormMixin, DetailView):
    context_object_name = "item"

    def get(self, request, *args, **kwargs):
        self.object = item = self.get_object()
        form = PlanItemForm(instance=item, pairing=item.plan.pairing)
        formset = target_formset(program=item.plan.pairing.program, item=item)
        return self._render(item.plan, form, formset, item=item)

    def post(self, request, *args, **kwargs):
        self.object = item = self.get_object()
        plan = item.plan
        form = PlanItemForm(request.POST, instance=item, pairing=plan.pairing)
        formset = target_formset(program=plan.pairing.program, data=request.POST)
        if form.is_valid() and formset.is_valid() and self._save(plan, form, formset, item=item):
            return redirect("pairings:plan_detail", pk=plan.pk)
        item.refresh_from_db()
        return self._render(plan, form, formset, item=item)


class PlanItemDeleteView(PlanItemMixin, DetailView):
    template_name = "pairings/plan_item_delete.html"
    context_object_name = "item"

    def post(self, request, *args, **kwargs):
        self.object = item = self.get_object()
        plan = item.plan
        try:
            withdrawn = services.plan_item_delete(item=item, actor=request.user)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
            return redirect("pairings:plan_detail", pk=plan.pk)
        messages.success(request, _("The plan item was deleted."))
        if withdrawn:
            messages.warning(
                request, _("The plan changed, so the village's agreement was withdrawn: they will be asked to agree again.")
            )
        return redirect("pairings:plan_detail", pk=plan.pk)


# --- village statistics ----------------------------------------------------------------------------


class VillageStatisticsView(LoginRequiredMixin, DetailView):
    """A village's statistics (人均纯收入 …): read by whoever reads a pairing of the village (else 404); recorded
    here by its committee and the admins of the programs pairing it (else 403)."""

    template_name = "pairings/village_statistics.html"
    context_object_name = "village"

    def get_queryset(self):
        return Organization.objects.filter(village_statistics_readers_q(self.request.user))

    def get_object(self, queryset=None):
        try:
            return super().get_object(queryset)
        except (ValueError, TypeError):
            raise Http404 from None

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return self._render(VillageStatisticForm(initial={"as_at": timezone.localdate()}))

    def post(self, request, *args, **kwargs):
        self.object = village = self.get_object()
        if not permissions.can_record_statistics(request.user, village):
            raise PermissionDenied
        form = VillageStatisticForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                statistic, previous = services.village_statistic_record(
                    village=village, indicator=data["indicator"], as_at=data["as_at"], value=data["value"],
                    source=data["source"], actor=request.user,
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                shown = {
                    "indicator": statistic.indicator.name, "date": statistic.as_at.isoformat(),
                    "value": plain_number(statistic.value), "unit": statistic.indicator.unit,
                }
                if previous is None:
                    messages.success(request, _("Recorded: %(indicator)s as at %(date)s, %(value)s %(unit)s.") % shown)
                else:
                    messages.success(
                        request,
                        _("Corrected: %(indicator)s as at %(date)s is now %(value)s %(unit)s (was %(previous)s).")
                        % {**shown, "previous": plain_number(previous)},
                    )
                return redirect("pairings:village_statistics", pk=village.pk)
        return self._render(form)

    def _render(self, form):
        village = self.object
        context = self.get_context_data(
            form=form,
            statistics=selectors.village_statistics(village),
            pairings=selectors.village_pairings(self.request.user, village),
            can_record=permissions.can_record_statistics(self.request.user, village),
        )
        return self.render_to_response(context)


class VillageStatisticDeleteView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    model = VillageStatistic
    needs_edit = True
    template_name = "pairings/village_statistic_delete.html"
    context_object_name = "statistic"

    def get_queryset(self):
        return super().get_queryset().select_related("village", "indicator")

    def post(self, request, *args, **kwargs):
        statistic = self.get_object()
        village = statistic.village
        try:
            services.village_statistic_delete(statistic=statistic, actor=request.user)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                _("Deleted: %(indicator)s as at %(date)s.")
                % {"indicator": statistic.indicator.name, "date": statistic.as_at.isoformat()},
            )
        return redirect("pairings:village_statistics", pk=village.pk)


# --- programs ------------------------------------------------------------------------------------


class ProgramPublishingView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    """A program's publishing policy: monthly reminders out as soon as built, quarterly reports waiting for the
    admin's 调度意见 (the usual), or otherwise. Its admins change it; those who only read the program: 403."""

    model = Program
    needs_edit = True
    template_name = "pairings/program_publishing.html"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return self.render_to_response(self.get_context_data(form=ProgramPublishingForm(instance=self.object)))

    def post(self, request, *args, **kwargs):
        self.object = program = self.get_object()
        form = ProgramPublishingForm(request.POST, instance=Program.objects.get(pk=program.pk))
        if form.is_valid():
            services.program_publishing_update(
                program=program, actor=request.user, publish_monthly=form.cleaned_data["publish_monthly"],
                publish_quarterly=form.cleaned_data["publish_quarterly"],
            )
            messages.success(request, _("The publishing policy was saved; it applies to the reports built from now on."))
            return redirect("pairings:program_publishing", pk=program.pk)
        return self.render_to_response(self.get_context_data(form=form), status=400)


# --- set-up: programs and their metrics ----------------------------------------------------------------

PROGRAM_SETUP_BOTTOM = "pairings.program_setup.bottom"


class SetUpProgramsMixin(LoginRequiredMixin):
    """Pages only a program admin (or a superuser) opens: everyone else signed in gets 403."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not permissions.can_set_up_programs(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def _count(model, field):
    rows = model.objects.filter(**{field: OuterRef("pk")}).order_by().values(field).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(rows[:1]), 0)


class ProgramSetupListView(SetUpProgramsMixin, ListView):
    template_name = "pairings/program_setup_list.html"
    context_object_name = "programs"

    def get_queryset(self):
        return (
            Program.objects.set_up_by(self.request.user)
            .select_related("office")
            .annotate(pairing_count=_count(Pairing, "program"), metric_count=_count(Metric, "program"))
            .order_by("-is_active", "name")
        )


class ProgramCreateView(SetUpProgramsMixin, TemplateView):
    template_name = "pairings/program_form.html"

    def get(self, request, *args, **kwargs):
        return self.render_to_response(self.get_context_data(form=ProgramForm(user=request.user)))

    def post(self, request, *args, **kwargs):
        form = ProgramForm(request.POST, user=request.user)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                program = services.program_create(actor=request.user, **data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("The program was created. Add its metrics now."))
                return redirect("pairings:program_update", pk=program.pk)
        return self.render_to_response(self.get_context_data(form=form))


class ProgramUpdateView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    """A program's set-up page: its record, its metrics, and what the apps to the right add (activity types)."""

    model = Program
    needs_edit = True
    template_name = "pairings/program_form.html"
    context_object_name = "program"

    def get_queryset(self):
        return super().get_queryset().select_related("office")

    def _render(self, form, status=200):
        program = self.object
        context = self.get_context_data(
            form=form,
            metrics=list(Metric.objects.filter(program=program).order_by("order", "id")),
            bottom_panels=panels.page_panels(PROGRAM_SETUP_BOTTOM, self.request, program),
        )
        return self.render_to_response(context, status=status)

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return self._render(ProgramForm(instance=self.object, user=request.user))

    def post(self, request, *args, **kwargs):
        self.object = program = self.get_object()
        form = ProgramForm(request.POST, instance=program, user=request.user)
        if form.is_valid():
            try:
                services.program_update(program=program, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("The program was saved."))
                return redirect("pairings:program_update", pk=program.pk)
        self.object.refresh_from_db()
        return self._render(form)


class MetricCreateView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    model = Program
    needs_edit = True
    template_name = "pairings/metric_form.html"
    context_object_name = "program"

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return self.render_to_response(self.get_context_data(form=MetricForm()))

    def post(self, request, *args, **kwargs):
        self.object = program = self.get_object()
        form = MetricForm(request.POST)
        if form.is_valid():
            try:
                services.metric_create(program=program, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("The metric was added."))
                return redirect("pairings:program_update", pk=program.pk)
        return self.render_to_response(self.get_context_data(form=form))


class MetricUpdateView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    model = Metric
    needs_edit = True
    template_name = "pairings/metric_form.html"
    context_object_name = "metric"

    def get_queryset(self):
        return super().get_queryset().select_related("program")

    def _render(self, form):
        return self.render_to_response(
            self.get_context_data(form=form, program=self.object.program, in_use=services.metric_in_use(self.object))
        )

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return self._render(MetricForm(instance=self.object))

    def post(self, request, *args, **kwargs):
        self.object = metric = self.get_object()
        form = MetricForm(request.POST, instance=metric)
        if form.is_valid():
            try:
                services.metric_update(metric=metric, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("The metric was saved."))
                return redirect("pairings:program_update", pk=metric.program_id)
        metric.refresh_from_db()
        return self._render(form)


# --- set-up: pairings ----------------------------------------------------------------------------


class PairingCreateView(SetUpProgramsMixin, TemplateView):
    template_name = "pairings/pairing_create.html"

    def get(self, request, *args, **kwargs):
        initial = {"term_start": timezone.localdate()}
        if request.GET.get("program", "").isdigit():
            initial["program"] = int(request.GET["program"])
        return self.render_to_response(self.get_context_data(form=PairingCreateForm(user=request.user, initial=initial)))

    def post(self, request, *args, **kwargs):
        form = PairingCreateForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                pairing = services.pairing_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("The pairing was created. Choose its branches and liaisons now."))
                return redirect("pairings:pairing_setup", pk=pairing.pk)
        return self.render_to_response(self.get_context_data(form=form))


class _Rollback(Exception):
    pass


class PairingSetupView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    """A pairing's term, status and goals, its participating branches and the liaisons of both sides, saved
    together or not at all."""

    model = Pairing
    template_name = "pairings/pairing_setup.html"
    context_object_name = "pairing"

    def get_queryset(self):
        return super().get_queryset().select_related("program", "supporter", "supported")

    def permission_check(self, obj):
        return permissions.can_set_up_pairing(self.request.user, obj)

    def _forms(self, data=None):
        pairing = self.object
        form = PairingSetupForm(data, instance=pairing)
        formsets = [liaison_formset(pairing=pairing, side=side, data=data) for side in ("supporter", "supported")]
        return form, formsets

    def _render(self, form, formsets):
        return self.render_to_response(self.get_context_data(form=form, formsets=formsets))

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return self._render(*self._forms())

    def post(self, request, *args, **kwargs):
        self.object = pairing = self.get_object()
        form, formsets = self._forms(request.POST)
        if form.is_valid() and all([formset.is_valid() for formset in formsets]):
            try:
                with transaction.atomic():
                    if not self._save(form, formsets):
                        raise _Rollback
            except _Rollback:
                pass
            else:
                messages.success(request, _("The pairing's set-up was saved."))
                return redirect("pairings:pairing_detail", pk=pairing.pk)
        self.object = Pairing.objects.select_related("program", "supporter", "supported").get(pk=pairing.pk)
        return self._render(form, formsets)

    def _save(self, form, formsets):
        """Every write of the page; False (after putting each refusal on its form) if any was refused."""
        pairing, actor, ok = self.object, self.request.user, True
        data = {k: v for k, v in form.cleaned_data.items() if k != "branches"}
        for call in (
            lambda: services.pairing_update(pairing=pairing, actor=actor, **data),
            lambda: services.pairing_branches_set(pairing=pairing, actor=actor, branches=form.cleaned_data["branches"]),
        ):
            try:
                call()
            except ValidationError as error:
                add_service_error(form, error)
                ok = False
        for formset in formsets:
            for lform in formset.forms:
                values = lform.cleaned_data
                liaison = formset.liaisons.get(values.get("id"))
                fields = {k: values.get(k) or "" for k in ("name", "title", "phone", "email")}
                fields.update(user=values.get("user"), side=formset.side)
                try:
                    if liaison is not None and values.get("DELETE"):
                        services.liaison_remove(liaison=liaison, actor=actor)
                    elif liaison is not None:
                        services.liaison_update(liaison=liaison, actor=actor, **fields)
                    elif fields["name"] and not values.get("DELETE"):
                        services.liaison_add(pairing=pairing, actor=actor, **fields)
                except ValidationError as error:
                    add_service_error(lform, error)
                    ok = False
        return ok


class PairingPickerView(LoginRequiredMixin, View):
    """The pairing picker's endpoint (portal.widgets.PickerWidget): the pairings the user reads (the list's
    scope) holding every term of ?q= in either side's name or short name, ≤ 20, labelled as the activity
    list labels them (支持方–村, short names first), the program as a hint. One query after the scope's."""

    def get(self, request):
        query = picker_query(request)
        if not search.terms(query):
            return picker_response([])
        rows = (
            Pairing.objects.visible_to(request.user)
            .filter(search.search_q(query, PAIRING_PICKER_FIELDS))
            .order_by("supported__name", "supporter__name", "id")
            .values_list("id", "supporter__name", "supporter__short_name", "supported__name",
                         "supported__short_name", "program__name")[:MAX_RESULTS]
        )
        return picker_response(
            (pk, f"{s_short or s_name}–{v_short or v_name}", program)
            for pk, s_name, s_short, v_name, v_short, program in rows
        )


class SidePickerView(LoginRequiredMixin, View):
    """The endpoint of the pairing list's school and village pickers: the organisations on one side (`side`:
    "supporter" or "supported") of the pairings the user reads, whose name or short name holds every term of
    ?q=, ≤ 20; the kind as a hint. One query after the scope's."""

    side = "supporter"

    def get(self, request):
        query = picker_query(request)
        if not search.terms(query):
            return picker_response([])
        sides = Pairing.objects.visible_to(request.user).values(f"{self.side}_id")
        rows = (
            Organization.objects.filter(id__in=sides)
            .filter(search.search_q(query, ("name", "short_name")))
            .order_by("name", "id")
            .values_list("id", "name", "kind")[:MAX_RESULTS]
        )
        kinds = dict(Organization.Kind.choices)
        return picker_response((pk, name, kinds.get(kind, "")) for pk, name, kind in rows)


class BranchPickerView(LoginRequiredMixin, View):
    """The branch picker's endpoint: the branches taking part in the pairings the user reads (the activity
    list's rule for its branch filter) whose name holds every term of ?q=, ≤ 20; with ?pairing=, only that
    pairing's. The branch's parent (the school) as a hint."""

    def get(self, request):
        query = picker_query(request)
        if not search.terms(query):
            return picker_response([])
        parts = PairingBranch.objects.visible_to(request.user).filter(
            search.search_q(query, ("branch__name", "branch__short_name"))
        )
        pairing = request.GET.get("pairing") or ""
        if pairing.isdigit():
            parts = parts.filter(pairing_id=int(pairing))
        rows = (
            parts.order_by("branch__name", "branch_id")
            .values_list("branch_id", "branch__name", "branch__parent__name")
            .distinct()[:MAX_RESULTS]
        )
        return picker_response(rows)
