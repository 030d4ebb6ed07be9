"""The ledger import pages (/setup/imports/): the user's imports, upload, template download, the preview (one
page per 50 rows), confirm, undo and the progress of a large import. Generic: each kind (portal.ledger) says
what its columns are and who may import it."""

import io

import xlsxwriter
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from portal import ledger
from portal.models import ImportBatch, ImportRow
from portal.queue import enqueue
from portal.services import (
    ASYNC_ROWS, import_batch_actable, import_batch_apply, import_batch_check, import_batch_create,
    import_batch_queue_apply, import_batch_undo, import_batches_visible, import_progress,
)
from portal.xlsxsafe import workbook_options, write_text

ROWS_PER_PAGE = 50


def importable(user):
    """[(kind, [(program id, name)])] of the kinds this user may import."""
    found = []
    for kind in ledger.kinds().values():
        programs = kind.programs(user)
        if programs:
            found.append((kind, programs))
    return found


def _require_importer(user):
    choices = importable(user)
    if not choices:
        raise PermissionDenied(_("You do not import ledgers."))
    return choices


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Ledger"))
    program = forms.TypedChoiceField(label=gettext_lazy("Program"), coerce=int, required=False, empty_value=None)
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("An .xlsx workbook or a .csv file (UTF-8 or GB18030/GBK), at most 10 MB and 20,000 rows."),
    )

    def __init__(self, *args, choices, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.choices, self.user = choices, user
        self.fields["kind"].choices = [(kind.code, kind.label) for kind, _programs in choices]
        programs = {}
        for _kind, kind_programs in choices:
            programs.update({pid: name for pid, name in kind_programs if pid is not None})
        self.fields["program"].choices = [("", "—")] + sorted(programs.items(), key=lambda item: item[1])

    def clean(self):
        data = super().clean()
        kind = ledger.get_kind(data.get("kind"))
        if kind is not None and kind.needs_program and not data.get("program"):
            self.add_error("program", _("Choose the program the ledger is for."))
        elif kind is not None and data.get("program") and not kind.may_import(self.user, data["program"]):
            self.add_error("program", _("You may not import this ledger for this program."))
        return data


@login_required
def batch_list(request):
    choices = _require_importer(request.user)
    batches = import_batches_visible(request.user).select_related("created_by").order_by("-created_at", "-id")
    page = Paginator(batches, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    labels = {kind.code: kind.label for kind in ledger.kinds().values()}
    for batch in page.object_list:
        batch.kind_label = labels.get(batch.kind, batch.kind)
    form = UploadForm(choices=choices, user=request.user)
    return render(request, "portal/imports/list.html", {
        "page_obj": page, "is_paginated": page.has_other_pages(), "paginator": page.paginator,
        "form": form, "choices": choices,
    })


@login_required
def upload(request):
    choices = _require_importer(request.user)
    form = UploadForm(request.POST or None, request.FILES or None, choices=choices, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            batch, table = import_batch_create(
                user=request.user, kind=data["kind"], program_id=data["program"], upload=data["file"]
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("file", message)
        except PermissionDenied as exc:
            form.add_error("program", str(exc))
        else:
            if len(table.rows) > ASYNC_ROWS:
                from portal.tasks import ledger_check

                enqueue(ledger_check, batch.pk)
            else:
                import_batch_check(batch=batch, table=table)
            return redirect("imports:detail", batch.pk)
    return render(request, "portal/imports/upload.html", {"form": form, "choices": choices})


@login_required
def template_download(request):
    choices = _require_importer(request.user)
    kind = ledger.get_kind(request.GET.get("kind", ""))
    try:
        program_id = int(request.GET.get("program") or 0) or None
    except ValueError:
        program_id = None
    if kind is None or not any(k is kind for k, _p in choices):
        raise Http404
    if kind.needs_program and not kind.may_import(request.user, program_id):
        raise Http404
    columns = kind.columns(program_id)
    example = kind.example(request.user, program_id)
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(output, workbook_options(in_memory=True))
    head = workbook.add_format({"bold": True, "bg_color": "#FDE9D9", "border": 1})
    required = workbook.add_format({"bold": True, "bg_color": "#F4B183", "border": 1})
    plain = workbook.add_format({})
    sheet = workbook.add_worksheet(_("Ledger"))
    for col, column in enumerate(columns):
        write_text(sheet, 0, col, column.header, required if column.required else head, plain)
        write_text(sheet, 1, col, str(example.get(column.key, "")), None, plain)
        sheet.set_column(col, col, max(10, len(column.header) * 2 + 2))
    sheet.freeze_panes(1, 0)
    notes = workbook.add_worksheet(_("Allowed values"))
    bold = workbook.add_format({"bold": True})
    write_text(notes, 0, 0, _("Column"), bold, plain)
    write_text(notes, 0, 1, _("Required"), bold, plain)
    write_text(notes, 0, 2, _("What to enter"), bold, plain)
    for row, column in enumerate(columns, start=1):
        write_text(notes, row, 0, column.header, None, plain)
        write_text(notes, row, 1, _("yes") if column.required else "", None, plain)
        write_text(notes, row, 2, str(column.help), None, plain)
    start = len(columns) + 3
    write_text(notes, start - 1, 0, _("Natural key (a row with the same key is the same record): %(key)s")
               % {"key": kind.key_help}, bold, plain)
    for col, (title, values) in enumerate(kind.allowed_values(request.user, program_id)):
        write_text(notes, start, col, str(title), bold, plain)
        for row, value in enumerate(values, start=start + 1):
            write_text(notes, row, col, str(value), None, plain)
    notes.set_column(0, 6, 24)
    workbook.close()
    name = f"{kind.label}-{_('template')}.xlsx"
    response = HttpResponse(
        output.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


def _batch(request, pk, act=False):
    """The batch if the user sees it (else 404); act: they confirm or undo it (else 403)."""
    batch = get_object_or_404(import_batches_visible(request.user).select_related("created_by", "undone_by"), pk=pk)
    if act and not import_batch_actable(request.user, batch):
        raise PermissionDenied(_("Only the person who uploaded this ledger confirms or undoes it."))
    return batch


@login_required
def detail(request, pk):
    batch = _batch(request, pk)
    kind = ledger.get_kind(batch.kind)
    show = request.GET.get("show", "")
    rows = batch.rows.order_by("number")
    if show in ImportRow.Outcome.values:
        rows = rows.filter(outcome=show)
    page = Paginator(rows, ROWS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    columns = kind.columns(batch.program_id) if kind else []
    for row in page.object_list:
        row.cells = [row.values.get(column.key, "") for column in columns]
    busy = batch.status in (ImportBatch.Status.CHECKING, ImportBatch.Status.APPLYING)
    actable = import_batch_actable(request.user, batch)
    same_file = (
        import_batches_visible(request.user).filter(file_sha256=batch.file_sha256, status=ImportBatch.Status.APPLIED)
        .exclude(pk=batch.pk).order_by("-applied_at").first()
    )
    return render(request, "portal/imports/detail.html", {
        "batch": batch, "kind": kind, "columns": columns, "page_obj": page, "is_paginated": page.has_other_pages(),
        "paginator": page.paginator, "show": show, "busy": busy, "same_file": same_file,
        "outcomes": ImportRow.Outcome.choices,
        "may_confirm": actable and batch.status == ImportBatch.Status.PREVIEW and not batch.error_rows
        and batch.total_rows,
        "may_undo": actable and batch.status == ImportBatch.Status.APPLIED and (batch.new_rows or batch.updated_rows),
    })


@login_required
@require_POST
def confirm(request, pk):
    batch = _batch(request, pk, act=True)
    large = batch.total_rows > ASYNC_ROWS  # saved by the worker, the page showing its progress
    try:
        if large:
            import_batch_queue_apply(batch=batch, user=request.user)
        else:
            import_batch_apply(batch=batch, user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        if not large:
            messages.success(request, _("The ledger was saved."))
    return redirect("imports:detail", batch.pk)


@login_required
@require_POST
def undo(request, pk):
    batch = _batch(request, pk, act=True)
    try:
        import_batch_undo(batch=batch, user=request.user)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The import was undone."))
    return redirect("imports:detail", batch.pk)


@login_required
def progress(request, pk):
    batch = _batch(request, pk)
    state = import_progress(batch.pk)
    return JsonResponse({
        "status": batch.status, "phase": state.get("phase", ""), "done": state.get("done", 0),
        "total": state.get("total", batch.total_rows), "message": batch.message,
    })
