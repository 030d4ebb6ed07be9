"""The base of every list's FilterSet.

django-filter deep-copies the class's filters for each filter set it makes (`copy.deepcopy(base_filters)`): every
filter, its widget, the widget's attributes and choices, its label. The activity list's fourteen filters cost half a
millisecond of every request that way, for objects nothing changes: a form field deep-copies the widget it is given
when it is built, and a filter set changes a filter only by giving it a new value (`filter.extra["choices"] = […]`).
So each filter set gets its own copy of each filter, one level deep, as `_copy_filter` makes it.
"""

import copy

import django_filters


def _copy_filter(original):
    """A filter of its own for one filter set: its attributes' dicts and lists copied (its `extra` above all), what
    they hold shared; a method filter rebound to the copy, whose `parent` (the filter set) it reads its method from."""
    new = copy.copy(original)
    for name, value in vars(original).items():
        if isinstance(value, (dict, list)):
            setattr(new, name, copy.copy(value))
    if original.method is not None:
        new.method = original.method  # the setter makes the FilterMethod, bound to `new`
    return new


class _BaseFilters(dict):
    """A FilterSet class's filters, copied for each of its filter sets by `_copy_filter`."""

    def __deepcopy__(self, memo):
        return {name: _copy_filter(original) for name, original in self.items()}


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet, its filters copied for each filter set one level deep, not deep-copied."""

    @classmethod
    def get_filters(cls):
        return _BaseFilters(super().get_filters())
