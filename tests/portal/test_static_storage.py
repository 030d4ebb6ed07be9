"""portal.storage.StaticStorage: the URL of a static file is what whitenoise's storage gives, kept after its first
use; a name missing from the manifest fails every time."""

import json

import pytest
from whitenoise.storage import CompressedManifestStaticFilesStorage

from portal.storage import StaticStorage

MANIFEST = {"paths": {"css/portal.css": "css/portal.0123abcd.css", "js/outbox.js": "js/outbox.89ef4567.js"},
            "version": "1.1"}


@pytest.fixture
def location(tmp_path):
    (tmp_path / "staticfiles.json").write_text(json.dumps(MANIFEST))
    return tmp_path


def test_urls_are_whitenoises(location, settings):
    settings.DEBUG = False
    kept = StaticStorage(location=str(location), base_url="/static/")
    plain = CompressedManifestStaticFilesStorage(location=str(location), base_url="/static/")
    for _ in range(2):  # the first answer is worked out, the second kept
        for name in MANIFEST["paths"]:
            assert kept.url(name) == plain.url(name)
    assert kept.url("css/portal.css") == "/static/css/portal.0123abcd.css"
    assert kept.url("css/portal.css", force=True) == plain.url("css/portal.css", force=True)


def test_a_name_missing_from_the_manifest_fails_every_time(location, settings):
    settings.DEBUG = False
    kept = StaticStorage(location=str(location), base_url="/static/")
    for _ in range(2):
        with pytest.raises(ValueError):
            kept.url("css/missing.css")
