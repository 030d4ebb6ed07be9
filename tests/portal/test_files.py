"""Media leave the portal only through scope-checked views (portal.files.protected_file_response), in two modes:
Django streams the file (the default), or, with MEDIA_ACCEL_REDIRECT set, the view answers empty with
X-Accel-Redirect and nginx sends the file from its `internal` location (deploy/nginx.conf).

Each of the four views that serve files is checked in both modes: the same status for every role, the same
Content-Type and Content-Disposition, and in the nginx mode a body-less response naming the file's place under
MEDIA_ROOT."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from reports import services as report_services
from reports import generation
from reports.models import AnnualExport
from tests import factories as f
from tests.reports.conftest import records  # noqa: F401 (a fixture)

BASE_DIR = Path(__file__).resolve().parents[2]
PREFIX = "/protected-media/"
MODES = ["django", "nginx"]


@pytest.fixture(params=MODES)
def mode(request, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ACCEL_REDIRECT = PREFIX if request.param == "nginx" else ""
    return request.param


def fetch(client, user, url):
    client.force_login(user)
    return client.get(url)


def assert_served(response, mode, file, content_type, disposition):
    """The file's bytes from Django, or an empty answer that sends nginx to the file."""
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == disposition
    if mode == "nginx":
        assert response["X-Accel-Redirect"] == PREFIX + file.name
        assert response.content == b""
        assert (Path(file.storage.location) / file.name).is_file()
    else:
        assert "X-Accel-Redirect" not in response
        assert b"".join(response.streaming_content) == file.storage.open(file.name).read()


def assert_refused(response):
    assert response.status_code == 404
    assert "X-Accel-Redirect" not in response


def test_activity_photo_and_thumbnail(client, world, mode):
    activity = f.ActivityFactory(pairing=world["pairing"], branch=world["branch"])  # a draft: its branch sees it
    photo = f.ActivityPhotoFactory(activity=activity)
    photo.thumbnail.save("thumb.jpg", ContentFile(photo.image.open("rb").read()))
    for name, file, suffix in (("activities:photo", photo.image, ""), ("activities:photo_thumb", photo.thumbnail, "-thumb")):
        url = reverse(name, args=[photo.pk])
        response = fetch(client, world["users"]["secretary"], url)
        assert_served(response, mode, file, "image/jpeg", f'inline; filename="photo-{photo.pk}{suffix}.jpg"')
        assert response["Cache-Control"] == "private, no-store"  # village offices share PCs (issue 16)
        assert_refused(fetch(client, world["users"]["outsider"], url))


def test_signed_agreement(client, world, mode):
    pairing = world["pairing"]
    pairing.agreement_file.save("agreement.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"))
    url = reverse("pairings:agreement_file", args=[pairing.pk])
    response = fetch(client, world["users"]["village"], url)
    assert_served(response, mode, pairing.agreement_file, "application/pdf", f'inline; filename="agreement-{pairing.pk}.pdf"')
    assert response["Cache-Control"] == "private, no-store"
    assert_refused(fetch(client, world["users"]["outsider"], url))


def test_report_photo(client, mode, records):  # noqa: F811 (records sets MEDIA_ROOT after mode)
    report, _ = generation.report_generate(kind="quarterly", period="2024Q1", program=records["program"], pairing=records["pairing"])
    report, _ = report_services.report_publish(report=report, actor=records["users"]["admin"])
    photo = records["photo"]
    url = reverse("reports:report_photo", args=[report.pk, photo.pk])
    response = fetch(client, records["users"]["village"], url)
    file = photo.thumbnail or photo.image
    assert_served(response, mode, file, "image/jpeg", f'inline; filename="{os.path.basename(file.name)}"')
    assert response["Cache-Control"] == "private, no-store"
    assert_refused(fetch(client, records["users"]["outsider"], url))


def test_annual_export(client, world, mode):
    export = AnnualExport.objects.create(program=world["program"], year=2024, status=AnnualExport.Status.DONE)
    export.csv.save("ledger.csv", ContentFile("\ufeff结对,活动\n".encode()))
    url = reverse("reports:export_download", args=[export.pk, "csv"])
    response = fetch(client, world["users"]["admin"], url)
    assert_served(response, mode, export.csv, "text/csv; charset=utf-8", 'attachment; filename="slsz-2024-annual.csv"')
    assert_refused(fetch(client, world["users"]["committee"], url))


def test_a_file_gone_from_disk_is_404_in_both_modes(client, world, mode):
    activity = f.ActivityFactory(pairing=world["pairing"], branch=world["branch"])
    photo = f.ActivityPhotoFactory(activity=activity)
    photo.image.storage.delete(photo.image.name)
    assert_refused(fetch(client, world["users"]["secretary"], reverse("activities:photo", args=[photo.pk])))
    # and one never uploaded (no thumbnail made)
    assert_refused(fetch(client, world["users"]["secretary"], reverse("activities:photo_thumb", args=[photo.pk])))


def test_names_are_url_encoded_for_nginx(client, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ACCEL_REDIRECT = PREFIX
    pairing = world["pairing"]
    pairing.agreement_file.save("协议 书#1.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"))
    response = fetch(client, world["users"]["admin"], reverse("pairings:agreement_file", args=[pairing.pk]))
    header = response["X-Accel-Redirect"]
    assert header.isascii() and " " not in header and "#" not in header
    from urllib.parse import unquote

    assert unquote(header) == PREFIX + pairing.agreement_file.name


@pytest.mark.parametrize("value, ok", [("/protected-media/", True), ("/a/b/", True), ("protected-media/", False),
                                       ("/protected-media", False), ("/../media/", False), ("/x y/", False), ("http://x/", False)])
def test_media_accel_redirect_is_validated_at_start_up(value, ok):
    environment = {k: v for k, v in os.environ.items() if k != "MEDIA_ACCEL_REDIRECT"}
    environment.update(MEDIA_ACCEL_REDIRECT=value, DJANGO_SETTINGS_MODULE="portal.settings")
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; print(settings.MEDIA_ACCEL_REDIRECT)"],
        cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=120,
    )
    if ok:
        assert result.returncode == 0 and result.stdout.strip() == value, result.stderr
    else:
        assert result.returncode != 0
        assert "MEDIA_ACCEL_REDIRECT" in result.stderr.strip().splitlines()[-1]
