"""Every list's FilterSet (portal.filtersets) copies the class's filters for each filter set one level deep, not with
a deep copy: what one request's filter set changes or binds must still reach no other."""

import django_filters
from django import forms
from django.http import QueryDict

from portal.filtersets import FilterSet
from portal.models import Organization


class Sample(FilterSet):
    kind = django_filters.ChoiceFilter(choices=[("a", "A"), ("b", "B")], label="kind")
    q = django_filters.CharFilter(method="by_name", widget=forms.TextInput(attrs={"placeholder": "名称"}))

    class Meta:
        model = Organization
        fields = []

    def __init__(self, *args, who, **kwargs):
        super().__init__(*args, **kwargs)
        self.who, self.called_by = who, []

    def by_name(self, queryset, name, value):
        self.called_by.append(self.who)
        return queryset.filter(name__icontains=value)


def bound(who, **data):
    query = QueryDict(mutable=True)
    query.update(data)
    return Sample(query, queryset=Organization.objects.all(), who=who)


def test_each_filter_set_has_filters_of_its_own():
    first, second = bound("first"), bound("second")
    assert set(first.filters) == set(second.filters) == {"kind", "q"}
    for name in first.filters:
        assert first.filters[name] is not second.filters[name]
        assert first.filters[name] is not Sample.base_filters[name]
        assert first.filters[name].parent is first and second.filters[name].parent is second


def test_changed_choices_stay_in_their_filter_set():
    narrowed = bound("narrowed", kind="b")
    narrowed.filters["kind"].extra["choices"] = [("b", "B")]  # as a list narrows its drop-down for one viewer
    other = bound("other", kind="a")
    assert Sample.base_filters["kind"].extra["choices"] == [("a", "A"), ("b", "B")]
    assert [value for value, _label in other.form.fields["kind"].choices] == ["", "a", "b"]
    assert other.is_valid()
    assert [value for value, _label in narrowed.form.fields["kind"].choices] == ["", "b"]
    assert narrowed.is_valid()
    assert bound("again", kind="b").filters["kind"].extra["choices"] == [("a", "A"), ("b", "B")]


def test_a_method_filter_calls_the_method_of_its_own_filter_set():
    first, second = bound("first", q="村"), bound("second", q="镇")
    second.qs  # the rows' query built (not run): the method ran for `second` alone
    assert second.called_by == ["second"] and first.called_by == []
    first.qs
    assert first.called_by == ["first"] and second.called_by == ["second"]


def test_a_widget_changed_on_one_form_is_not_changed_on_the_next():
    first = bound("first")
    first.form.fields["q"].widget.attrs["placeholder"] = "only here"
    assert bound("second").form.fields["q"].widget.attrs == {"placeholder": "名称"}
    assert Sample.base_filters["q"].extra["widget"].attrs == {"placeholder": "名称"}
