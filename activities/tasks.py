"""Celery tasks of activities: they take ids (or nothing) and call a service."""

from celery import shared_task

from activities import services


@shared_task(name="activities.tasks.purge_photo_uploads")
def purge_photo_uploads():
    """Beat, every hour: remove photos uploaded for a form but never attached to an activity within a day."""
    return services.photo_uploads_purge()


@shared_task(name="activities.tasks.purge_submit_keys")
def purge_submit_keys():
    """Beat, every night: forget the submit keys older than 90 days."""
    return services.submit_keys_purge()
