"""The volunteer list's filters (one FilterSet, shared by the page and its exports): name, kind, and only those
with hours waiting for verification. The name search: every term in the volunteer's name (through the search
index on PostgreSQL: volunteers/migrations/0003_search_index.py) or in their organisation's name."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from portal import search
from portal.filtersets import FilterSet
from portal.models import Organization
from volunteers.models import Volunteer


class VolunteerFilter(FilterSet):
    q = django_filters.CharFilter(
        label=_("Name or organisation"), method="search", max_length=60,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    kind = django_filters.ChoiceFilter(choices=Volunteer.Kind.choices, label=_("Kind"), empty_label=_("all"))
    pending = django_filters.BooleanFilter(
        label=_("With hours to verify"), method="only_pending", widget=forms.CheckboxInput
    )

    class Meta:
        model = Volunteer
        fields = []

    def only_pending(self, queryset, name, value):
        """Those with records waiting for verification (``pending_records``: figures.selectors.with_hours)."""
        return queryset.filter(pending_records__gt=0) if value else queryset

    def search(self, queryset, name, value):
        """Every term in the name, or in the name or short name of the volunteer's organisation (a few thousand
        organisations: resolved to ids first, one query for all the terms); names holding the most terms first,
        then the list's own order."""
        found = search.terms(value)
        if not found:
            return queryset
        condition = Q()
        for term in found:
            condition |= Q(name__icontains=term) | Q(short_name__icontains=term)
        orgs = {term: set() for term in found}
        for org_id, org_name, short_name in Organization.objects.filter(condition).values_list("id", "name", "short_name"):
            names = f"{org_name}\n{short_name}".casefold()
            for term in found:
                if term.casefold() in names:
                    orgs[term].add(org_id)
        return (
            queryset.filter(search.search_q(
                value, ("name",), indexed=("name",),
                extra=lambda term: Q(organization_id__in=sorted(orgs[term])) if orgs[term] else None,
            ))
            .alias(relevance=search.relevance_order(value, ("name",)))
            .order_by("-relevance", *(queryset.query.order_by or Volunteer._meta.ordering))
        )
