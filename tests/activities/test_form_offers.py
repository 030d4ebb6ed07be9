"""The activity form on a phone: the branch's last places and usual volunteers offered first, no silent default
for a new volunteer's kind, and sections the script can fold (marked on the existing fieldsets)."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import translation

from activities.models import Activity, ServiceRecord
from tests import factories as f
from tests.activities.test_views import form_data

pytestmark = pytest.mark.django_db


def activity(kit, *, place, date, branch=None):
    return f.ActivityFactory(pairing=kit["pairing"], branch=branch or kit["branch"], activity_type=kit["type"],
                             place=place, date=date)


def test_the_place_field_offers_the_branchs_last_places_latest_first(client, kit):
    today = datetime.date.today()
    activity(kit, place="龙石村委会议室", date=today - datetime.timedelta(days=30))
    activity(kit, place="龙石村文化广场", date=today - datetime.timedelta(days=2))
    activity(kit, place="龙石村委会议室", date=today - datetime.timedelta(days=40))
    activity(kit, place="别的支部的地方", date=today, branch=kit["other_branch"])
    client.force_login(kit["users"]["secretary"])
    page = client.get(reverse("activities:create")).content.decode()
    assert 'list="act-places"' in page
    datalist = re.search(r'<datalist id="act-places">(.*?)</datalist>', page).group(1)
    assert re.findall(r'<option value="([^"]+)">', datalist) == ["龙石村文化广场", "龙石村委会议室"]


def test_no_datalist_without_past_places(client, kit):
    client.force_login(kit["users"]["secretary"])
    page = client.get(reverse("activities:create")).content.decode()
    assert "act-places" not in page


def test_the_hours_rows_offer_the_usual_volunteers_first(client, kit):
    today = datetime.date.today()
    often = f.VolunteerFactory(organization=kit["branch"], name="阿often")
    never = f.VolunteerFactory(organization=kit["branch"], name="阿never")
    for days in (3, 10, 20):
        done = activity(kit, place="", date=today - datetime.timedelta(days=days))
        ServiceRecord.objects.create(activity=done, volunteer=often, hours=2)
    done = activity(kit, place="", date=today - datetime.timedelta(days=5))
    ServiceRecord.objects.create(activity=done, volunteer=kit["volunteer"], hours=1)
    client.force_login(kit["users"]["secretary"])
    with translation.override("zh-hans"):
        page = client.get(reverse("activities:create")).content.decode()
    select = re.search(r'<select name="hours-0-volunteer".*?</select>', page, re.S).group(0)
    usual = re.search(r'<optgroup label="常用志愿者">(.*?)</optgroup>', select, re.S).group(1)
    assert usual.index(f'value="{often.pk}"') < usual.index(f'value="{kit["volunteer"].pk}"')
    others = re.search(r'<optgroup label="其他志愿者">(.*?)</optgroup>', select, re.S).group(1)
    assert f'value="{never.pk}"' in others and f'value="{often.pk}"' not in others
    # every row, and the empty template row, offers the same
    assert page.count('<optgroup label="常用志愿者">') == len(re.findall(r'<select name="hours-[^"]+-volunteer"', page)) == 4


def test_a_volunteer_typed_in_by_name_must_be_given_a_kind(client, kit):
    client.force_login(kit["users"]["secretary"])
    data = form_data(kit, hours=[{"new_name": "王同学", "hours": "2"}])
    with translation.override("zh-hans"):
        response = client.post(reverse("activities:create"), data)
    assert response.status_code == 200
    assert "请选择人员类别（党员、教师、学生……）。" in response.content.decode()
    assert not Activity.objects.exists()
    # the kind has no preset choice
    page = client.get(reverse("activities:create")).content.decode()
    select = re.search(r'<select name="hours-0-new_kind".*?</select>', page, re.S).group(0)
    assert 'selected' not in select.replace('value="" selected', "")

    data["hours-0-new_kind"] = "student"
    assert client.post(reverse("activities:create"), data).status_code == 302
    assert ServiceRecord.objects.get().volunteer.kind == "student"


def test_the_sections_are_marked_for_folding(client, kit):
    client.force_login(kit["users"]["secretary"])
    page = client.get(reverse("activities:create")).content.decode()
    # every section (a card) folds; fieldsets inside one (the co-hosts' check boxes) are not sections
    assert page.count('<fieldset class="card"') == page.count('<fieldset class="card" data-fold') + page.count(
        '<fieldset class="card" data-formset="')
    assert page.count('data-fold="optional"') == 4
    assert "js/form-sections.js" in page
