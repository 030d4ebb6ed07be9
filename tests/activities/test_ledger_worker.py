"""A 10,000-row ledger through a real Celery worker (PostgreSQL + Redis db 13): checked and saved by the tasks, the
progress readable from another process while the task runs. Skipped (with the reason) without PostgreSQL or
Redis; CI's PostgreSQL run has both (STRICT_SKIPS allows no skip there)."""

import csv
import datetime
import io

import pytest
import redis
from django.core.cache.backends.redis import RedisCache
from django.core.files.uploadedfile import SimpleUploadedFile

from activities.models import Activity
from portal.models import ImportBatch
from portal.services import import_batch_create, import_progress_key
from tests import factories as f
from tests.reports.test_worker import REDIS_HOST, REDIS_PORT, Workers, postgres, send, wait_for  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
ROWS = 10_000
REDIS_DB = 13


@pytest.fixture
def broker13():
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis on {REDIS_HOST}:{REDIS_PORT} ({exc}) (CI runs this)")
    client.flushdb()
    yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}", client
    client.flushdb()
    client.close()


def test_ten_thousand_activities_through_a_worker(postgres, broker13, world, tmp_path, settings):  # noqa: F811
    broker_url, _client = broker13
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    f.ActivityTypeFactory(code="volunteer-service", name="志愿服务")
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["日期", "结对", "党支部", "类型", "标题", "状态", "参与党员"])
    for i in range(ROWS):
        day = datetime.date(2021, 1, 1) + datetime.timedelta(days=i % 1400)
        writer.writerow([day.isoformat(), "龙石村", "第三党支部", "志愿服务", f"义修{i}", "已确认", 3])
    admin = world["users"]["admin"]
    batch, _table = import_batch_create(user=admin, kind="activities", program_id=world["program"].pk,
                                        upload=SimpleUploadedFile("ledger.csv", out.getvalue().encode("gb18030")))
    pool = Workers(postgres, broker_url, tmp_path)
    cache = RedisCache(broker_url, {})
    seen = []
    try:
        pool.start("ledger", MEDIA_ROOT=str(media), REDIS_URL=broker_url)
        send(broker_url, "portal.ledger_check", batch.pk)

        def checked():
            seen.append((cache.get(import_progress_key(batch.pk)) or {}).get("done", 0))
            return ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.PREVIEW

        wait_for(checked, 600, "the check")
        batch.refresh_from_db()
        assert (batch.new_rows, batch.error_rows) == (ROWS, 0)
        assert any(0 < done < ROWS for done in seen), seen[-5:]  # progress was readable mid-way
        ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.APPLYING)
        send(broker_url, "portal.ledger_apply", batch.pk, admin.pk)
        wait_for(lambda: ImportBatch.objects.get(pk=batch.pk).status == ImportBatch.Status.APPLIED, 1200, "the save")
    finally:
        pool.stop_all()
    assert Activity.objects.filter(status="confirmed", confirmed_by=admin).count() == ROWS
