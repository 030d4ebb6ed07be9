"""Celery tasks of activities: they take ids (or nothing) and call a service."""

from celery import shared_task

from activities import services


@shared_task(name="activities.tasks.purge_photo_uploads")
def purge_photo_uploads():
    """Beat, every hour: remove photos uploaded for a form but never attached to an activity within a day."""
    return services.photo_uploads_purge()
