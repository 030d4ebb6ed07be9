"""Plausibility warnings: what the branch secretary sees before submitting an activity, and the village committee
at 验单 (the activity page with its confirm and return, and the return page). They are warnings, not blocks: the
activity can be submitted and confirmed as it is. What is impossible is refused where it is entered instead
(activities.services: a volunteer's hours over 24 in a day, alone or with their other activities of that day;
negative or absurdly large numbers).

The checks (docs/figures.md, "Plausibility", states them with their thresholds):

* ``hours_longer_than_activity``: with a start and an end time, a volunteer's hours on the activity are longer
  than the activity itself;
* ``hours_long_day``: without both times, a volunteer's hours are over HOURS_WITHOUT_TIMES (12): a long day of
  service happens, but rarely; over 24 is impossible and refused;
* ``nobody_took_part``: no party member, teacher, student or resident served, and no volunteer's hours;
* ``figure_outlier``: a figure more than OUTLIER_FACTOR (3) times the largest value of that metric on the pairing's
  other counted activities (any date), once there are at least OUTLIER_MIN_HISTORY (3) of them above zero;
* ``photo_reused``: a photo whose picture hash (activities.images.dhash) is within PHOTO_DISTANCE (7) bits of a
  photo on another activity that is not deleted, and shares one of its four 16-bit bands (a resized or re-compressed
  copy differs in a bit or two, a slightly cropped one in a few, another picture in about half of the 64). Within 3
  bits a band is always shared (pigeonhole), so such a copy is always found; from 4 to 7 bits, when the changed bits
  leave a band untouched.

Who sees which other activity holds the photo: only someone who may edit this activity (its branch's secretary,
the program admin), and only the other activities they may see themselves. The village is told that the photo is
reused, never where from: the other activity may be outside its scope.

Cost: the activity's own rows and the history of its metrics in one statement (`fact_parts`, which the detail
page adds to its own), then, if it has hashed photos, one more for the photos sharing a band with them, read
through the four band indexes (about one photo in 16,000 per band, if hashes spread evenly), never every photo.
Looking up the bands' one-bit neighbours too would find every copy within 7 bits, but read 17 times the rows.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, F, IntegerField, Max, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from activities.images import BAND_BITS, BANDS, distance, join_bands, split_bands
from activities.models import Activity, ActivityMetricValue, ActivityPhoto, ServiceRecord
from activities.services import PEOPLE_FIELDS
from portal.db import InArray, named_rows

HOURS_WITHOUT_TIMES = Decimal("12")
OUTLIER_FACTOR = 3
OUTLIER_MIN_HISTORY = 3
PHOTO_DISTANCE = 7  # bits of 64; found for sure up to BANDS - 1 = 3 (a band is then unchanged), beyond if one is
NAMES_SHOWN = 5
# A band whose bits are (nearly) all equal is a flat strip of the picture (sky, a wall): common to many photos, so
# it is not looked up (the photo's other bands still are).
FLAT_BAND_BITS = 1


@dataclass(frozen=True)
class Concern:
    """One warning: a code for programs and tests, a message for people, and what it is about."""

    code: str
    message: str
    photo_id: int | None = None
    others: tuple = ()  # the other activities holding the photo that this viewer is shown (id and title)


@dataclass
class Facts:
    """What the checks read of an activity besides its own row: its volunteers' hours, figures and photos, and how
    its figures stand against the pairing's history."""

    hours: list = field(default_factory=list)  # [(volunteer name, hours)], by name
    figures: list = field(default_factory=list)  # [(name, unit, value, the history's largest, its size)]
    photos: list = field(default_factory=list)  # [(photo id, picture hash or None)], by id

    @classmethod
    def from_rows(cls, rows):
        """Facts from the rows of `fact_parts` ({part: [row]})."""
        hours = sorted(
            ((r["name"], Decimal(str(r["hours"])).quantize(Decimal("0.1")), r["pk"]) for r in rows.get("p_hours", ())),
            key=lambda item: (item[0], item[2]),
        )
        figures = [
            (r["name"], r["unit"], Decimal(str(r["value"])), None if r["top"] is None else Decimal(str(r["top"])),
             r["n"] or 0)
            for r in sorted(rows.get("p_figure", ()), key=lambda r: (r["order"], r["metric"]))
        ]
        photos = [
            (r["pk"], join_bands(tuple(r[f"b{i}"] for i in range(BANDS))))
            for r in sorted(rows.get("p_photo", ()), key=lambda r: r["pk"])
        ]
        return cls(hours=[(name, hours) for name, hours, _pk in hours], figures=figures, photos=photos)


def fact_parts(activity):
    """The named_rows parts the checks read (a page may add them to a UNION of its own, as the detail page does):
    the activity's hours, its figures each with the largest earlier value and their number (the pairing's other
    counted activities, values above zero), and its photos' hash bands."""
    pk = activity.pk
    # the pairing's other counted activities as one array, each probed for the metric (InArray): joined, PostgreSQL
    # read every value of the metric in the province (91,594 for the bench's village) for each of the two figures
    others = Activity.objects.counted().filter(pairing_id=activity.pairing_id).exclude(pk=pk).order_by().values("id")
    history = (
        ActivityMetricValue.objects.filter(InArray(F("activity_id"), others), metric_id=OuterRef("metric_id"), value__gt=0)
        .order_by()
        .values("metric_id")
    )
    figures = ActivityMetricValue.objects.filter(activity_id=pk).annotate(
        top=Subquery(history.annotate(top=Max("value")).values("top"), output_field=DecimalField()),
        n=Coalesce(Subquery(history.annotate(n=Count("id")).values("n"), output_field=IntegerField()), Value(0)),
    )
    return [
        named_rows("p_hours", ServiceRecord.objects.filter(activity_id=pk), pk="id", name="volunteer__name", hours="hours"),
        named_rows("p_figure", figures, metric="metric_id", name="metric__name", unit="metric__unit",
                   order="metric__order", value="value", top="top", n="n"),
        named_rows("p_photo", ActivityPhoto.objects.filter(activity_id=pk),
                   pk="id", **{f"b{i}": f"dhash_{i}" for i in range(BANDS)}),
    ]


def read_facts(activity):
    """The activity's Facts, in one statement."""
    first, *others = fact_parts(activity)
    rows = defaultdict(list)
    for part, row in first.union(*others, all=True):
        rows[part].append(row)
    return Facts.from_rows(rows)


def activity_warnings(activity, *, viewer=None, name_others=False, facts=None):
    """The activity's warnings, in a fixed order: hours, people, figures (catalogue order), photos (by id).
    `name_others`: tell `viewer` which other activities (those they may see) hold a reused photo; for those who may
    edit the activity, never for the village."""
    facts = read_facts(activity) if facts is None else facts
    return [
        *_hours_warnings(activity, facts),
        *_people_warnings(activity, facts),
        *_figure_warnings(facts),
        *_photo_warnings(activity, facts, viewer=viewer if name_others else None),
    ]


# --- the checks -----------------------------------------------------------------------------------------------


def duration_hours(activity):
    """The activity's length in hours from its start and end times, or None without both."""
    if activity.start_time is None or activity.end_time is None:
        return None
    minutes = (activity.end_time.hour * 60 + activity.end_time.minute) - (
        activity.start_time.hour * 60 + activity.start_time.minute
    )
    return Decimal(max(minutes, 0)) / 60


def _number(value):
    """12 for Decimal("12.00"), 2.5 for Decimal("2.50")."""
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def _names(items):
    shown = "、".join(
        _("%(name)s %(hours)s h") % {"name": name, "hours": _number(hours)} for name, hours in items[:NAMES_SHOWN]
    )
    rest = len(items) - NAMES_SHOWN
    if rest > 0:
        return ngettext("%(names)s and %(count)d more", "%(names)s and %(count)d more", rest) % {
            "names": shown, "count": rest,
        }
    return shown


def _hours_warnings(activity, facts):
    duration = duration_hours(activity)
    if duration is not None:
        over = [(name, hours) for name, hours in facts.hours if hours > duration]
        if over:
            return [Concern("hours_longer_than_activity", _(
                "Hours longer than the activity itself (%(start)s–%(end)s, %(duration)s h): %(names)s. Please check."
            ) % {
                "start": time_format(activity.start_time, "H:i"),
                "end": time_format(activity.end_time, "H:i"),
                "duration": _number(duration.quantize(Decimal("0.1"))),
                "names": _names(over),
            })]
        return []
    over = [(name, hours) for name, hours in facts.hours if hours > HOURS_WITHOUT_TIMES]
    if over:
        return [Concern("hours_long_day", _(
            "Hours over %(limit)s in an activity without start and end times: %(names)s. Please check the hours, or "
            "give the activity's times."
        ) % {"limit": _number(HOURS_WITHOUT_TIMES), "names": _names(over)})]
    return []


def _people_warnings(activity, facts):
    if facts.hours or any(getattr(activity, name) for name in PEOPLE_FIELDS):
        return []
    return [Concern("nobody_took_part", _(
        "No one took part: no party members, teachers, students or residents served, and no volunteer hours. "
        "Please check."
    ))]


def _figure_warnings(facts):
    concerns = []
    for name, unit, value, top, count in facts.figures:
        if count >= OUTLIER_MIN_HISTORY and top is not None and value > OUTLIER_FACTOR * top:
            concerns.append(Concern("figure_outlier", _(
                "“%(metric)s” is %(value)s %(unit)s, more than %(factor)d times the most this pairing has counted in "
                "one activity before (%(top)s %(unit)s). Please check."
            ) % {"metric": name, "value": _number(value), "unit": unit, "factor": OUTLIER_FACTOR, "top": _number(top)}))
    return concerns


def _looked_up(band):
    ones = band.bit_count()
    return FLAT_BAND_BITS < ones < BAND_BITS - FLAT_BAND_BITS


def near_candidates(activity, hashes):
    """The photos of other activities (not deleted) that share a band with one of `hashes` (`near_photos` measures
    how near they are), read through the four band indexes; None if no band is worth looking up."""
    condition = Q()
    split = [split_bands(value) for value in hashes]
    for i in range(BANDS):
        values = sorted({bands[i] for bands in split if _looked_up(bands[i])})
        if values:
            condition |= Q(**{f"dhash_{i}__in": values})
    if not condition:
        return None
    return ActivityPhoto.objects.filter(condition, activity__deleted_at__isnull=True).exclude(activity_id=activity.pk)


def near_photos(activity, hashes, *, viewer=None):
    """{photo hash: [(other activity id, its title, whether `viewer` may see it)]} for the photos of other activities
    (not deleted) sharing a band with one of `hashes` and within PHOTO_DISTANCE of it: one query by band, then the
    distance in Python. Without a viewer, titles and visibility are not read (None, False)."""
    candidates = near_candidates(activity, hashes)
    if candidates is None:
        return {}
    columns = ["activity_id", *(f"dhash_{i}" for i in range(BANDS))]
    if viewer is not None:
        visible = Activity.objects.visible_to(viewer).filter(pk=OuterRef("activity_id"))
        candidates = candidates.annotate(seen=Exists(visible))
        columns += ["activity__title", "seen"]
    found = defaultdict(dict)
    for row in candidates.order_by("activity_id").values(*columns):
        other = join_bands(tuple(row[f"dhash_{i}"] for i in range(BANDS)))
        for value in hashes:
            if distance(value, other) <= PHOTO_DISTANCE:
                found[value][row["activity_id"]] = (row["activity_id"], row.get("activity__title"), bool(row.get("seen")))
    return {value: list(others.values()) for value, others in found.items()}


def _photo_warnings(activity, facts, *, viewer):
    hashes = sorted({value for _pk, value in facts.photos if value is not None})
    if not hashes:
        return []
    near = near_photos(activity, hashes, viewer=viewer)
    concerns = []
    for pk, value in facts.photos:
        others = near.get(value) if value is not None else None
        if others:
            shown = tuple(Activity(id=other_id, title=title) for other_id, title, seen in others if viewer and seen)
            concerns.append(Concern(
                "photo_reused",
                _("This photo is the same as, or nearly the same as, a photo of another activity."),
                photo_id=pk,
                others=shown,
            ))
    return concerns
