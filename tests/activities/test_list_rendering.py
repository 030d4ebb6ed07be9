"""What a user sees of activities in lists ({% activity_rows %}, the one definition of a row): each row shows
its title (escaped), links to its page, shows its date, type, branch and village and its status; the list adds
the first photo, the number of photos and the village's comment on a returned activity. A need's answers and
the home page show model activities as the same rows (list_rows). The filter form's HTML, kept per distinct
content, never shows one user another's options, never goes stale when what it lists changes, and is never
kept with errors."""

import dataclasses
import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

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


def rows_of(page_html):
    """{activity id: the HTML of its row} of a page."""
    rows = re.findall(r'<li class="act-row">.*?</li>', page_html, flags=re.DOTALL)
    return {int(re.search(r'href="/activities/(\d+)/"', row)[1]): row for row in rows}


@pytest.fixture
def shown(kit):
    """A returned activity with two photos, a comment and markup in its title, and a confirmed one."""
    returned = f.ActivityFactory(
        pairing=kit["pairing"], branch=kit["branch"], activity_type=kit["type"], title="有照片 <b>",
        date=datetime.date(2024, 3, 2), status=S.RETURNED, return_comment="请补充照片 & <i>", submitted_at=timezone.now(),
    )
    first = f.ActivityPhotoFactory(activity=returned)
    f.ActivityPhotoFactory(activity=returned)
    confirmed = f.ActivityFactory(
        pairing=kit["pairing"], branch=kit["other_branch"], activity_type=kit["type"], title="走访",
        date=datetime.date(2024, 3, 1), status=S.CONFIRMED, submitted_at=timezone.now(), confirmed_at=timezone.now(),
    )
    return {"returned": returned, "first_photo": first, "confirmed": confirmed}


def test_list_rows_show_what_each_activity_is(client, kit, shown):
    client.force_login(kit["users"]["secretary"])
    rows = rows_of(client.get(URL).content.decode())
    returned, confirmed = rows[shown["returned"].pk], rows[shown["confirmed"].pk]
    with translation.override("zh-hans"):
        returned_label, confirmed_label = str(S.RETURNED.label), str(S.CONFIRMED.label)

    assert f'<a class="act-title" href="/activities/{shown["returned"].pk}/">有照片 &lt;b&gt;</a>' in returned
    assert "<b>" not in returned
    assert "2024-03-02" in returned and "志愿服务" in returned and "第三党支部 → 龙石村" in returned
    assert f'<span class="status status-returned">{returned_label}</span>' in returned
    thumb = reverse("activities:photo_thumb", args=[shown["first_photo"].pk])
    assert f'<img class="act-thumb" src="{thumb}"' in returned and "▣ 2" in returned
    assert '<div class="act-comment">' in returned and "请补充照片 &amp; &lt;i&gt;" in returned

    assert "走访" in confirmed and "第四党支部 → 龙石村" in confirmed
    assert f'<span class="status status-confirmed">{confirmed_label}</span>' in confirmed
    assert "act-thumb" not in confirmed and "act-count" not in confirmed and "act-comment" not in confirmed


def test_model_activities_make_the_same_rows_as_the_list(kit, shown):
    """A need's answers and the home page's sections (list_rows) show an activity as the list does, without
    the list's photos."""
    user = kit["users"]["secretary"]
    choices = selectors.list_choices(user)
    page = list(selectors.activity_page(selectors.activity_list(user, choices), choices))
    models = Activity.objects.filter(pk__in=[row.pk for row in page]).select_related(
        "branch", "activity_type", "pairing__supported"
    )
    made = {row.pk: row for row in selectors.list_rows(models)}
    assert {row.pk for row in page} == {shown["returned"].pk, shown["confirmed"].pk}
    for row in page:
        assert dataclasses.replace(row, thumb_url="", photo_count=0) == made[row.pk]


def test_a_needs_answers_and_the_home_page_show_the_rows(client, kit, shown):
    need = f.NeedFactory(pairing=kit["pairing"])
    Activity.objects.filter(pk=shown["returned"].pk).update(need=need)
    client.force_login(kit["users"]["secretary"])
    answers = rows_of(client.get(reverse("activities:need_detail", args=[need.pk])).content.decode())
    assert list(answers) == [shown["returned"].pk]
    answer = answers[shown["returned"].pk]
    assert "有照片 &lt;b&gt;" in answer and 'class="status status-returned"' in answer
    assert "act-thumb" not in answer and "act-comment" not in answer  # a need's answers: no photos, no comment
    home = rows_of(client.get("/").content.decode())
    assert "请补充照片 &amp; &lt;i&gt;" in home[shown["returned"].pk]  # the branch's returned activities, with why


def _form_html(client, user, params=None):
    client.force_login(user)
    html = client.get(URL, params or {}).content.decode()
    return html.split('class="act-filter-form">', 1)[1].split('<div class="act-buttons">', 1)[0]


def test_kept_filter_form_shows_each_user_only_their_options(client, kit):
    # the same values asked by two users: each sees only what they read (the pickers name only a chosen one)
    asked = {"pairing": kit["pairing"].pk}
    mine = _form_html(client, kit["users"]["secretary"], asked)
    other = _form_html(client, kit["users"]["outsider"], asked)
    again = _form_html(client, kit["users"]["secretary"], asked)
    assert mine == again
    assert "龙石村" in mine and "龙石村" not in other
    theirs = {"pairing": kit["other_pairing"].pk}
    assert "田心村" in _form_html(client, kit["users"]["outsider"], theirs)
    assert "田心村" not in _form_html(client, kit["users"]["secretary"], theirs)


def test_kept_filter_form_follows_changes_and_the_values_asked(client, kit):
    user = kit["users"]["secretary"]
    asked = {"branch": kit["branch"].pk}
    before = _form_html(client, user, asked)
    assert ">第三党支部</output>" in before
    kit["branch"].name = "第三党支部(改名)"
    kit["branch"].save()
    after = _form_html(client, user, asked)
    assert ">第三党支部(改名)</output>" in after
    chosen = _form_html(client, user, {"branch": kit["branch"].pk, "q": "维修"})
    assert f'name="branch" type="text" value="{kit["branch"].pk}"' in chosen and 'value="维修"' in chosen
    assert f'name="branch" type="text" value="{kit["branch"].pk}"' not in _form_html(client, user)


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
    assert "All programs" in english and "All programs" not in chinese
    assert "Type a side&#x27;s name" in english or "Type a side&#39;s name" in english
