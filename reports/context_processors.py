"""The unread count in every page's header: one COUNT query, run only when a signed-in user's page shows it, and
capped (a badge says 99+ past 99), so a user with years of unread notices costs no more than one with a few."""

from reports.selectors import unread_count

BADGE_CAP = 100  # counted up to here; the badge shows "99+" beyond 99


def notices(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    cache = {}

    def unread():
        if "n" not in cache:
            cache["n"] = unread_count(user, BADGE_CAP)
        return cache["n"]

    return {"unread_notifications": unread}
