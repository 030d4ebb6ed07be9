"""The signed agreement: a real PDF only, uploaded by the program admin, served through a scope-checked view."""

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from pairings.services import MAX_AGREEMENT_BYTES
from tests.pairings.helpers import pdf_bytes

pytestmark = pytest.mark.django_db

FORM = {"signed_on": "2023-03-01", "term_start": "2023-03-01", "term_end": "2026-02-28", "goals": "共建三年"}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(client, pairing, content, name="协议书.pdf", content_type="application/pdf", **fields):
    data = {**FORM, **fields, "agreement_file": SimpleUploadedFile(name, content, content_type=content_type)}
    with translation.override("zh-hans"):
        return client.post(reverse("pairings:agreement_edit", args=[pairing.pk]), data)


def test_admin_uploads_a_pdf_and_readers_get_it_through_the_view(client, world, media):
    pairing = world["pairing"]
    content = pdf_bytes(2)
    client.force_login(world["users"]["admin"])
    response = upload(client, pairing, content)
    assert response.status_code == 302
    pairing.refresh_from_db()
    assert pairing.goals == "共建三年" and str(pairing.signed_on) == "2023-03-01"
    stored = pairing.agreement_file.name
    assert stored.endswith(".pdf") and "协议书" not in stored  # a random name, not the uploader's
    assert (media / stored).read_bytes() == content

    url = reverse("pairings:agreement_file", args=[pairing.pk])
    expected = {"village": 200, "secretary": 200, "other_secretary": 200, "committee": 200, "admin": 200,
                "superuser": 200, "outsider": 404}
    for role, status in expected.items():
        client.force_login(world["users"][role])
        response = client.get(url)
        assert response.status_code == status, role
        if status == 200:
            assert response["Content-Type"] == "application/pdf"
            assert b"".join(response.streaming_content) == content
            assert "no-store" in response["Cache-Control"]
    client.logout()
    assert client.get(url).status_code == 302


def test_media_is_not_served_by_url(client, world):
    """No URL pattern serves MEDIA_ROOT: the file is reachable only through the view."""
    pairing = world["pairing"]
    client.force_login(world["users"]["admin"])
    upload(client, pairing, pdf_bytes())
    pairing.refresh_from_db()
    client.force_login(world["users"]["superuser"])
    assert client.get(f"{django_settings.MEDIA_URL}{pairing.agreement_file.name}").status_code == 404
    assert client.get(f"/media/{pairing.agreement_file.name}").status_code == 404


def chinese(text):
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize(
    "name, content",
    [
        ("scan.pdf", b"\x89PNG\r\n\x1a\n" + b"0" * 200),  # an image named .pdf
        ("协议书.docx", b"PK\x03\x04" + b"0" * 200),  # a Word file
        ("fake.pdf", b"%PDF-garbage that is no header\n%%EOF\n"),  # magic bytes but no version
        ("cut.pdf", pdf_bytes()[:60]),  # a PDF cut short: no xref, no %%EOF
        ("empty.pdf", b""),
        ("big.pdf", b"%PDF-1.4\n" + b"0" * (MAX_AGREEMENT_BYTES + 1)),
    ],
    ids=["png", "docx", "bad-header", "truncated", "empty", "too-large"],
)
def test_a_non_pdf_is_refused_in_chinese_and_nothing_changes(client, world, media, name, content):
    pairing = world["pairing"]
    client.force_login(world["users"]["admin"])
    response = upload(client, pairing, content, name=name, goals="不应保存")
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "agreement_file" in errors
    message = str(errors["agreement_file"][0])
    assert chinese(message), message
    assert message in response.content.decode().replace("&amp;", "&")
    pairing.refresh_from_db()
    assert pairing.goals == "" and not pairing.agreement_file
    assert not (media / "agreements").exists()


def test_term_end_before_start_refused(client, world):
    client.force_login(world["users"]["admin"])
    with translation.override("zh-hans"):
        response = client.post(
            reverse("pairings:agreement_edit", args=[world["pairing"].pk]), {**FORM, "term_end": "2022-01-01"}
        )
    assert response.status_code == 200 and "term_end" in response.context["form"].errors
    world["pairing"].refresh_from_db()
    assert world["pairing"].goals == ""


def test_keeping_the_current_file_when_none_is_uploaded(client, world):
    pairing = world["pairing"]
    client.force_login(world["users"]["admin"])
    upload(client, pairing, pdf_bytes())
    pairing.refresh_from_db()
    stored = pairing.agreement_file.name
    response = client.post(reverse("pairings:agreement_edit", args=[pairing.pk]), {**FORM, "goals": "新目标"})
    assert response.status_code == 302
    pairing.refresh_from_db()
    assert (pairing.goals, pairing.agreement_file.name) == ("新目标", stored)


def test_a_missing_file_on_disk_is_a_404_not_a_500(client, world):
    pairing = world["pairing"]
    type(pairing).objects.filter(pk=pairing.pk).update(agreement_file="agreements/2024/gone.pdf")
    client.force_login(world["users"]["admin"])
    assert client.get(reverse("pairings:agreement_file", args=[pairing.pk])).status_code == 404
