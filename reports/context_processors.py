"""The unread count in every page's header: one COUNT query, run only when a signed-in user's page shows it."""

from reports.models import Notification


def notices(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    cache = {}

    def unread():
        if "n" not in cache:
            cache["n"] = Notification.objects.for_user(user).unread().count()
        return cache["n"]

    return {"unread_notifications": unread}
