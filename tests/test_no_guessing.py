"""longshi (龙石村) guesses the ids of everything that belongs to other villages and programs: every page
that takes an id answers 404 to a GET and to a POST, and the POST changes nothing."""

import re

import pytest
from django.apps import apps
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from portal.models import User

# Views that take an id but carry no `model` attribute: the model their id belongs to.
VIEW_MODELS = {
    "activities:photo": "activities.ActivityPhoto",
    # POST only, of a deleted activity: a guessed id (deleted or not) is 404 outside its program's admins
    "activities:restore": "activities.Activity",
    "activities:photo_thumb": "activities.ActivityPhoto",
    "activities:photo_upload_thumb": "activities.PhotoUpload",
    "activities:meeting_file": "activities.MeetingAttachment",
    "activities:meeting_file_thumb": "activities.MeetingAttachment",
    "reports:notification_open": "reports.Notification",
    "reports:notification_read": "reports.Notification",
    "reports:webhook_update": "reports.Webhook",
    "reports:webhook_deactivate": "reports.Webhook",
    "reports:webhook_test": "reports.Webhook",
    # a village's statistics page takes the village's id (tests/pairings/test_village_statistics.py tries it)
    "pairings:village_statistics": "portal.Organization",
    # set-up pages: organisations and people are scoped by portal.permissions.manageable_org_ids (neither model has
    # visible_to, so they are left out here; tests/portal/test_setup_*.py try foreign ids on every one of them)
    "setup:org_detail": "portal.Organization",
    "setup:org_update": "portal.Organization",
    "setup:org_active": "portal.Organization",
    "setup:person_detail": "portal.User",
    "setup:person_active": "portal.User",
    "setup:invite_reissue": "portal.User",
    "setup:membership_add": "portal.User",
    "setup:membership_remove": "portal.Membership",
    # a catalog everyone may read (no visible_to): tests/activities/test_types_setup.py tries another program's
    "activities:activity_type_update": "activities.ActivityType",
    # ledger imports: who sees a batch is import_batches_visible (no visible_to manager; the permission matrix and
    # tests/activities/test_ledger.py try foreign batches)
    "imports:detail": "portal.ImportBatch",
    "imports:confirm": "portal.ImportBatch",
    "imports:undo": "portal.ImportBatch",
    "imports:progress": "portal.ImportBatch",
}


def id_urls():
    """(name, pattern string, model) for every URL pattern that takes an <int:pk>."""

    def walk(patterns, prefix, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                route = prefix + str(pattern.pattern)
                if "<int:pk>" not in route or name.startswith("admin:"):
                    continue
                view_class = getattr(pattern.callback, "view_class", None)
                label = VIEW_MODELS.get(name)
                model = apps.get_model(label) if label else getattr(view_class, "model", None)
                assert model is not None, f"{name}: say which model its id belongs to in VIEW_MODELS"
                yield name, route, model

    return list(walk(get_resolver().url_patterns, "", ""))


def fill(name, route, pk):
    kwargs = {"pk": pk}
    for extra in re.findall(r"<(?:str|int):(\w+)>", route):
        if extra != "pk":
            kwargs[extra] = {"fmt": "docx", "photo_id": 1}.get(extra, "x")
    return reverse(name, kwargs=kwargs)


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path  # the demo's photos
    call_command("load_demo", verbosity=0)
    from pairings.models import Pairing
    from reports.models import Report
    from reports.generation import report_generate
    from reports.services import report_publish

    admin = User.objects.get(username="admin")
    june = f"{timezone.localdate().year - 1}-06"  # a month of last year: every pairing was running
    for pairing in Pairing.objects.select_related("program"):  # every village gets a published report
        report, _ = report_generate(kind=Report.Kind.MONTHLY, period=june, program=pairing.program, pairing=pairing)
        if report.status == Report.Status.DRAFT:  # the demo's programs publish monthly reminders as built
            report_publish(report=report, actor=admin)
    return User.objects.get(username="longshi")


def foreign_rows(model, user, limit=3):
    """Rows of this model the user may not see (fixtures make some of every kind where they can)."""
    visible = model._default_manager.visible_to(user).values("pk")
    return list(model._default_manager.exclude(pk__in=visible).order_by("pk").values_list("pk", flat=True)[:limit])


def test_longshi_cannot_reach_tianxins_pages_by_guessing_ids(client, demo):
    longshi = demo
    client.force_login(longshi)
    checked = 0
    for name, route, model in id_urls():
        if not hasattr(model._default_manager, "visible_to"):
            continue
        for pk in foreign_rows(model, longshi):
            url = fill(name, route, pk)
            before = model._default_manager.filter(pk=pk).values().first()
            got = client.get(url).status_code
            posted = client.post(url, {"comment": "x", "notes": "x", "rating": 5}).status_code
            # 405 is the answer a write-only (or read-only) view gives to the other method: it reveals nothing
            assert {got, posted} <= {404, 405} and 404 in {got, posted}, (url, got, posted)
            assert model._default_manager.filter(pk=pk).values().first() == before, url
            checked += 1
    print(f"{checked} foreign pages tried")
    assert checked >= 20, f"only {checked} foreign pages were tried"
