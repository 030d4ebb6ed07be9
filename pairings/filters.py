"""The pairing list's filters: program, status, school (supporting side), village (supported side), year, and
the two warnings."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from pairings.models import Pairing, Program
from pairings.selectors import dormant_q, ending_soon_q, expired_q, year_bounds
from portal import search
from portal.filtersets import FilterSet
from portal.models import Organization
from portal.widgets import PickerWidget

PAIRING_SEARCH_FIELDS = (
    "supporter__name", "supporter__short_name", "supported__name", "supported__short_name", "goals",
)


def _programs(request):
    return Program.objects.visible_to(request.user).order_by("name") if request else Program.objects.none()


def _supporters(request):
    if request is None:
        return Organization.objects.none()
    ids = Pairing.objects.visible_to(request.user).values("supporter_id")
    return Organization.objects.filter(id__in=ids).order_by("name")


def _villages(request):
    if request is None:
        return Organization.objects.none()
    ids = Pairing.objects.visible_to(request.user).values("supported_id")
    return Organization.objects.filter(id__in=ids).order_by("name")


class PairingFilter(FilterSet):
    program = django_filters.ModelChoiceFilter(queryset=_programs, label=_("Program"))
    status = django_filters.ChoiceFilter(choices=Pairing.Status.choices, label=_("Status"))
    # pickers (portal/widgets.py): a province admin's list has a thousand villages on its supported side
    school = django_filters.ModelChoiceFilter(
        field_name="supporter", queryset=_supporters, label=_("School or organisation"),
        widget=PickerWidget("pairings:school_picker", placeholder=_("Type the name")),
    )
    village = django_filters.ModelChoiceFilter(
        field_name="supported", queryset=_villages, label=_("Village or community"),
        widget=PickerWidget("pairings:village_picker", placeholder=_("Type the name")),
    )
    year = django_filters.NumberFilter(method="filter_year", label=_("Year"), min_value=2000, max_value=2100)
    warning = django_filters.ChoiceFilter(
        method="filter_warning",
        label=_("Needs attention"),
        choices=[
            ("ending", _("term ends within 60 days")),
            ("expired", _("term has ended, still active")),
            ("dormant", _("no activity for 60 days")),
        ],
    )

    q = django_filters.CharFilter(
        label=_("Text"), method="search",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Either side's name or the goals")}),
    )

    class Meta:
        model = Pairing
        fields = []

    def search(self, queryset, name, value):
        """Every term in either side's name or short name, or in the goals; those holding the most terms in
        the sides' names first, then the list's own order. A thousand pairings: icontains, no index."""
        if not search.terms(value):
            return queryset
        return (
            queryset.filter(search.search_q(value, PAIRING_SEARCH_FIELDS))
            .alias(relevance=search.relevance_order(value, ("supported__name",))
                   + search.relevance_order(value, ("supporter__name",)))
            .order_by("-relevance", *(queryset.query.order_by or Pairing._meta.ordering))
        )

    def __init__(self, *args, today, **kwargs):
        self.today = today
        super().__init__(*args, **kwargs)

    def filter_year(self, queryset, name, value):
        """Pairings whose term runs during the year."""
        start, end = year_bounds(int(value))
        return queryset.filter(Q(term_start__lte=end) & (Q(term_end__isnull=True) | Q(term_end__gte=start)))

    def filter_warning(self, queryset, name, value):
        rule = {"ending": ending_soon_q, "expired": expired_q, "dormant": dormant_q}[value]
        return queryset.filter(rule(self.today))
