"""The activity list's filters: one FilterSet for the page and its CSV export. Every drop-down lists only
what the viewer may see; its choices come, with the viewer's pairings, from one query (selectors.list_choices)."""

from html import escape  # the plain one: Django's checks every argument for lazy text, a thousand times here

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django.forms.utils import flatatt
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from activities import selectors
from activities.models import ActionItem, Activity, ActivityMetricValue, Meeting, Need, ServiceRecord, verified_q
from pairings.models import Pairing, Program
from portal import search
from portal.filtersets import FilterSet
from portal.kept import KeptValues
from portal.permissions import scope_for
from portal.widgets import PickerWidget

# the activity search's fields: those of its index (activities/migrations/0009_search_index.py), in its order
ACTIVITY_SEARCH_FIELDS = ("title", "place", "description")
# their tokens, stored with each row on PostgreSQL (activities/migrations/0010_search_column.py)
ACTIVITY_SEARCH_COLUMN = "search_vector"
NEED_SEARCH_FIELDS = ("title", "description", "pairing__supported__name", "pairing__supported__short_name")


def _pairings(request):
    if request is None:
        return Pairing.objects.none()
    return Pairing.objects.visible_to(request.user).select_related("supporter", "supported", "program")


def pairing_picker():
    """The pairing filter's widget on every list: a province admin reads a thousand pairings (portal/widgets.py)."""
    return PickerWidget("pairings:pairing_picker", placeholder=_("Type a side's name"))


class FastSelect(forms.Select):
    """A drop-down rendered in one pass. Django renders each <option> through a template, ≈ 50 µs apiece: a
    program admin's thousand pairings would cost the list more than everything else on it."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = set(self.format_value(value))

        def option(option_value, label):
            option_value = "" if option_value is None else str(option_value)
            selected = " selected" if option_value in chosen else ""
            return f'<option value="{escape(option_value)}"{selected}>{escape(str(label))}</option>'

        parts = []
        for option_value, label in self.choices:
            if isinstance(label, (list, tuple)):  # a group: (name, [(value, label), …])
                inner = "".join(option(v, text) for v, text in label)
                parts.append(f'<optgroup label="{escape(str(option_value))}">{inner}</optgroup>')
            else:
                parts.append(option(option_value, label))
        final_attrs = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        return mark_safe(f"<select{flatatt(final_attrs)}>{''.join(parts)}</select>")


def _pairing_choices(pairings):
    """The pairings as drop-down choices, grouped by program when there are several."""
    programs = {program for _, _, program in pairings}
    if len(programs) <= 1:
        return [(pk, label) for pk, label, _ in pairings]
    groups = {}
    for pk, label, program in pairings:
        groups.setdefault(program, []).append((pk, label))
    return list(groups.items())


def _named_q(branch_ids, pairing_ids):
    """The activities of these branches or of these pairings (None when there are none: no condition)."""
    condition = None
    if branch_ids:
        condition = Q(branch_id__in=branch_ids)
    if pairing_ids:
        condition = Q(pairing_id__in=pairing_ids) if condition is None else condition | Q(pairing_id__in=pairing_ids)
    return condition


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class ActivityFilterForm(forms.Form):
    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", _("The end of the range is before its start."))
        return data


# The filter form's fields as HTML, by everything they are drawn from (see ActivityFilter.fields_html). Kept in the
# process, not in the shared cache: the key is the drop-downs' full content (a thousand pairings for a province
# admin), compared exactly, never a digest of it; so an entry is only ever found again by a request that would render
# the very same HTML, whoever makes it, and a renamed pairing or branch is simply another key.
rendered_fields = KeptValues(64)


class ActivityFilter(FilterSet):
    q = django_filters.CharFilter(
        label=_("Text"),
        method="search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Title, place, description, branch or village")}),
    )
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte", label=_("From"), widget=DateInput())
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label=_("To"), widget=DateInput())
    # choices set per viewer in __init__; the value is an id, checked against them (no query of its own)
    program = django_filters.ChoiceFilter(
        field_name="program_id", label=_("Program"), empty_label=_("All programs"), widget=FastSelect
    )
    # pickers (portal/widgets.py): a province admin reads a thousand pairings and branches; only the chosen one
    # is rendered, the value still checked against the viewer's choices
    pairing = django_filters.ChoiceFilter(
        field_name="pairing_id", label=_("Pairing"), empty_label=_("All pairings"),
        widget=pairing_picker(),
    )
    # the activities that serve no paired village (a program's program-wide ones: a program report's row of them)
    program_wide = django_filters.BooleanFilter(
        label=_("No paired village only"), method="only_program_wide", widget=forms.CheckboxInput
    )
    branch = django_filters.ChoiceFilter(
        field_name="branch_id", label=_("Branch"), empty_label=_("All branches"), method="by_branch",
        widget=PickerWidget("pairings:branch_picker", narrow_by="pairing", placeholder=_("Type the branch's name")),
    )
    # with a branch: also the activities it co-hosted (the figures' rule: a co-host is credited like the host)
    co_hosted = django_filters.BooleanFilter(
        label=_("Including co-hosted"), method="no_op", widget=forms.CheckboxInput
    )
    activity_type = django_filters.ChoiceFilter(
        field_name="activity_type_id", label=_("Type"), empty_label=_("All types"), widget=FastSelect
    )
    # several at once (?status=submitted&status=confirmed: what the figures count), as check boxes
    status = django_filters.MultipleChoiceFilter(
        choices=Activity.Status.choices, label=_("Status"), widget=forms.CheckboxSelectMultiple, method="by_status"
    )
    # the status (and the verified hours) as they stood at the end of a day: what a past period's report counted
    as_at = django_filters.DateFilter(label=_("Status as at"), method="no_op", widget=DateInput())
    # the activities that carry a value for a metric (of the programs the viewer's pairings belong to)
    metric = django_filters.ChoiceFilter(
        label=_("Metric"), empty_label=_("Any metric"), widget=FastSelect, method="carrying_metric"
    )
    verified_hours = django_filters.BooleanFilter(
        label=_("With verified hours"), method="with_verified_hours", widget=forms.CheckboxInput
    )
    sort = django_filters.ChoiceFilter(
        label=_("Order"),
        method="sort_by",
        choices=[("newest", _("Newest first")), ("oldest", _("Oldest first"))],
        empty_label=None,
    )

    class Meta:
        model = Activity
        fields = []
        form = ActivityFilterForm

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None, choices=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        if choices is None:
            chosen = data or {}
            choices = (
                selectors.list_choices(request.user, pairing=chosen.get("pairing"), branch=chosen.get("branch"))
                if request
                else selectors.ListChoices()
            )
        self.choices = choices  # given to the form's fields once it is built (see `form`)
        scope = scope_for(self.request.user) if self.request else None
        sees_drafts = scope is not None and (scope.is_superuser or scope.admin_orgs or scope.supporter_orgs)
        if not sees_drafts:
            self.filters["status"].extra["choices"] = [
                choice for choice in Activity.Status.choices if choice[0] != Activity.Status.DRAFT
            ]

    @property
    def form(self):
        """The form, its drop-downs given their choices after it is built: a form deep-copies its fields'
        choices when it is made, a cost a province admin's thousand pairings would pay on every page."""
        if not hasattr(self, "_form"):
            form = super().form
            form.fields["program"].choices = self.choices.programs
            form.fields["pairing"].choices = _pairing_choices(self.choices.pairings)
            form.fields["branch"].choices = self.choices.branches
            form.fields["activity_type"].choices = self.choices.types
            form.fields["metric"].choices = _pairing_choices(self.choices.metrics)
        return self._form

    def fields_html(self):
        """The form's fields (templates/activities/_filter_fields.html), rendered once per distinct content.

        Building the form and rendering its eight widgets, labels and the drop-downs' options cost the list
        page a sixth of its time for a secretary and a fifth for a province admin, for HTML that changes only
        when what it is drawn from changes: the language, the values asked for and the options offered. Those
        (all read this request) are the key. A form with errors is rendered afresh, never kept."""
        if self.is_bound and not self.is_valid():
            return self._render_fields()
        key = self._fields_key()
        try:
            hash(key)
        except TypeError:  # a caller's data holding something unhashable: rendered, not kept
            return self._render_fields()
        html = rendered_fields.get(key)
        if html is None:
            html = self._render_fields()
            rendered_fields.put(key, html)
        return html

    def _render_fields(self):
        return render_to_string("activities/_filter_fields.html", {"form": self.form})

    def _fields_key(self):
        data = self.data if self.is_bound else {}
        getlist = getattr(data, "getlist", None)

        def values(name):
            if getlist:  # a QueryDict (the page): every value given
                return tuple(getlist(name))
            value = data.get(name)  # a plain dict (a caller's own): one value or a list of them
            return tuple(value) if isinstance(value, (list, tuple)) else (value,)

        asked = tuple((name, values(name)) for name in self.filters if name in data)
        return (
            get_language(),
            self.is_bound,
            asked,
            tuple(self.choices.pairings),
            tuple(self.choices.programs),
            tuple(self.choices.branches),
            tuple(self.choices.types),
            tuple(self.choices.metrics),
            tuple(value for value, _label in self.filters["status"].extra["choices"]),
        )

    def search(self, queryset, name, value):
        """Every term of the query in the title, place or description (through the search index on
        PostgreSQL, portal/search.py), or in the name of the activity's branch or village (resolved to their
        ids first: one query for all the terms)."""
        found = search.terms(value)
        if not found:
            return queryset
        named = selectors.named_by(found)
        return queryset.filter(
            search.search_q(
                value,
                ACTIVITY_SEARCH_FIELDS,
                indexed=ACTIVITY_SEARCH_FIELDS,
                column=ACTIVITY_SEARCH_COLUMN,
                extra=lambda term: _named_q(*named[term]),
                hits=lambda term: search.rare_hits(Activity, ACTIVITY_SEARCH_COLUMN, term),
            )
        )

    def relevance_tiers(self):
        """A searched list in its default order (newest first) is ordered by relevance, then date: the activities
        whose title holds every term first, then those holding them elsewhere (place, description, the branch's or
        the village's name); each part newest first. As conditions for the list's pages (portal.pagination's
        segments); None when the list is not searched or its order was chosen (oldest first)."""
        if not self.is_bound or not self.is_valid():
            return None
        found = search.terms(self.form.cleaned_data.get("q"))
        if not found or self.form.cleaned_data.get("sort") == "oldest":
            return None
        in_title = Q()
        for term in found:
            # a term without letter case (Chinese, digits) as a plain LIKE on the column, whose statistics give
            # PostgreSQL a true estimate (so it walks the date index for a common term, not sorting all its rows)
            uncased = term.lower() == term.upper()
            in_title &= Q(title__contains=term) if uncased else Q(title__icontains=term)
        return [in_title, ~in_title]

    def by_branch(self, queryset, name, value):
        """The branch's activities; with `co_hosted`, those it co-hosted too (one row each: a subquery, no join)."""
        if not value:
            return queryset
        if not self.form.cleaned_data.get("co_hosted"):
            return queryset.filter(branch_id=value)
        cohosted = Activity.co_branches.through.objects.filter(activity_id=OuterRef("pk"), organization_id=value)
        return queryset.filter(Q(branch_id=value) | Exists(cohosted))

    def no_op(self, queryset, name, value):
        return queryset  # read by by_branch, by_status and with_verified_hours

    def only_program_wide(self, queryset, name, value):
        return queryset.filter(pairing_id__isnull=True) if value else queryset

    def by_status(self, queryset, name, value):
        """The activities in these statuses: now, or (with `as_at`) at the end of that day (from their history,
        selectors.status_on: the rule of a past period's report)."""
        if not value:
            return queryset
        as_at = self.form.cleaned_data.get("as_at")
        if as_at is None:
            return queryset.filter(status__in=value)
        return queryset.alias(status_then=selectors.status_on(as_at)).filter(status_then__in=value)

    def carrying_metric(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(Exists(ActivityMetricValue.objects.filter(activity_id=OuterRef("pk"), metric_id=value)))

    def with_verified_hours(self, queryset, name, value):
        """Activities with verified hours: those the hours figure adds up (activities.models.verified_q: verified,
        not deleted, on a counted activity; with `as_at`: verified by the end of that day, the activity's status
        then being the `status` filter's business)."""
        if not value:
            return queryset
        as_at = self.form.cleaned_data.get("as_at")
        if as_at is None:
            return queryset.filter(Exists(ServiceRecord.objects.filter(verified_q(""), activity_id=OuterRef("pk"))))
        verified = ServiceRecord.objects.filter(selectors.verified_on(as_at), activity_id=OuterRef("pk"), deleted_at__isnull=True)
        return queryset.filter(Exists(verified))

    def sort_by(self, queryset, name, value):
        if value == "oldest":
            return queryset.order_by("date", "id")
        return queryset.order_by("-date", "-id")


class NeedFilter(FilterSet):
    """The needs list's filters: pairing, status, category, and only those waiting over 30 days."""

    pairing = django_filters.ModelChoiceFilter(
        queryset=_pairings, label=_("Pairing"), empty_label=_("All pairings"), widget=pairing_picker()
    )
    status = django_filters.ChoiceFilter(choices=Need.Status.choices, label=_("Status"), empty_label=_("Any status"))
    category = django_filters.ChoiceFilter(
        choices=Need.Category.choices, label=_("Category"), empty_label=_("All categories")
    )
    overdue = django_filters.BooleanFilter(
        label=_("Waiting over 30 days"), method="only_overdue", widget=forms.CheckboxInput
    )
    q = django_filters.CharFilter(
        label=_("Text"), method="search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Title, description or village")}),
    )

    class Meta:
        model = Need
        fields = []

    def search(self, queryset, name, value):
        """Every term in the title, the description or the village's name (not who wants it: that name may be
        masked to the viewer); the needs holding the most terms in their title first, then the newest. A few
        thousand needs: icontains, no index."""
        if not search.terms(value):
            return queryset
        return (
            queryset.filter(search.search_q(value, NEED_SEARCH_FIELDS))
            .alias(relevance=search.relevance_order(value, NEED_SEARCH_FIELDS))
            .order_by("-relevance", "-raised_at", "-id")
        )

    def only_overdue(self, queryset, name, value):
        return queryset.filter(is_overdue=True) if value else queryset


# --- joint meetings and their decisions -------------------------------------------------------------------


def _programs(request):
    if request is None:
        return Program.objects.none()
    return Program.objects.visible_to(request.user).order_by("name")


def _meeting_years(today):
    return [(str(year), str(year)) for year in range(today.year, today.year - 10, -1)]


class MeetingFilter(FilterSet):
    """The meeting list's filters: a pairing, a program, only the program-wide meetings, a year."""

    pairing = django_filters.ModelChoiceFilter(
        queryset=_pairings, label=_("Pairing"), empty_label=_("All pairings"), widget=pairing_picker()
    )
    program = django_filters.ModelChoiceFilter(queryset=_programs, label=_("Program"), empty_label=_("All programs"))
    program_wide = django_filters.BooleanFilter(
        label=_("Program-wide meetings only"), widget=forms.CheckboxInput, method="only_program_wide"
    )
    year = django_filters.ChoiceFilter(label=_("Year"), empty_label=_("All years"), choices=(), method="in_year")

    class Meta:
        model = Meeting
        fields = []

    def __init__(self, *args, today=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["year"].extra["choices"] = _meeting_years(today or timezone.localdate())

    def only_program_wide(self, queryset, name, value):
        return queryset.filter(pairing__isnull=True) if value else queryset

    def in_year(self, queryset, name, value):
        return queryset.filter(date__year=int(value)) if value else queryset


class ActionItemFilter(FilterSet):
    """The decisions list's filters: mine or all I read, status (open by default), pairing."""

    SHOW = (("mine", _("Mine and my organisation's")), ("all", _("All I can see")))

    show = django_filters.ChoiceFilter(choices=SHOW, label=_("Show"), method="only_mine", empty_label=None)
    status = django_filters.ChoiceFilter(
        choices=(*ActionItem.Status.choices, ("overdue", _("overdue"))), label=_("Status"),
        empty_label=_("Any status"), method="by_status",
    )
    pairing = django_filters.ModelChoiceFilter(
        queryset=_pairings, label=_("Pairing"), empty_label=_("All pairings"), field_name="meeting__pairing",
        widget=pairing_picker(),
    )

    class Meta:
        model = ActionItem
        fields = []

    def only_mine(self, queryset, name, value):
        return queryset.owned_by(self.request.user) if value != "all" else queryset

    def by_status(self, queryset, name, value):
        if value == "overdue":
            return queryset.filter(is_overdue=True)
        return queryset.filter(status=value) if value else queryset
