"""Activity pages: list (and its CSV and XLSX exports), detail, the form (new and edit), submit, confirm, return,
photos; and the needs (微心愿): list, raise, the need page, claim, fulfil, rate.

Thin: each view parses the request, asks a selector or calls a service, and renders. Who may do what is
decided by activities.permissions (and the models' QuerySets, its list form) through ScopedObjectMixin:
outside the scope 404, visible but not allowed 403."""

import uuid

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.db.models import Q
from django.views import View
from django.views.generic import DetailView
from django.views.generic.detail import SingleObjectMixin

from activities import exports, images, permissions, plausibility, selectors, services
from activities.filters import ActionItemFilter, ActivityFilter, MeetingFilter, NeedFilter
from activities.forms import (
    VolunteerChoiceField,
    ActionItemCloseForm,
    ActivityForm,
    ActivityTypeForm,
    MeetingChoices,
    MeetingFilesForm,
    MeetingForm,
    attendee_formset,
    decision_formset,
    NeedClaimForm,
    NeedForm,
    NeedFulfilForm,
    NeedRateForm,
    HeldRow,
    PhotoUploadForm,
    ReturnForm,
    VerifyForm,
    metric_formset,
    photo_formset,
    service_record_formset,
)
from activities.models import (
    COUNTED_STATUSES, OPEN_STATUSES, ActionItem, Activity, ActivityPhoto, ActivityType, Meeting, MeetingAttachment, MeetingAttendee, Need, ServiceRecord,
    meeting_activity_types,
)
from activities.models import PhotoUpload
from pairings import permissions as pairing_permissions
from pairings.models import Metric, Pairing, PairingBranch, Program
from portal import downloads
from portal.db import planned_as_written
from portal.errors import AlreadyDone
from portal.files import protected_file_response
from portal.forms import add_service_error
from portal.pagination import BadCursor, CappedCount, KeysetPage, capped_count, page_bounds
from portal.models import Organization
from portal.permissions import ScopedObjectMixin, scope_for
from volunteers.models import Team, Volunteer

PAGE_SIZE = 25


# ---------------------------------------------------------------------------------------------------------
# List and CSV
# ---------------------------------------------------------------------------------------------------------


class ActivityListView(LoginRequiredMixin, View):
    template_name = "activities/list.html"

    # the page's own parameters, not filters
    PAGING = ("cursor", "before", "page")

    def get(self, request):
        """Six queries whatever the rows: session, user, scope, the drop-downs with the user's pairings
        (selectors.list_choices), the capped count, and the page's rows."""
        user = request.user
        choices = selectors.list_choices(user, pairing=request.GET.get("pairing"), branch=request.GET.get("branch"))
        # a page of the list without a filter (?cursor=… alone) is read unfiltered, as page 1 is: its filters are not
        # validated (their form built and checked for nothing), and its fields are the page's kept HTML
        filtered = any(value for key, value in request.GET.items() if key not in self.PAGING)
        filterset = ActivityFilter(
            request.GET if filtered else None,
            queryset=selectors.activity_list(user, choices, pairing=request.GET.get("pairing")),
            request=request,
            choices=choices,
        )
        bad_cursor = False
        try:
            after, before = page_bounds(after=request.GET.get("cursor"), before=request.GET.get("before"))
        except BadCursor:
            after = before = None
            bad_cursor = True
        if not filterset.is_bound or filterset.is_valid():
            rows = filterset.qs
            ascending = filterset.is_bound and filterset.form.cleaned_data.get("sort") == "oldest"
            tiers = filterset.relevance_tiers()
            page = selectors.activity_page(rows, choices, ascending=ascending, after=after, before=before, segments=tiers)
            # unfiltered, counted as the scope's two parts (the pairings', the program-wide), each from an index
            total = capped_count(rows, parts=None if filtered else selectors.activity_list_parts(user, choices))
        else:
            ascending, page, total, tiers = False, KeysetPage(), CappedCount(0, exact=True), None
        has_errors = filterset.is_bound and not filterset.is_valid()  # validated above: no second run
        return render(
            request,
            self.template_name,
            {
                "filter": filterset,
                "page": page,
                "total": total,
                "ascending": ascending,
                "by_relevance": bool(tiers),
                "bad_cursor": bad_cursor,
                "filtered": filtered,
                "has_errors": has_errors,
                # the way to the deleted activities, for those who restore them (no query: read with the choices)
                "can_restore": scope_for(user).is_superuser or bool(choices.administered_ids),
                "can_record": choices.recordable,
            },
        )


class ActivityExportView(LoginRequiredMixin, View):
    """The list's rows under the same filters (one FilterSet), as a CSV file for Excel and WPS (streamed) or an
    Excel workbook (written row by row to a temporary file, then sent): activities.exports. Two queries besides
    the session, user, scope and drop-downs: the metric columns, then the rows."""

    fmt = "csv"  # or "xlsx"

    def get(self, request):
        filterset = ActivityFilter(
            request.GET or None, queryset=selectors.activity_export(request.user), request=request
        )
        if filterset.is_bound and not filterset.is_valid():
            return ActivityListView.as_view()(request)
        metrics = selectors.export_metrics(filterset.qs)  # before the rows: their stream keeps the connection busy
        as_at = filterset.form.cleaned_data.get("as_at") if filterset.is_bound else None
        rows = selectors.export_rows(filterset.qs, metrics, as_at=as_at)
        if self.fmt == "xlsx":
            return downloads.xlsx_response(exports.xlsx_file(rows, metrics), downloads.download_name(_("activities"), "xlsx"))
        return downloads.csv_response(exports.csv_blocks(rows, metrics), downloads.download_name(_("activities"), "csv"))


# ---------------------------------------------------------------------------------------------------------
# Detail
# ---------------------------------------------------------------------------------------------------------


class ActivityDetailView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    model = Activity
    template_name = "activities/detail.html"
    context_object_name = "activity"

    def get_queryset(self):
        return selectors.activity_detail(self.request.user)

    def get_object(self, queryset=None):
        queryset = self.get_queryset() if queryset is None else queryset  # the scope read before, as planned
        # one activity by its key with a dozen rows looked up by theirs: planned in the order written, not searched
        with planned_as_written(connection):
            return super().get_object(queryset)

    def get_context_data(self, **kwargs):
        """Five queries whatever the activity holds: session, user, scope, the activity, and its parts
        (photos and their twins, figures, hours, co-hosts, history: selectors.activity_parts); for those who may
        edit or confirm it, what its plausibility warnings read comes in the same statement, and a sixth looks
        for copies of its photos (if it has hashed ones)."""
        context = super().get_context_data(**kwargs)
        user, activity = self.request.user, self.object
        can_edit = permissions.can_edit(user, activity)
        can_confirm = permissions.can_confirm(user, activity)
        checks = can_edit or can_confirm
        parts = selectors.activity_parts(activity, user, with_twins=can_edit, with_facts=checks)
        context.update(
            {
                # hours wait for the organising side only while the activity counts (pending_q)
                "can_verify_hours": activity.status in COUNTED_STATUSES
                and any(row.status != ServiceRecord.Status.VERIFIED for row in parts.hours)
                and permissions.can_verify_hours(user, activity),
                "can_edit": can_edit,
                "can_submit": permissions.can_submit(user, activity),
                "can_delete": permissions.can_delete(user, activity),
                "can_confirm": can_confirm,
                "return_form": ReturnForm() if permissions.can_return(user, activity) else None,
                "photos": parts.photos,
                "metric_values": parts.figures,
                "service_records": parts.hours,
                "hours_total": parts.hours_total,
                "co_branches": parts.co_branches,
                "history": parts.history,
                "warnings": plausibility.activity_warnings(activity, viewer=user, name_others=can_edit, facts=parts.facts)
                if checks else [],
                "warnings_for": "confirm" if can_confirm else "submit",
            }
        )
        return context


def warn(request, activity):
    """The activity's plausibility warnings as messages (after it was submitted: it is no longer the secretary's to
    change, so the detail page no longer shows them to them)."""
    for concern in plausibility.activity_warnings(activity, viewer=request.user, name_others=True):
        messages.warning(request, _concern_text(concern))


def _concern_text(concern):
    if not concern.others:
        return concern.message
    titles = "、".join(f"“{other.title}”" for other in concern.others[:3])
    return _("%(message)s (%(titles)s)") % {"message": concern.message, "titles": titles}


# ---------------------------------------------------------------------------------------------------------
# The form: new and edit
# ---------------------------------------------------------------------------------------------------------


class ActivityFormMixin:
    template_name = "activities/form.html"
    activity = None

    # what the form may offer -------------------------------------------------------------------------

    def pairings(self):
        if self.activity is None:
            return permissions.recordable_pairings(self.request.user)
        return Pairing.objects.filter(pairing_branches__branch_id=self.activity.branch_id)

    def branch_ids(self):
        # read once per request: the co-hosts offered and the volunteers both start from it
        if getattr(self, "_branch_ids", None) is None:
            self._branch_ids = self._read_branch_ids()
        return self._branch_ids

    def _read_branch_ids(self):
        if self.activity is None:
            pairings = self.pairings()
            scope = scope_for(self.request.user)
            return list(
                PairingBranch.objects.filter(pairing__in=pairings, branch_id__in=scope.secretary_orgs)
                .values_list("branch_id", flat=True)
                .distinct()
            )
        return [self.activity.branch_id]

    def metrics(self, pairings):
        return Metric.objects.filter(program__pairings__in=pairings).distinct().order_by("program", "order", "id")

    def programs(self):
        """The programs offered for an activity that serves no paired village (「双联双助 · 不针对结对村」)."""
        if self.activity is None:
            return permissions.recordable_programs(self.request.user).order_by("name", "id")
        return Program.objects.filter(
            Q(pairings__pairing_branches__branch_id=self.activity.branch_id) | Q(pk=self.activity.program_id)
        ).distinct().order_by("name", "id")

    def co_branches(self, pairings):
        offered = permissions.cohosting_choices(self.branch_ids(), pairings)
        if self.activity is not None:  # the co-hosts already named stay offered
            offered = offered | Organization.objects.filter(cohosted_activities=self.activity)
        return offered.distinct()

    def volunteers(self):
        activity_id = self.activity.pk if self.activity is not None else None
        return permissions.serving_volunteers(self.branch_ids(), activity_id=activity_id).order_by("name", "id")

    # building the forms ------------------------------------------------------------------------------

    def build(self, data=None, files=None):
        request, activity = self.request, self.activity
        pairings = self.pairings()
        metrics = self.metrics(pairings)
        if activity is None:
            initial = {"date": timezone.localdate(), **self.prefill()}
            programs = list(pairings.values_list("program_id", flat=True).distinct()[:2])
            if len(programs) == 1:
                metric_initial = [{"metric": m} for m in metrics if m.program_id == programs[0]]
                metric_extra = 0 if metric_initial else 2
            else:
                metric_initial, metric_extra = [], 3
            hours_initial, hours_extra = [], 3
        else:
            initial = {
                name: getattr(activity, name)
                for name in (
                    "pairing", "activity_type", "title", "date", "start_time", "end_time", "place", "description",
                    "plan_item", "need", "party_members", "teachers", "students", "residents_served",
                )
            }
            if activity.pairing_id is None:
                initial["pairing"] = activity.program
            initial["co_branches"] = list(activity.co_branches.all())
            values = {value.metric_id: value for value in activity.metric_values.select_related("metric")}
            program_metrics = [m for m in metrics if m.program_id == activity.program_id]
            metric_initial = [
                {"metric": m, "value": values.pop(m.id).value if m.id in values else None} for m in program_metrics
            ]
            metric_initial += [{"metric": value.metric, "value": value.value} for value in values.values()]
            metric_extra = 0 if metric_initial else 2
            records = activity.service_records.select_related("volunteer").order_by("id")
            hours_initial = [
                {"volunteer": r.volunteer, "hours": r.hours, "content": r.content} for r in records
            ]
            hours_extra = 2
        forms = {
            "form": ActivityForm(
                data, initial=initial, pairings=pairings, activity=activity, programs=self.programs(),
                co_branches=self.co_branches(pairings),
            ),
            "metrics": metric_formset(metrics=metrics, initial=metric_initial, data=data, extra=metric_extra),
            "hours": service_record_formset(
                volunteers=self.volunteers(), initial=hours_initial, data=data, extra=hours_extra
            ),
            "upload": PhotoUploadForm(data, files, user=request.user),
        }
        if activity is not None:
            forms["photos"] = photo_formset(photos=list(activity.photos.order_by("id")), data=data)
        self.offer_first(forms)
        return forms

    def render_forms(self, forms, status=200):
        forms["upload"].is_valid()  # its held photos are shown again even when another form stopped the checks
        files_lost = self.request.method == "POST" and bool(self.request.FILES) and not self.hold_picked(forms["upload"])
        context = {
            **forms,
            "activity": self.activity,
            "files_lost": files_lost,
            "can_submit": self.activity is None or self.activity.status in OPEN_STATUSES,  # the view checked can_edit
            "metric_units": {m.id: m.unit for m in forms["metrics"].metrics},
            "asks_reason": "correction_reason" in forms["form"].fields,
            # as saved: what the form holds now is checked once it is saved
            "warnings": plausibility.activity_warnings(self.activity, viewer=self.request.user, name_others=True)
            if self.activity is not None else [],
            "warnings_for": "submit",
            "from_meeting": getattr(self, "from_meeting", None),
            # kept across a re-rendered form, so its retry is still the same save (activity-draft.js keeps it too)
            "submit_key": submit_key_of(self.request) or uuid.uuid4(),
            "form_bound": self.request.method == "POST",
        }
        return render(self.request, self.template_name, context, status=status)

    def prefill(self):
        """What a new activity's form starts with besides today's date."""
        return {}

    def hold_picked(self, upload):
        """Photos sent with a form that is shown again (without JavaScript, they come with the form): held for the
        user like photos uploaded on pick, so the form carries them as tokens. True when every one was held."""
        photos = (getattr(upload, "cleaned_data", None) or {}).get("new_photos") or []
        if not photos:
            return False
        minors = upload.cleaned_data.get("new_photos_show_minors", False)
        try:
            for photo in photos:
                held, token = services.photo_upload_hold(owner=self.request.user, photo=photo)
                upload.held.append(HeldRow(token=token, upload=held, shows_minors=minors))
        except ValidationError:
            return False
        return True

    def valid(self, forms):
        return all(form.is_valid() for form in forms.values())

    def service_arguments(self, forms):
        data = forms["form"].cleaned_data
        fields = services.ActivityFields(
            **{name: data.get(name) for name in services.ActivityFields.__dataclass_fields__}
        )
        for name in services.PEOPLE_FIELDS:
            if getattr(fields, name) is None:
                setattr(fields, name, 0)
        fields.place = fields.place or ""
        fields.description = fields.description or ""
        upload = forms["upload"].cleaned_data
        arguments = {
            "fields": fields,
            "metric_values": [services.MetricEntry(metric=m, value=v) for m, v in forms["metrics"].entries()],
            "service_records": [services.HoursEntry(**entry) for entry in forms["hours"].entries()],
            "new_photos": [
                services.NewPhoto(photo=photo, shows_minors=upload.get("new_photos_show_minors", False))
                for photo in upload.get("new_photos") or []
            ],
            "submit": self.request.POST.get("action") == "submit",
        }
        arguments["new_photos"] += [
            services.HeldPhoto(token=row.token, caption=row.caption, shows_minors=row.shows_minors)
            for row in upload.get("held") or []
        ]
        if "correction_reason" in forms["form"].fields:
            arguments["correction_reason"] = data.get("correction_reason") or ""
        if "photos" in forms:
            arguments["photo_changes"] = [
                services.PhotoChange(
                    photo_id=form.cleaned_data["photo_id"],
                    caption=form.cleaned_data.get("caption") or "",
                    shows_minors=form.cleaned_data.get("shows_minors", False),
                    delete=form.cleaned_data.get("delete", False),
                )
                for form in forms["photos"].forms
                if form.cleaned_data.get("photo_id")
            ]
        return arguments

    def attach_errors(self, forms, error):
        """Put a service's ValidationError where it belongs on the forms."""
        if not hasattr(error, "error_dict"):
            forms["form"].add_error(None, error)
            return
        targets = {"metric_values": "metrics", "service_records": "hours", "photos": "photos"}
        for name, errors in error.error_dict.items():
            messages_ = [message for e in errors for message in e.messages]
            if name in targets and targets[name] in forms:
                formset = forms[targets[name]]
                formset.non_form_errors()
                formset._non_form_errors = formset.error_class(
                    list(formset._non_form_errors) + messages_, error_class="nonform", renderer=formset.renderer
                )
            elif name == "new_photos":
                forms["upload"].add_error("new_photos", messages_)
            elif name in forms["form"].fields:
                forms["form"].add_error(name, messages_)
            else:
                forms["form"].add_error(None, messages_)

    def post(self, request, *args, **kwargs):
        key = submit_key_of(request)
        earlier = selectors.saved_with_key(request.user, key)
        if earlier is not None:  # a retry of a save that went through: before any check its first run changed
            return already_saved(request, earlier.activity, key)
        self.prepare()
        forms = self.build(request.POST, request.FILES)
        if not self.valid(forms):
            return self.render_forms(forms)
        arguments = self.service_arguments(forms)
        try:
            result = services.activity_save_once(actor=request.user, submit_key=key, save=lambda: self.save(arguments))
        except services.AlreadySaved as saved:
            return already_saved(request, saved.activity, key)
        except ValidationError as error:
            self.attach_errors(forms, error)
            return self.render_forms(forms)
        self.announce(result)
        return mark_saved(request, redirect(reverse("activities:detail", args=[result.activity.pk])), key)

    def get(self, request, *args, **kwargs):
        self.prepare()
        return self.render_forms(self.build())

    def announce(self, result):
        activity = result.activity
        if activity.status == Activity.Status.SUBMITTED and self.request.POST.get("action") == "submit":
            messages.success(self.request, _("Submitted to the village for confirmation."))
            warn(self.request, activity)
        elif self.activity is not None and activity.corrected_at != self.activity.corrected_at:
            messages.success(self.request, _("Saved. The corrected activity is back with the village for confirmation."))
        else:
            messages.success(self.request, _("Saved."))
        for photo, others in result.duplicate_photos:
            titles = "、".join(f"“{other.title}”（{date_format(other.date)}）" for other in others[:3])
            messages.warning(
                self.request,
                ngettext(
                    "A photo you added is the same file as one in %(titles)s. Please check it belongs here.",
                    "A photo you added is the same file as those in %(titles)s. Please check it belongs here.",
                    len(others),
                )
                % {"titles": titles},
            )


    def offer_first(self, forms):
        """On a phone, what the branch used last comes first: its last places (a datalist on the place field) and
        its usual volunteers (a group at the top of every hours row's drop-down). Three queries, whatever the rows."""
        branch_ids = self.branch_ids()
        places = selectors.recent_places(branch_ids)
        forms["form"].recent_places = places
        if places:
            forms["form"].fields["place"].widget.attrs["list"] = "act-places"
        hours = forms["hours"]
        field = hours.form.base_fields["volunteer"]
        volunteers = list(hours.volunteers)
        usual = selectors.usual_volunteer_ids(branch_ids, hours.volunteers, today=timezone.localdate())
        label = VolunteerChoiceField.label_from_instance
        by_id = {volunteer.pk: volunteer for volunteer in volunteers}
        usual = [pk for pk in usual if pk in by_id]
        everyone = [(v.pk, label(field, v)) for v in volunteers if v.pk not in usual]
        # read once here for every row (SharedChoicesMixin takes what is set)
        hours._shared_choices = [("", field.empty_label)] + (
            [(_("Usual volunteers"), [(pk, label(field, by_id[pk])) for pk in usual]), (_("Other volunteers"), everyone)]
            if usual else everyone
        )


class ActivityCreateView(LoginRequiredMixin, ActivityFormMixin, View):
    from_meeting = None

    def prepare(self):
        if not permissions.can_record(self.request.user):
            raise PermissionDenied
        self.from_meeting = self.meeting_recorded()

    def meeting_recorded(self):
        """The joint meeting this activity records, when the form was opened from the meeting's page (?meeting=, then
        a hidden field): one the user reads, of a pairing, not recorded by an activity yet; so it is entered once."""
        pk = self.request.POST.get("meeting") or self.request.GET.get("meeting")
        if not pk or not str(pk).isdigit():
            return None
        return (
            Meeting.objects.visible_to(self.request.user)
            .filter(pk=pk, pairing__isnull=False, activity__isnull=True)
            .select_related("program", "pairing")
            .first()
        )

    def prefill(self):
        meeting = self.from_meeting
        if meeting is None:
            return {}
        return {
            "pairing": meeting.pairing_id, "title": meeting.title, "date": meeting.date, "place": meeting.place,
            "description": meeting.minutes, "activity_type": meeting_activity_types().values_list("pk", flat=True).first(),
        }

    def save(self, arguments):
        try:
            result = services.activity_create(actor=self.request.user, **arguments)
        except PermissionDenied as exc:
            raise ValidationError({"pairing": str(exc) or _("You do not record activities in this pairing.")})
        if self.from_meeting is not None:
            try:
                services.meeting_activity_link(meeting=self.from_meeting, activity=result.activity, actor=self.request.user)
            except (ValidationError, PermissionDenied) as error:
                for message in getattr(error, "messages", [str(error)]):
                    messages.warning(self.request, message)
        return result


class ActivityUpdateView(LoginRequiredMixin, ScopedObjectMixin, SingleObjectMixin, ActivityFormMixin, View):
    model = Activity
    needs_edit = True

    def get_queryset(self):
        return Activity.objects.visible_to(self.request.user).select_related("pairing", "branch", "corrected_by")

    def prepare(self):
        self.object = self.activity = self.get_object()

    def save(self, arguments):
        return services.activity_update(activity=self.activity, actor=self.request.user, **arguments)


# ---------------------------------------------------------------------------------------------------------
# Status changes
# ---------------------------------------------------------------------------------------------------------


class ActivityActionView(LoginRequiredMixin, ScopedObjectMixin, SingleObjectMixin, View):
    model = Activity
    http_method_names = ["post"]

    def get_queryset(self):
        return Activity.objects.visible_to(self.request.user).select_related("pairing")

    def done(self, activity):
        return redirect(reverse("activities:detail", args=[activity.pk]))

    def post(self, request, *args, **kwargs):
        activity = self.get_object()
        try:
            self.act(activity)
        except AlreadyDone as done:
            for message in done.messages:
                messages.info(request, message)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        return self.done(activity)


class ActivitySubmitView(ActivityActionView):
    needs_edit = True

    def permission_check(self, obj):
        # a second tap on 提交 finds it submitted already: the one who sent it is told so, not refused
        if obj.status in COUNTED_STATUSES and permissions.records(self.request.user, obj):
            return True
        return super().permission_check(obj)

    def act(self, activity):
        if activity.status in COUNTED_STATUSES:
            messages.info(self.request, _("This activity has already been submitted."))
            return
        try:
            activity = services.activity_submit(activity=activity, actor=self.request.user)
        except PermissionDenied:
            activity.refresh_from_db(fields=["status"])
            if activity.status not in COUNTED_STATUSES or not permissions.records(self.request.user, activity):
                raise
            # the other tap took the row's lock first and submitted it
            messages.info(self.request, _("This activity has already been submitted."))
            return
        messages.success(self.request, _("Submitted to the village for confirmation."))
        warn(self.request, activity)


class ConfirmerMixin:
    def permission_check(self, obj):
        return permissions.may_confirm(self.request.user, obj)


class ActivityConfirmView(ConfirmerMixin, ActivityActionView):
    def act(self, activity):
        if activity.status == Activity.Status.CONFIRMED:  # a second tap
            messages.info(self.request, _("This activity has already been confirmed."))
            return
        try:
            services.activity_confirm(activity=activity, actor=self.request.user)
        except ValidationError:
            activity.refresh_from_db(fields=["status"])
            if activity.status != Activity.Status.CONFIRMED:
                raise
            messages.info(self.request, _("This activity has already been confirmed."))
            return
        messages.success(self.request, _("Confirmed. Thank you."))

    def done(self, activity):
        return redirect(reverse("home"))


class ActivityReturnView(LoginRequiredMixin, ConfirmerMixin, ScopedObjectMixin, SingleObjectMixin, View):
    model = Activity
    template_name = "activities/return.html"

    def get_queryset(self):
        return Activity.objects.visible_to(self.request.user).select_related(
            "pairing__supporter", "pairing__supported", "branch", "activity_type", "corrected_by"
        )

    def not_waiting(self, activity):
        messages.info(self.request, _("This activity is not waiting for confirmation."))
        return redirect(reverse("activities:detail", args=[activity.pk]))

    def page(self, activity, form):
        warnings = plausibility.activity_warnings(
            activity, viewer=self.request.user, name_others=permissions.can_edit(self.request.user, activity)
        )
        return render(
            self.request, self.template_name,
            {"activity": activity, "form": form, "warnings": warnings, "warnings_for": "confirm"},
        )

    def get(self, request, *args, **kwargs):
        activity = self.get_object()
        if activity.status != Activity.Status.SUBMITTED:
            return self.not_waiting(activity)
        return self.page(activity, ReturnForm())

    def already_returned(self):
        messages.info(self.request, _("This activity has already been returned to the branch."))
        return redirect(reverse("home"))

    def post(self, request, *args, **kwargs):
        activity = self.get_object()
        if activity.status == Activity.Status.RETURNED:  # a second tap
            return self.already_returned()
        form = ReturnForm(request.POST)
        if form.is_valid():
            try:
                services.activity_return(activity=activity, actor=request.user, comment=form.cleaned_data["comment"])
            except ValidationError as error:
                if hasattr(error, "error_dict") and "comment" in error.error_dict:
                    form.add_error("comment", error.error_dict["comment"])
                else:
                    activity.refresh_from_db(fields=["status"])
                    if activity.status == Activity.Status.RETURNED:  # the other tap returned it first
                        return self.already_returned()
                    for message in error.messages:
                        messages.error(request, message)
                    return redirect(reverse("activities:detail", args=[activity.pk]))
            else:
                messages.success(request, _("Returned to the branch with your comment."))
                return redirect(reverse("home"))
        return self.page(activity, form)


# ---------------------------------------------------------------------------------------------------------
# Photos: never served by URL, only here, after the scope check
# ---------------------------------------------------------------------------------------------------------


class PhotoView(LoginRequiredMixin, View):
    variant = "image"

    def get(self, request, pk):
        photo = ActivityPhoto.objects.visible_to(request.user).filter(pk=pk).first()
        if photo is None:
            raise Http404
        file = getattr(photo, self.variant)
        suffix = "-thumb" if self.variant == "thumbnail" else ""
        response = protected_file_response(file, content_type="image/jpeg", filename=f"photo-{photo.pk}{suffix}.jpg")
        response["Cache-Control"] = downloads.NO_STORE  # village offices share PCs: no copy stays in the browser
        return response


class ThumbnailView(PhotoView):
    variant = "thumbnail"



# ---------------------------------------------------------------------------------------------------------
# Needs (微心愿): list, raise, the need page, claim, fulfil, rate
# ---------------------------------------------------------------------------------------------------------


class NeedListView(LoginRequiredMixin, View):
    template_name = "activities/needs/list.html"

    def get(self, request):
        now = timezone.now()
        filterset = NeedFilter(request.GET or None, queryset=selectors.need_list(request.user, now), request=request)
        valid = not filterset.is_bound or filterset.is_valid()
        rows = filterset.qs if valid else Need.objects.none()
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        for need in page.object_list:
            need.shown_wanted_by = selectors.shown_wanted_by(request.user, need)
        return render(
            request,
            self.template_name,
            {
                "filter": filterset,
                "page": page,
                "filtered": bool(filterset.is_bound and any(v for k, v in request.GET.items() if k != "page")),
                "can_raise": permissions.can_raise(request.user),
            },
        )


class NeedExportView(downloads.TableExportView):
    """The needs list's rows under its filters (NeedFilter over selectors.need_list), all its pages, as CSV or
    XLSX (portal.downloads). One query for the rows besides the session, user, scope and drop-downs."""

    list_view = NeedListView

    def filterset(self):
        request = self.request
        return NeedFilter(request.GET or None, queryset=selectors.need_list(request.user, timezone.now()), request=request)

    def columns(self):
        return exports.need_columns()

    def rows(self, queryset):
        return exports.need_rows(self.request.user, queryset)

    def names(self):
        return _("needs"), _("Needs")


class NeedCreateView(LoginRequiredMixin, View):
    template_name = "activities/needs/form.html"

    def pairings(self):
        pairings = permissions.raisable_pairings(self.request.user)
        if not pairings.exists():
            raise PermissionDenied
        return pairings

    def get(self, request):
        pairings = self.pairings()
        initial = {"pairing": request.GET.get("pairing")} if request.GET.get("pairing") else {}
        return render(request, self.template_name, {"form": NeedForm(initial=initial, pairings=pairings)})

    def post(self, request):
        form = NeedForm(request.POST, pairings=self.pairings())
        if form.is_valid():
            try:
                need = services.need_raise(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            except PermissionDenied as error:
                form.add_error("pairing", str(error))
            else:
                messages.success(request, _("Need raised. The pairing's branches can see it now."))
                return redirect(reverse("activities:need_detail", args=[need.pk]))
        return render(request, self.template_name, {"form": form})


class NeedPageMixin(LoginRequiredMixin, ScopedObjectMixin, SingleObjectMixin):
    """The need page and the actions posted from it: the page is re-rendered with a form's errors."""

    model = Need
    template_name = "activities/needs/detail.html"
    context_object_name = "need"

    def get_queryset(self):
        return selectors.need_detail(self.request.user, timezone.now())

    def page(self, need, status=200, **forms):
        user = self.request.user
        can_claim = permissions.can_claim(user, need)
        can_fulfil = permissions.can_fulfil(user, need)
        can_rate = permissions.can_rate(user, need)
        context = {
            "need": need,
            "wanted_by": selectors.shown_wanted_by(user, need),
            "answers": selectors.list_rows(need.answers),
            "can_claim": can_claim,
            "claim_form": forms.get("claim_form")
            or (NeedClaimForm(branches=permissions.claiming_branches(user, need.pairing)) if can_claim else None),
            "can_fulfil": can_fulfil,
            "fulfil_form": forms.get("fulfil_form")
            or (NeedFulfilForm(activities=services.answering_activities(user, need)) if can_fulfil else None),
            "can_rate": can_rate,
            "rate_form": forms.get("rate_form") or (NeedRateForm() if can_rate else None),
            "claim_time": need.claimed_at and need.claimed_at - need.raised_at,
            "response_time": need.fulfilled_at and need.fulfilled_at - need.raised_at,
        }
        return render(self.request, self.template_name, context, status=status)

    def done(self, need):
        return redirect(reverse("activities:need_detail", args=[need.pk]))


class NeedDetailView(NeedPageMixin, View):
    def get(self, request, pk):
        return self.page(self.get_object())


class NeedClaimView(NeedPageMixin, View):
    http_method_names = ["post"]

    def permission_check(self, obj):
        return permissions.may_claim(self.request.user, obj)

    def post(self, request, pk):
        need = self.get_object()
        form = NeedClaimForm(request.POST, branches=permissions.claiming_branches(request.user, need.pairing))
        if not form.is_valid():
            return self.page(need, claim_form=form)
        try:
            services.need_claim(need=need, actor=request.user, branch=form.cleaned_data["branch"])
        except AlreadyDone as done:
            messages.info(request, " ".join(done.messages))
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Claimed. Record the activity that answers it, then mark the need fulfilled."))
        return self.done(need)


class NeedFulfilView(NeedPageMixin, View):
    http_method_names = ["post"]

    def permission_check(self, obj):
        return permissions.may_fulfil(self.request.user, obj)

    def post(self, request, pk):
        need = self.get_object()
        form = NeedFulfilForm(request.POST, activities=services.answering_activities(request.user, need))
        if form.is_valid():
            try:
                services.need_fulfil(need=need, actor=request.user, activity=form.cleaned_data["activity"])
            except AlreadyDone as done:
                messages.info(request, " ".join(done.messages))
                return self.done(need)
            except ValidationError as error:
                if not hasattr(error, "error_dict"):
                    for message in error.messages:
                        messages.error(request, message)
                    return self.done(need)
                add_service_error(form, error)
            else:
                messages.success(request, _("Marked fulfilled. The village can now rate the response."))
                return self.done(need)
        return self.page(need, fulfil_form=form)


class NeedRateView(NeedPageMixin, View):
    http_method_names = ["post"]

    def permission_check(self, obj):
        return permissions.may_rate(self.request.user, obj)

    def post(self, request, pk):
        need = self.get_object()
        form = NeedRateForm(request.POST)
        if form.is_valid():
            try:
                services.need_rate(
                    need=need, actor=request.user, rating=form.cleaned_data["rating"], comment=form.cleaned_data["comment"]
                )
            except AlreadyDone as done:
                messages.info(request, " ".join(done.messages))
                return self.done(need)
            except ValidationError as error:
                if not hasattr(error, "error_dict"):
                    for message in error.messages:
                        messages.error(request, message)
                    return self.done(need)
                add_service_error(form, error)
            else:
                messages.success(request, _("Thank you for your rating. The need is closed."))
                return self.done(need)
        return self.page(need, rate_form=form)


# --------------------------------------------------------------------------------------------------------
# Verifying hours (谁记录谁证明): posted from the volunteer and team pages
# --------------------------------------------------------------------------------------------------------


def _back(request):
    """Where the verification was posted from (the page's own `next`, on this site only), else the activities."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("activities:list")


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


class VolunteerVerifyView(LoginRequiredMixin, ScopedObjectMixin, SingleObjectMixin, View):
    """POST: verify the ticked hours of one volunteer (the organising side only, 谁记录谁证明)."""

    model = Volunteer
    http_method_names = ["post"]

    def permission_check(self, obj):
        return ServiceRecord.objects.filter(volunteer=obj).editable_by(self.request.user).exists()

    def post(self, request, *args, **kwargs):
        volunteer = self.get_object()
        _verify(request, ServiceRecord.objects.filter(volunteer=volunteer), request.user)
        return _back(request)


class TeamVerifyView(LoginRequiredMixin, ScopedObjectMixin, SingleObjectMixin, View):
    """POST: verify the ticked hours of the team's members (those the user's side recorded)."""

    model = Team
    http_method_names = ["post"]

    def permission_check(self, obj):
        return ServiceRecord.objects.filter(volunteer__teams=obj).editable_by(self.request.user).exists()

    def post(self, request, *args, **kwargs):
        team = self.get_object()
        _verify(request, ServiceRecord.objects.filter(volunteer__teams=team), request.user)
        return _back(request)


# --------------------------------------------------------------------------------------------------------
# Joint meetings (联席会议): list, record, the meeting page, edit, files; decisions: the to-do list, close, reopen
# --------------------------------------------------------------------------------------------------------


class MeetingListView(LoginRequiredMixin, View):
    template_name = "activities/meetings/list.html"

    def get(self, request):
        """Six queries whatever the rows: session, user, scope, the filter's drop-downs (pairings, programs), the
        count, the page's rows."""
        filterset = MeetingFilter(request.GET or None, queryset=selectors.meeting_list(request.user), request=request)
        valid = not filterset.is_bound or filterset.is_valid()
        page = Paginator(filterset.qs if valid else Meeting.objects.none(), PAGE_SIZE).get_page(request.GET.get("page"))
        return render(
            request,
            self.template_name,
            {
                "filter": filterset,
                "page": page,
                "filtered": bool(filterset.is_bound and any(v for k, v in request.GET.items() if k != "page")),
                "can_record": permissions.can_record_meeting(request.user),
            },
        )


class MeetingFormMixin:
    """The meeting form (new and edit): the meeting's fields, its attendees and decisions (formsets whose
    drop-downs are read once: forms.MeetingChoices), its files."""

    template_name = "activities/meetings/form.html"
    meeting = None
    program = None
    pairing = None

    def choices(self):
        return MeetingChoices(
            people=services.meeting_people(program=self.program, pairing=self.pairing).order_by("full_name", "username"),
            orgs=services.meeting_owner_orgs(program=self.program, pairing=self.pairing).order_by("kind", "name", "id"),
        )

    def initial(self):
        meeting = self.meeting
        if meeting is None:
            attendees = [
                {"name": liaison.name, "user": liaison.user_id, "title": liaison.title, "side": liaison.side}
                for liaison in (self.pairing.liaisons.order_by("side", "name") if self.pairing else [])
            ]
            return {"date": timezone.localdate(), "title": services.default_meeting_title()}, attendees, []
        attendees = [
            {"user": a.user_id, "name": a.name, "side": a.side, "organization": a.organization_id,
             "organization_name": a.organization_name, "title": a.title}
            for a in meeting.attendees.all()
        ]
        decisions = [
            {"item_id": item.pk, "text": item.text, "owner_org": item.owner_org_id, "owner_user": item.owner_user_id,
             "due_date": item.due_date}
            for item in meeting.action_items.all()
            if item.status == ActionItem.Status.OPEN
        ]
        fields = {name: getattr(meeting, name) for name in ("title", "date", "place", "minutes", "activity")}
        return fields, attendees, decisions

    def build(self, data=None, files=None):
        choices = self.choices()
        fields, attendees, decisions = self.initial()
        activities = services.meeting_activities(
            program=self.program, pairing=self.pairing, actor=self.request.user, meeting=self.meeting
        )
        return {
            "form": MeetingForm(data, initial=fields, activities=activities),
            "attendees": attendee_formset(choices=choices, initial=attendees, data=data, extra=2 if attendees else 4),
            "decisions": decision_formset(choices=choices, initial=decisions, data=data, extra=3 if not decisions else 1),
            "files": MeetingFilesForm(data, files, attachments=self.meeting.attachments.all() if self.meeting else ()),
        }

    def render_forms(self, forms_, status=200):
        closed = [i for i in self.meeting.action_items.all() if i.status != ActionItem.Status.OPEN] if self.meeting else []
        context = {
            **forms_,
            "meeting": self.meeting,
            "program": self.program,
            "pairing": self.pairing,
            "closed_items": closed,
            "files_lost": self.request.method == "POST" and bool(self.request.FILES),
        }
        return render(self.request, self.template_name, context, status=status)

    def arguments(self, forms_):
        data = forms_["form"].cleaned_data
        return {
            "fields": services.MeetingFields(
                date=data.get("date"), title=data.get("title") or "", place=data.get("place") or "",
                minutes=data.get("minutes") or "", activity=data.get("activity"),
            ),
            "attendees": forms_["attendees"].entries(),
            "decisions": forms_["decisions"].entries(),
            "new_attachments": forms_["files"].new_attachments(),
        }

    def attach_errors(self, forms_, error):
        if not hasattr(error, "error_dict"):
            forms_["form"].add_error(None, error)
            return
        for name, errors in error.error_dict.items():
            messages_ = [message for e in errors for message in e.messages]
            if name in ("attendees", "decisions"):
                formset = forms_[name]
                formset.non_form_errors()
                formset._non_form_errors = formset.error_class(
                    list(formset._non_form_errors) + messages_, error_class="nonform", renderer=formset.renderer
                )
            elif name == "attachments":
                forms_["files"].add_error(None, messages_)
            elif name in forms_["form"].fields:
                forms_["form"].add_error(name, messages_)
            else:
                forms_["form"].add_error(None, messages_)

    def get(self, request, *args, **kwargs):
        response = self.prepare()
        return response or self.render_forms(self.build())

    def post(self, request, *args, **kwargs):
        response = self.prepare()
        if response:
            return response
        forms_ = self.build(request.POST, request.FILES)
        if not all(form.is_valid() for form in forms_.values()):
            return self.render_forms(forms_)
        try:
            meeting = self.save(self.arguments(forms_), forms_)
        except ValidationError as error:
            self.attach_errors(forms_, error)
            return self.render_forms(forms_)
        messages.success(request, _("Meeting saved."))
        return redirect(reverse("activities:meeting_detail", args=[meeting.pk]))


class MeetingCreateView(LoginRequiredMixin, MeetingFormMixin, View):
    """/activities/meetings/new/?pairing=<id> (or ?program=<id> for a program-wide meeting); without either, the
    pairings and programs the user records meetings of, to choose from."""

    chooser_template = "activities/meetings/choose.html"

    def prepare(self):
        user, params = self.request.user, self.request.GET
        pairing_id, program_id = params.get("pairing"), params.get("program")
        if pairing_id:
            self.pairing = self._one(permissions.meeting_pairings(user), Pairing.objects.visible_to(user), pairing_id)
            self.program = self.pairing.program
            return None
        if program_id:
            self.program = self._one(permissions.meeting_programs(user), Program.objects.visible_to(user), program_id)
            return None
        pairings = permissions.meeting_pairings(user).select_related("program", "supporter", "supported")
        programs = permissions.meeting_programs(user).order_by("name")
        if not pairings.exists() and not programs.exists():
            raise PermissionDenied
        return render(self.request, self.chooser_template, {"pairings": pairings, "programs": programs})

    def _one(self, allowed, visible, pk):
        """The pairing or program the user records a meeting of: outside their reach 404, read but not theirs 403."""
        if not str(pk).isdigit():
            raise Http404
        found = allowed.filter(pk=pk).select_related(*(("program", "supporter", "supported") if allowed.model is Pairing else ("office",))).first()
        if found is None:
            if visible.filter(pk=pk).exists():
                raise PermissionDenied
            raise Http404
        return found

    def save(self, arguments, forms_):
        try:
            return services.meeting_create(actor=self.request.user, program=self.program, pairing=self.pairing, **arguments)
        except PermissionDenied as error:
            raise ValidationError(str(error)) from None


class MeetingUpdateView(LoginRequiredMixin, ScopedObjectMixin, SingleObjectMixin, MeetingFormMixin, View):
    model = Meeting
    needs_edit = True

    def get_queryset(self):
        return selectors.meeting_detail(self.request.user)

    def permission_check(self, obj):
        return permissions.can_edit_meeting(self.request.user, obj)

    def prepare(self):
        self.object = self.meeting = self.get_object()
        self.program, self.pairing = self.meeting.program, self.meeting.pairing
        return None

    def save(self, arguments, forms_):
        return services.meeting_update(
            meeting=self.meeting, actor=self.request.user, removed_attachment_ids=forms_["files"].cleaned_data.get("remove") or [],
            **arguments,
        )


class MeetingDetailView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    model = Meeting
    template_name = "activities/meetings/detail.html"
    context_object_name = "meeting"

    def get_queryset(self):
        return selectors.meeting_detail(self.request.user)

    def get_context_data(self, **kwargs):
        """A fixed number of queries: the meeting (with pairing, program, activity), its attendees, files and
        decisions (three prefetches), the previous meeting and its decisions (two), whether the user edits it, and for
        a branch secretary, whether they may record it as an activity."""
        context = super().get_context_data(**kwargs)
        user, meeting, today = self.request.user, self.object, timezone.localdate()
        items = list(meeting.action_items.all())
        for item in items:
            item.meeting = meeting  # may_close reads the meeting's program: the one already read
            item.is_overdue = item.overdue_on(today)
            item.closable = permissions.can_close(user, item)
            item.reopenable = permissions.can_reopen(user, item)
        previous = selectors.previous_meeting(meeting)
        previous_items = list(previous.action_items.all()) if previous else []
        for item in previous_items:
            item.meeting = previous
            item.is_overdue = item.overdue_on(today)
        attendees = list(meeting.attendees.all())
        attachments = list(meeting.attachments.all())
        context.update(
            today=today,
            can_edit=permissions.can_edit_meeting(user, meeting),
            # the link to record the meeting as an activity (entered once): for a secretary of a branch of its pairing
            can_record_activity=meeting.activity_id is None and meeting.pairing_id is not None
            and bool(scope_for(user).secretary_orgs)
            and permissions.recordable_pairings(user).filter(pk=meeting.pairing_id).exists(),
            items=items,
            previous=previous,
            previous_items=previous_items,
            sides=[
                (label, [a for a in attendees if a.side == side])
                for side, label in MeetingAttendee.Side.choices
                if any(a.side == side for a in attendees)
            ],
            photos=[a for a in attachments if a.is_image],
            documents=[a for a in attachments if not a.is_image],
        )
        return context


class MeetingAttachmentView(LoginRequiredMixin, View):
    """A meeting's file, served only to those who read the meeting, never by URL."""

    variant = "file"

    def get(self, request, pk):
        attachment = MeetingAttachment.objects.visible_to(request.user).filter(pk=pk).first()
        if attachment is None:
            raise Http404
        if self.variant == "thumbnail":
            file, content_type, suffix = attachment.thumbnail, "image/jpeg", "-thumb.jpg"
        else:
            file, content_type = attachment.file, attachment.content_type
            suffix = ".pdf" if content_type == "application/pdf" else ".jpg"
        response = protected_file_response(file, content_type=content_type, filename=f"meeting-file-{attachment.pk}{suffix}")
        response["Cache-Control"] = downloads.NO_STORE
        return response


class MeetingThumbnailView(MeetingAttachmentView):
    variant = "thumbnail"


class ActionItemListView(LoginRequiredMixin, View):
    """The decisions to carry out: by default the user's own and their organisations' open ones, overdue first."""

    template_name = "activities/meetings/action_items.html"

    def get(self, request):
        today = timezone.localdate()
        params = request.GET.copy()
        params.setdefault("show", "mine")
        params.setdefault("status", ActionItem.Status.OPEN)
        filterset = ActionItemFilter(params, queryset=selectors.action_item_list(request.user, today), request=request)
        valid = filterset.is_valid()
        page = Paginator(filterset.qs if valid else ActionItem.objects.none(), PAGE_SIZE).get_page(request.GET.get("page"))
        for item in page.object_list:
            item.closable = permissions.can_close(request.user, item)
        return render(request, self.template_name, {"filter": filterset, "page": page, "today": today})


class ActionItemMixin(LoginRequiredMixin, ScopedObjectMixin, SingleObjectMixin):
    model = ActionItem

    def get_queryset(self):
        return ActionItem.objects.visible_to(self.request.user).select_related(*selectors.ACTION_ITEM_RELATED)

    def permission_check(self, obj):
        return permissions.may_close(self.request.user, obj)

    def done(self, item):
        return redirect(reverse("activities:meeting_detail", args=[item.meeting_id]) + f"#item-{item.pk}")


class ActionItemCloseView(ActionItemMixin, View):
    template_name = "activities/meetings/close.html"

    def page(self, item, form):
        return render(self.request, self.template_name, {"item": item, "form": form, "today": timezone.localdate()})

    def get(self, request, *args, **kwargs):
        item = self.get_object()
        if item.status != ActionItem.Status.OPEN:
            messages.info(request, _("This decision is closed already."))
            return self.done(item)
        return self.page(item, ActionItemCloseForm(activities=services.closing_activities(item, request.user)[:100]))

    def post(self, request, *args, **kwargs):
        item = self.get_object()
        form = ActionItemCloseForm(request.POST, activities=services.closing_activities(item, request.user))
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.action_item_close(
                    item=item, actor=request.user, status=data["status"], activity=data.get("activity"), note=data["note"]
                )
            except AlreadyDone as done:
                messages.info(request, " ".join(done.messages))
                return self.done(item)
            except ValidationError as error:
                if not hasattr(error, "error_dict"):
                    for message in error.messages:
                        messages.error(request, message)
                    return self.done(item)
                add_service_error(form, error)
            else:
                messages.success(request, _("Recorded. It will show as such at the next meeting and in the reports."))
                return self.done(item)
        form.fields["activity"].queryset = services.closing_activities(item, request.user)[:100]
        return self.page(item, form)


class ActionItemReopenView(ActionItemMixin, View):
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        item = self.get_object()
        try:
            services.action_item_reopen(item=item, actor=request.user)
        except AlreadyDone as done:
            messages.info(request, " ".join(done.messages))
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Reopened."))
        return self.done(item)


class ActivityVerifyView(LoginRequiredMixin, ScopedObjectMixin, SingleObjectMixin, View):
    """POST: verify the ticked hours of one activity (the organising side only, 谁记录谁证明), from its page,
    where the notice of hours waiting for verification leads."""

    model = Activity
    http_method_names = ["post"]

    def get_queryset(self):
        return Activity.objects.visible_to(self.request.user).select_related("pairing__program")

    def permission_check(self, obj):
        return permissions.can_verify_hours(self.request.user, obj)

    def post(self, request, *args, **kwargs):
        activity = self.get_object()
        _verify(request, ServiceRecord.objects.filter(activity=activity), request.user)
        return redirect(reverse("activities:detail", args=[activity.pk]) + "#hours")


# --- the activity type catalog (issue 15: set-up) ------------------------------------------------------------


class ActivityTypeSetupMixin(LoginRequiredMixin):
    """Program admins (and superusers) only; a program they do not set up is not there (404)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not pairing_permissions.can_set_up_programs(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def chosen_program(self):
        """The ?program= of the request, one the user sets up (else 404), or None."""
        raw = self.request.GET.get("program") or ""
        if not raw:
            return None
        try:
            return Program.objects.set_up_by(self.request.user).get(pk=int(raw))
        except (ValueError, Program.DoesNotExist):
            raise Http404 from None


class ActivityTypeListView(ActivityTypeSetupMixin, View):
    """The shared types and those of the programs the user sets up (or of the one chosen)."""

    def get(self, request):
        program = self.chosen_program()
        programs = [program] if program else list(Program.objects.set_up_by(request.user).order_by("name"))
        types = list(
            ActivityType.objects.filter(Q(program__isnull=True) | Q(program__in=[p.pk for p in programs]))
            .select_related("program")
            .order_by("program__name", "order", "id")
        )
        groups = [(None, [t for t in types if t.program_id is None])] + [
            (p, [t for t in types if t.program_id == p.pk]) for p in programs
        ]
        return render(request, "activities/types/list.html", {
            "program": program, "groups": groups, "is_superuser": request.user.is_superuser,
        })


class ActivityTypeCreateView(ActivityTypeSetupMixin, View):
    template_name = "activities/types/form.html"

    def _program(self):
        program = self.chosen_program()
        if program is None and not self.request.user.is_superuser:
            raise PermissionDenied  # the shared catalog is the superusers'
        return program

    def get(self, request):
        program = self._program()
        return render(request, self.template_name, {"form": ActivityTypeForm(), "program": program})

    def post(self, request):
        program = self._program()
        form = ActivityTypeForm(request.POST)
        if form.is_valid():
            try:
                services.activity_type_create(actor=request.user, program=program, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("The activity type was added."))
                return redirect(_type_list_url(program))
        return render(request, self.template_name, {"form": form, "program": program})


def _type_list_url(program):
    url = reverse("activities:activity_type_list")
    return f"{url}?program={program.pk}" if program else url


class ActivityTypeUpdateView(ActivityTypeSetupMixin, View):
    template_name = "activities/types/form.html"

    def _object(self, pk):
        user = self.request.user
        visible = ActivityType.objects.filter(Q(program__isnull=True) | Q(program__in=Program.objects.set_up_by(user)))
        try:
            activity_type = visible.select_related("program").get(pk=pk)
        except ActivityType.DoesNotExist:
            raise Http404 from None
        if not ActivityType.objects.set_up_by(user).filter(pk=activity_type.pk).exists():
            raise PermissionDenied  # a shared type: the superusers'
        return activity_type

    def _render(self, form, activity_type):
        context = {"form": form, "program": activity_type.program, "activity_type": activity_type}
        return render(self.request, self.template_name, context)

    def get(self, request, pk):
        activity_type = self._object(pk)
        return self._render(ActivityTypeForm(instance=activity_type), activity_type)

    def post(self, request, pk):
        activity_type = self._object(pk)
        form = ActivityTypeForm(request.POST, instance=activity_type)
        if form.is_valid():
            try:
                services.activity_type_update(activity_type=activity_type, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, _("The activity type was saved."))
                return redirect(_type_list_url(activity_type.program))
        activity_type.refresh_from_db()
        return self._render(form, activity_type)


# ---------------------------------------------------------------------------------------------------------
# Never twice: the form's submit_key
# ---------------------------------------------------------------------------------------------------------

# Set for a minute on the answer to a save that went through (or was already made): activity-draft.js and
# outbox.js read it on the next page to drop the draft and the queued copy of that form. It holds only the
# form's random key.
SAVED_KEY_COOKIE = "portal_saved_key"


def submit_key_of(request):
    """The POSTed form's submit_key as a UUID; None when there is none, or it is no UUID (then the save still
    happens, only without the guard)."""
    if request.method != "POST":
        return None
    try:
        return uuid.UUID(str(request.POST.get("submit_key", "")))
    except ValueError:
        return None


def mark_saved(request, response, key):
    if key is not None:
        response.set_cookie(SAVED_KEY_COOKIE, str(key), max_age=60, samesite="Lax", secure=request.is_secure())
    return response


def already_saved(request, activity, key):
    """The answer to a form sent again: no second activity, the one saved the first time."""
    messages.info(request, _("This activity was already saved; it was not submitted twice."))
    if activity is not None and Activity.objects.visible_to(request.user).filter(pk=activity.pk).exists():
        target = reverse("activities:detail", args=[activity.pk])
    else:
        target = reverse("activities:list")
    return mark_saved(request, redirect(target), key)


# ---------------------------------------------------------------------------------------------------------
# Deleting a draft (soft) and restoring it
# ---------------------------------------------------------------------------------------------------------


class ActivityDeleteView(LoginRequiredMixin, ScopedObjectMixin, SingleObjectMixin, View):
    """/activities/<pk>/delete/: a confirm page, then the delete (activities.services.activity_delete). Outside the
    activity's readers 404, a reader who is not its branch's secretary 403; one no longer a draft or returned is
    sent back to its page with why."""

    model = Activity
    template_name = "activities/delete.html"

    def get_queryset(self):
        return Activity.objects.visible_to(self.request.user).select_related("pairing", "program", "branch", "activity_type")

    def permission_check(self, obj):
        return permissions.may_delete(self.request.user, obj)

    def not_open(self, activity):
        messages.info(self.request, _("Only a draft or a returned activity can be deleted. Correct a submitted or confirmed one instead."))
        return redirect(reverse("activities:detail", args=[activity.pk]))

    def get(self, request, *args, **kwargs):
        activity = self.get_object()
        if activity.status not in OPEN_STATUSES:
            return self.not_open(activity)
        return render(request, self.template_name, {"activity": activity})

    def post(self, request, *args, **kwargs):
        activity = self.get_object()
        try:
            services.activity_delete(activity=activity, actor=request.user)
        except ValidationError:
            return self.not_open(activity)
        messages.success(request, _("Deleted. An admin of the program can restore it."))
        return redirect(reverse("activities:list"))


class DeletedActivityListView(LoginRequiredMixin, View):
    """/activities/deleted/: the deleted activities of the programs the user administers, newest deletion first,
    each with a button to restore it. Others: 403. A fixed number of queries (one page of rows, read with what
    it shows)."""

    template_name = "activities/deleted.html"
    per_page = 50

    def get(self, request):
        user = request.user
        if not (scope_for(user).is_superuser or Program.objects.editable_by(user).exists()):
            raise PermissionDenied
        rows = permissions.restorable_activities(user).select_related(
            "pairing__supporter", "pairing__supported", "program", "branch", "activity_type"
        ).order_by("-deleted_at", "-id")
        page = Paginator(rows, self.per_page).get_page(request.GET.get("page"))
        return render(request, self.template_name, {
            "page_obj": page, "paginator": page.paginator, "is_paginated": page.has_other_pages(),
            "activities": page.object_list,
        })


class ActivityRestoreView(LoginRequiredMixin, View):
    """POST /activities/<pk>/restore/: an admin of its program brings a deleted activity back."""

    http_method_names = ["post"]

    def post(self, request, pk):
        activity = permissions.restorable_activities(request.user).filter(pk=pk).first()
        if activity is None:
            if Activity.all_objects.filter(pk=pk, deleted_at__isnull=False).exists() and (
                Activity.all_objects.filter(pk=pk).visible_to(request.user).exists()
            ):
                raise PermissionDenied
            raise Http404
        services.activity_restore(activity=activity, actor=request.user)
        messages.success(request, _("Restored: “%(title)s” is back as it was.") % {"title": activity.title})
        return redirect(reverse("activities:detail", args=[activity.pk]))


# ---------------------------------------------------------------------------------------------------------
# Photos uploaded as soon as they are picked (static/js/photo-upload.js), held for the form by a token
# ---------------------------------------------------------------------------------------------------------

# The multipart envelope around one photo of MAX_UPLOAD_BYTES: a request longer than this is refused unread.
UPLOAD_ENVELOPE_BYTES = 64 * 1024


class PhotoUploadView(LoginRequiredMixin, View):
    """POST one photo (multipart field `file`, CSRF in X-CSRFToken): checked and re-encoded as the form's photos
    are, held for the uploader. 201 {token, name, bytes, width, height, thumb}; 400 {error}; 413 too large; 403
    for whoever neither records nor edits activities. Four queries: session, user, who may, photos held."""

    http_method_names = ["post"]

    def post(self, request):
        if not permissions.may_hold_photos(request.user):
            return JsonResponse({"error": _("You do not record activities.")}, status=403)
        too_large = JsonResponse(
            {"error": _("The photo is larger than %(limit)d MB.") % {"limit": images.MAX_UPLOAD_BYTES // (1024 * 1024)}},
            status=413,
        )
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > images.MAX_UPLOAD_BYTES + UPLOAD_ENVELOPE_BYTES:
            return too_large
        file = request.FILES.get("file")
        if file is None:
            return JsonResponse({"error": _("Choose a photo.")}, status=400)
        try:
            upload, token = services.photo_upload_create(owner=request.user, file=file)
        except ValidationError as error:
            if error.code == "too_large":
                return too_large
            return JsonResponse({"error": " ".join(error.messages)}, status=400)
        return JsonResponse(
            {
                "token": token,
                "name": upload.name,
                "bytes": upload.size,
                "width": upload.width,
                "height": upload.height,
                "thumb": reverse("activities:photo_upload_thumb", args=[upload.pk]),
            },
            status=201,
        )


class PhotoUploadThumbnailView(LoginRequiredMixin, View):
    """The thumbnail of a held photo: its uploader's alone, until the photo is attached (then the photo's own)."""

    def get(self, request, pk):
        upload = PhotoUpload.objects.visible_to(request.user).filter(pk=pk).first()
        if upload is None:
            raise Http404
        response = protected_file_response(upload.thumbnail, content_type="image/jpeg", filename=f"held-{upload.pk}-thumb.jpg")
        response["Cache-Control"] = downloads.NO_STORE
        return response
