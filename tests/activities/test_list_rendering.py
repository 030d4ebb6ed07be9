"""The activity list's cheaper reads keep the page the same: its rows (ListRow, links through id_url) render
in _rows.html as model activities do, and the filter form's HTML, kept per distinct content, never
shows one user another's options, never goes stale when what it lists changes, and is never kept with errors."""

import datetime
import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from activities import selectors
from activities.filters import rendered_fields
from activities.models import Activity
from tests import factories as f

pytestmark = pytest.mark.django_db
S = Activity.Status
URL = "/activities/"


@pytest.fixture(autouse=True)
def fresh_cache():
    rendered_fields.clear()
    yield
    rendered_fields.clear()


def squeeze(html):
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html)).strip()


def test_list_rows_render_as_model_activities_do(client, kit):
    photo_owner = f.ActivityFactory(
        pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"], title="有照片 <b>",
        date=datetime.date(2024, 3, 2), status=S.RETURNED, return_comment="请补充照片", submitted_at=timezone.now(),
    )
    first = f.ActivityPhotoFactory(activity=photo_owner)
    f.ActivityPhotoFactory(activity=photo_owner)
    f.ActivityFactory(
        pairing=kit["pairing"], branch=kit["other_branch"], activity_type=kit["type"], title="走访",
        date=datetime.date(2024, 3, 1), status=S.CONFIRMED, submitted_at=timezone.now(), confirmed_at=timezone.now(),
    )
    user = kit["users"]["secretary"]
    choices = selectors.list_choices(user)
    page = selectors.activity_page(selectors.activity_list(user, choices), choices)
    assert {row.title for row in page} == {"有照片 <b>", "走访"}
    shown = next(row for row in page if row.pk == photo_owner.pk)
    assert shown.photo_count == 2
    models = {
        a.pk: a
        for a in Activity.objects.filter(pk__in=[row.pk for row in page]).select_related(
            "branch", "activity_type", "pairing__supported"
        )
    }

    def rows(activities, **options):
        return render_to_string("activities/_rows.html", {"activities": activities, **options})

    for row in page:
        model = models[row.pk]
        model.thumb_url, model.photo_count = row.thumb_url, row.photo_count  # what only the list reads
        assert squeeze(rows([row], thumb=True, show_comment=True)) == squeeze(rows([model], thumb=True, show_comment=True))
        assert squeeze(rows([row])) == squeeze(rows([models[row.pk]]))
        assert f'href="{reverse("activities:detail", args=[row.pk])}"' in rows([row])
    assert shown.thumb_url == reverse("activities:photo_thumb", args=[first.pk])
    assert f'src="{shown.thumb_url}"' in rows([shown], thumb=True)
    assert 'src="' not in rows([shown])
    assert "请补充照片" in rows([shown], show_comment=True) and "请补充照片" not in rows([shown])
    # and the page itself links every row as {% url %} would
    client.force_login(user)
    html = client.get(URL).content.decode()
    for row in page:
        assert f'href="/activities/{row.pk}/"' in html


def _form_html(client, user, params=None):
    client.force_login(user)
    html = client.get(URL, params or {}).content.decode()
    return html.split('class="act-filter-form">', 1)[1].split('<div class="act-buttons">', 1)[0]


def test_kept_filter_form_shows_each_user_only_their_options(client, kit):
    mine = _form_html(client, kit["users"]["secretary"])
    other = _form_html(client, kit["users"]["outsider"])
    again = _form_html(client, kit["users"]["secretary"])
    assert mine == again
    assert "龙石村" in mine and "龙石村" not in other
    assert "田心村" in other and "田心村" not in mine


def test_kept_filter_form_follows_changes_and_the_values_asked(client, kit):
    user = kit["users"]["secretary"]
    before = _form_html(client, user)
    assert "第三党支部" in before
    kit["branch"].name = "第三党支部(改名)"
    kit["branch"].save()
    after = _form_html(client, user)
    assert "第三党支部(改名)" in after
    chosen = _form_html(client, user, {"branch": kit["branch"].pk, "q": "维修"})
    assert f'<option value="{kit["branch"].pk}" selected>' in chosen and 'value="维修"' in chosen
    assert f'<option value="{kit["branch"].pk}" selected>' not in _form_html(client, user)


def test_filter_form_with_errors_is_shown_and_never_kept(client, kit):
    user = kit["users"]["secretary"]
    params = {"date_from": "2024-05-01", "date_to": "2024-04-01"}
    bad = _form_html(client, user, params)
    assert 'class="errorlist' in bad
    assert not any('class="errorlist' in html for html in rendered_fields.entries.values())
    client.force_login(user)
    assert " open" in client.get(URL, params).content.decode().split('class="card act-filters"', 1)[1][:10]


def test_kept_filter_form_is_per_language(client, kit):
    user = kit["users"]["secretary"]
    chinese = _form_html(client, user)
    client.post(reverse("set_language"), {"language": "en", "next": URL})
    english = _form_html(client, user)
    assert "全部结对" in chinese or "所有结对" in chinese or chinese != english
    assert "All pairings" in english and "All pairings" not in chinese
