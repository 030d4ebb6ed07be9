"""Report pages: list, the report itself (HTML with print styles) and its downloads, notes, publishing,
regenerating, generation on demand and annual exports (notifications: notice_views.py).

Thin views: they parse, call a selector or a service, and render. Who sees what comes from the models'
``visible_to``/``editable_by`` through ``ScopedObjectMixin`` (outside scope → 404, visible but not
editable → 403). The home pages are in dashboards/views.py.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import DetailView, ListView
from django.views.generic.detail import SingleObjectMixin

from activities.models import ActivityPhoto
from pairings.models import Program
from portal import panels
from portal.downloads import NO_STORE
from portal.errors import AlreadyDone
from portal.queue import enqueue
from portal.files import protected_file_response
from portal.permissions import ScopedObjectMixin
from figures.selectors import volunteer_totals
from reports import certificates, publishing, services, tasks
from reports.filters import ReportFilter
from reports.forms import CertificateForm, ExportForm, GenerateForm, ReportNotesForm
from reports.models import AnnualExport, Report
from reports.selectors import Selection
from volunteers.models import Certificate, Volunteer
from reports.renderers.base import file_stem
from reports.renderers.csv import render_csv
from reports.renderers.html import html_context
from reports.renderers.xlsx import render_xlsx

# The slots of this app's pages that the apps to its right fill (portal/panels.py).
REPORT_LIST_ACTIONS = "reports.report_list.actions"
REPORT_ACTIONS = "reports.report_detail.actions"



def render_docx(doc):
    """The Word file; python-docx and lxml are loaded by the first one written, not by every web process."""
    from reports.renderers.docx import render_docx as render

    return render(doc)


DOWNLOADS = {
    "docx": (render_docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": (render_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "csv": (render_csv, "text/csv; charset=utf-8"),
}
QUEUE_DOWN = gettext_lazy(
    "The task queue cannot be reached right now, so this could not be started. Nothing was lost; "
    "please try again in a few minutes or tell the portal's administrator."
)
QUEUE_LATER = gettext_lazy(
    "The task queue cannot be reached right now: the work is kept and starts by itself as soon as the queue is "
    "back (usually within minutes). There is no need to ask again."
)


def queue_message(request, ticket, queued_text):
    """Tell the user what became of an enqueue (the broker may be down: the page still answers, and the task waits
    in the outbox, portal/queue.py)."""
    if ticket.sent is False and ticket.kept:
        messages.warning(request, QUEUE_LATER)
    elif ticket.sent is False:
        messages.error(request, QUEUE_DOWN)
    else:
        messages.success(request, queued_text)


def attachment(content, filename, content_type):
    """A report file: its name as RFC 5987 (Chinese names survive), and not kept by a shared PC's browser."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = NO_STORE
    return response


class ProgramAdminRequiredMixin(LoginRequiredMixin):
    """Pages for program admins only: anonymous → sign-in, anyone who administers no program → 403."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not Program.objects.editable_by(request.user).exists():
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class PostOnlyMixin:
    """POST-only actions on one object: a GET is still scope-checked first (404/403), then answered 405,
    so the answer never reveals more than the object's own page would."""

    def http_method_not_allowed(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().http_method_not_allowed(request, *args, **kwargs)


# --------------------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------------------


class ReportListView(LoginRequiredMixin, ListView):
    template_name = "reports/report_list.html"
    paginate_by = 30

    def get_queryset(self):
        queryset = Report.objects.visible_to(self.request.user).select_related(
            "program", "pairing__supporter", "pairing__supported"
        )
        self.filterset = ReportFilter(self.request.GET or None, queryset=queryset, request=self.request)
        return self.filterset.qs if self.filterset.is_bound and self.filterset.is_valid() else queryset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["filter"] = self.filterset
        editable = set(Program.objects.editable_by(self.request.user).values_list("pk", flat=True))
        context["can_generate"] = bool(editable)
        if context["can_generate"]:
            context["action_panels"] = panels.page_panels(REPORT_LIST_ACTIONS, self.request, None)
            # the bulk publish: a tick box on each draft the user may publish, and the filter's drafts in all
            for report in context["object_list"]:
                report.publishable = report.status == Report.Status.DRAFT and report.program_id in editable
            context["publishable_drafts"] = (
                self.object_list.filter(status=Report.Status.DRAFT, program_id__in=editable).count()
            )
            context["filter_params"] = [
                (name, value) for name, value in self.request.GET.items() if name in Selection.FILTER_KEYS
            ]
        return context


# A bulk publish of up to this many drafts runs in the request (about 3 short queries a report, well under a
# second); more go to a Celery task (tasks.publish_reports) and the page says it is under way.
PUBLISH_INLINE = 100
PUBLISH_SHOWN = 50  # rows the confirmation lists


class ReportsPublishView(ProgramAdminRequiredMixin, View):
    """The bulk publish: GET shows what would be published (how many, which kinds, quarterly reports without
    调度意见) for the report list's filter and ticked rows; POST publishes them. Only the drafts of programs the
    user administers are ever counted or published, whatever ids are sent."""

    template_name = "reports/publish_confirm.html"

    def selection(self, params):
        return Selection(self.request.user, params, request=self.request)

    def back_to_list(self, selection):
        query = selection.filter_params.urlencode()
        return redirect(f"{reverse('reports:report_list')}{'?' + query if query else ''}")

    def get(self, request):
        selection = self.selection(request.GET)
        if selection.valid and selection.empty_choice:
            messages.error(request, _("Tick the drafts to publish, or choose to publish every draft the filter shows."))
            return self.back_to_list(selection)
        context = {"selection": selection}
        if not selection.valid:
            return render(request, self.template_name, context, status=400)
        kinds, top = selection.summary()
        total = sum(row["count"] for row in kinds)
        context.update(
            kinds=[{**row, "label": Report.Kind(row["kind"]).label} for row in kinds],
            total=total,
            top=top,
            without_notes=sum(row["without_notes"] for row in kinds),
            rows=selection.shown(PUBLISH_SHOWN),
            more=max(0, total - PUBLISH_SHOWN),
            inline=total <= PUBLISH_INLINE,
            hidden=[(k, v) for k in selection.filter_params for v in selection.filter_params.getlist(k)]
            + [("report", pk) for pk in ([] if selection.every else selection.ticked)]
            + ([("all", "1")] if selection.every else []),
        )
        return render(request, self.template_name, context)

    def post(self, request):
        selection = self.selection(request.POST)
        try:
            top = int(request.POST.get("top", ""))
        except ValueError:
            top = None
        if not selection.valid or top is None:
            messages.error(request, _("The selection could not be read; nothing was published. Please try again."))
            return self.back_to_list(selection)
        # what the confirmation showed, not drafts made since (their ids are higher)
        ids = list(selection.queryset.filter(pk__lte=top).values_list("pk", flat=True))
        if not ids:
            messages.info(request, _("There is no draft to publish here any more: nothing was published."))
            return self.back_to_list(selection)
        if len(ids) > PUBLISH_INLINE:
            ticket = enqueue(tasks.publish_reports, sorted(ids), request.user.pk)
            queue_message(
                request,
                ticket,
                _("%(count)s reports are being published. It takes a minute or two; each recipient is told once "
                  "when it is done. Reload this list to see them published.") % {"count": len(ids)},
            )
            return self.back_to_list(selection)
        published, _ticket = services.reports_publish(reports=ids, actor=request.user)
        if published.reports:
            messages.success(
                request,
                ngettext(
                    "%(count)s report published; %(people)s notifications sent.",
                    "%(count)s reports published; %(people)s notifications sent.",
                    len(published.reports),
                ) % {"count": len(published.reports), "people": published.notifications},
            )
            return redirect(publishing.list_url(published.reports, limit=2000))
        messages.info(request, _("These reports were published meanwhile: nothing was published twice."))
        return self.back_to_list(selection)


class ReportDetailView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    model = Report
    template_name = "reports/report_detail.html"

    def get_queryset(self):
        return super().get_queryset().select_related("program", "pairing__supporter", "pairing__supported", "published_by")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        report = self.object
        can_edit = Report.objects.editable_by(self.request.user).filter(pk=report.pk).exists()
        if report.data.get("schema"):
            context.update(html_context(report))
        context["can_edit"] = can_edit
        context["notes_form"] = kwargs.get("notes_form") or ReportNotesForm(instance=report)
        context["versions"] = (
            Report.objects.visible_to(self.request.user)
            .filter(kind=report.kind, period=report.period, program_id=report.program_id, scope_key=report.scope_key)
            .order_by("-version")
            .only("id", "version", "status", "generated_at", "published_at")
        )
        context["formats"] = list(DOWNLOADS)
        if can_edit:
            context["action_panels"] = panels.page_panels(REPORT_ACTIONS, self.request, report)
        return context


class ReportDownloadView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    model = Report

    def get(self, request, *args, **kwargs):
        fmt = kwargs["fmt"]
        if fmt not in DOWNLOADS:
            raise Http404
        report = self.get_object()
        if not report.data.get("schema"):
            raise Http404  # a report without data (made by hand in the admin): nothing to download
        render_format, content_type = DOWNLOADS[fmt]
        return attachment(render_format(report), f"{file_stem(report.data, report.version)}.{fmt}", content_type)


class ReportPhotoView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    """A highlight photo of a report: only photos the report's data list, never one showing minors."""

    model = Report

    def get(self, request, *args, **kwargs):
        report = self.get_object()
        photo_id = kwargs["photo_id"]
        listed = {p["id"] for h in report.data.get("highlights", []) for p in h.get("photos", [])}
        if photo_id not in listed:
            raise Http404
        photo = get_object_or_404(ActivityPhoto, pk=photo_id, shows_minors=False)
        response = protected_file_response(photo.thumbnail or photo.image, content_type="image/jpeg")
        response["Cache-Control"] = NO_STORE
        return response


class ReportNotesView(LoginRequiredMixin, ScopedObjectMixin, PostOnlyMixin, SingleObjectMixin, View):
    model = Report
    needs_edit = True
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        report = self.get_object()
        form = ReportNotesForm(request.POST, instance=Report.objects.get(pk=report.pk))
        if form.is_valid():
            try:
                services.report_set_notes(report=report, notes=form.cleaned_data["notes"], actor=request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, _("The coordination notes are saved."))
            return redirect("reports:report_detail", pk=report.pk)
        view = ReportDetailView()
        view.setup(request, pk=report.pk)
        view.object = report
        return render(request, view.template_name, view.get_context_data(object=report, notes_form=form), status=400)


class ReportPublishView(LoginRequiredMixin, ScopedObjectMixin, PostOnlyMixin, SingleObjectMixin, View):
    model = Report
    needs_edit = True
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        report = self.get_object()
        try:
            report, _ticket = services.report_publish(report=report, actor=request.user)
        except AlreadyDone as done:
            messages.info(request, " ".join(done.messages))
            return redirect("reports:report_detail", pk=report.pk)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("reports:report_detail", pk=report.pk)
        messages.success(
            request, _("The report is published; the liaisons see it in their notifications and in their next daily e-mail.")
        )
        return redirect("reports:report_detail", pk=report.pk)


class ReportRegenerateView(LoginRequiredMixin, ScopedObjectMixin, PostOnlyMixin, SingleObjectMixin, View):
    model = Report
    needs_edit = True
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        report = self.get_object()
        try:
            fresh = services.report_regenerate(report=report, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("reports:report_detail", pk=report.pk)
        if fresh.pk == report.pk:
            messages.success(request, _("The draft was rebuilt from the current records."))
        else:
            messages.success(request, _("Version %(version)s was made; the published version stays as it was.") % {"version": fresh.version})
        return redirect("reports:report_detail", pk=fresh.pk)


class GenerateView(ProgramAdminRequiredMixin, View):
    """Program admins start the generation of a period's reports (the program and each active pairing)."""

    template_name = "reports/generate.html"

    def get(self, request):
        today = timezone.localdate()
        initial = {"kind": Report.Kind.MONTHLY, "period": f"{(today.replace(day=1) - datetime.timedelta(days=1)):%Y-%m}"}
        return render(request, self.template_name, {"form": GenerateForm(user=request.user, initial=initial)})

    def post(self, request):
        form = GenerateForm(request.POST, user=request.user)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        data = form.cleaned_data
        ticket = enqueue(tasks.generate_reports, data["kind"], data["period"], [data["program"].pk])
        queue_message(
            request,
            ticket,
            _("The %(kind)s reports of %(period)s for %(program)s are being generated; they appear below as drafts.")
            % {"kind": Report.Kind(data["kind"]).label, "period": data["period"], "program": data["program"]},
        )
        if ticket.sent is False and not ticket.kept:
            return render(request, self.template_name, {"form": form}, status=503)
        return redirect(f"{reverse('reports:report_list')}?program={data['program'].pk}&period={data['period']}")


# --------------------------------------------------------------------------------------------------------
# Annual exports
# --------------------------------------------------------------------------------------------------------


class ExportListView(ProgramAdminRequiredMixin, View):
    template_name = "reports/export_list.html"

    def context(self, form):
        exports = AnnualExport.objects.visible_to(self.request.user).select_related("program", "requested_by")
        page = Paginator(exports, 20).get_page(self.request.GET.get("page"))
        return {"form": form, "page_obj": page, "exports": page.object_list}

    def get(self, request):
        return render(request, self.template_name, self.context(ExportForm(user=request.user)))

    def post(self, request):
        form = ExportForm(request.POST, user=request.user)
        if not form.is_valid():
            return render(request, self.template_name, self.context(form), status=400)
        export, ticket = services.export_request(
            program=form.cleaned_data["program"], year=form.cleaned_data["year"], actor=request.user
        )
        queue_message(request, ticket, _("The export is queued; this page shows its progress."))
        if ticket.sent is False and not ticket.kept:
            AnnualExport.objects.filter(pk=export.pk).update(
                status=AnnualExport.Status.FAILED, error=_("The task queue was unreachable.")
            )
        return redirect("reports:export_detail", pk=export.pk)


class ExportDetailView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    model = AnnualExport
    template_name = "reports/export_detail.html"

    def get_queryset(self):
        return super().get_queryset().select_related("program", "requested_by")


class ExportDownloadView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    """A stored export file, streamed in blocks (or sent by nginx: portal.files)."""

    model = AnnualExport

    def get(self, request, *args, **kwargs):
        fmt = kwargs["fmt"]
        if fmt not in DOWNLOADS:
            raise Http404
        export = self.get_object()
        stored = getattr(export, fmt)
        # the CSV is stored only once complete, before the workbook is written (exports.export_run): it may be
        # fetched while the export runs; the other files once it is done
        if not stored or (export.status != AnnualExport.Status.DONE and fmt != "csv"):
            raise Http404
        filename = f"{export.program.code}-{export.year}-annual.{fmt}"
        return protected_file_response(stored, as_attachment=True, filename=filename, content_type=DOWNLOADS[fmt][1])


# --------------------------------------------------------------------------------------------------------
# Service certificates (志愿服务记录证明)
# --------------------------------------------------------------------------------------------------------


class CertificateIssueView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    """The service certificate of a volunteer for a period: issued (numbered) by their organisation's
    managers, then downloaded from the volunteer's page."""

    model = Volunteer
    needs_edit = True
    template_name = "reports/certificate_form.html"

    def get_queryset(self):
        return super().get_queryset().select_related("organization__parent")

    def get(self, request, *args, **kwargs):
        self.object = volunteer = self.get_object()
        last = volunteer_totals(volunteer)["last_verified_on"]
        return self.render_to_response(self.get_context_data(form=CertificateForm(last_service=last)))

    def post(self, request, *args, **kwargs):
        self.object = volunteer = self.get_object()
        form = CertificateForm(request.POST)
        if form.is_valid():
            try:
                certificate, created = certificates.certificate_issue(
                    volunteer=volunteer, start=form.cleaned_data["start"], end=form.cleaned_data["end"], actor=request.user
                )
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    for name, errors in error.error_dict.items():
                        form.add_error(name if name in form.fields else None, errors)
                else:
                    form.add_error(None, error)
            else:
                if created:
                    message = _("Certificate %(number)s issued: download it, print it and stamp it.")
                else:
                    message = _("Certificate %(number)s was already issued for this period and these hours.")
                messages.success(request, message % {"number": certificate.number})
                return redirect(volunteer.get_absolute_url() + "#certificates")
        return self.render_to_response(self.get_context_data(form=form))


class CertificateDownloadView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    model = Certificate

    def get_queryset(self):
        return super().get_queryset().select_related("volunteer")

    def get(self, request, *args, **kwargs):
        certificate = self.get_object()
        content = certificates.certificate_docx(certificate, volunteer_kind=certificate.volunteer.get_kind_display())
        response = HttpResponse(content, content_type=certificates.CONTENT_TYPE)
        filename = _("volunteer-service-certificate-%(number)s.docx") % {"number": certificate.number}
        response["Content-Disposition"] = content_disposition_header(True, filename)
        response["Cache-Control"] = NO_STORE
        return response
