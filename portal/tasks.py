"""Celery tasks of the base app: a large ledger import (portal.services.ASYNC_ROWS rows and more) is checked and
saved here, the page polling its progress (portal.services.import_progress)."""

import logging

from celery import shared_task
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal import ledger
from portal.models import ImportBatch, User
from portal.services import import_batch_apply, import_batch_check

log = logging.getLogger(__name__)


def _fail(batch_id, status, message):
    ImportBatch.objects.filter(pk=batch_id).update(status=status, message=message[:2000])


@shared_task(name="portal.ledger_check")
def ledger_check(batch_id):
    batch = ImportBatch.objects.select_related("created_by").get(pk=batch_id)
    try:
        import_batch_check(batch=batch)
    except ledger.LedgerFileError as exc:
        _fail(batch_id, ImportBatch.Status.FAILED, str(exc))


@shared_task(name="portal.ledger_apply")
def ledger_apply(batch_id, user_id):
    batch = ImportBatch.objects.get(pk=batch_id)
    user = User.objects.get(pk=user_id)
    try:
        import_batch_apply(batch=batch, user=user)
    except ValidationError as exc:
        _fail(batch_id, ImportBatch.Status.PREVIEW, "\n".join(exc.messages))
    except Exception:
        log.exception("ledger import %s failed", batch_id)
        _fail(batch_id, ImportBatch.Status.PREVIEW, _("The import failed; nothing was saved. Try again later."))
        raise
