"""The unread count in every page's header: one COUNT, capped (a badge says 99+ past 99), so a user with years of
unread notices costs no more than one with a few. It is read with the request's session (portal/sessions.py, the
count registered in reports/apps.py), in the same query, so the page makes no round trip for it; a user not read
with a session (just signed in) has it counted here, when the page shows it."""

from reports.selectors import unread_count

BADGE_CAP = 100  # counted up to here; the badge shows "99+" beyond 99
UNREAD_WITH_SESSION = "_portal_unread_notifications"  # the user's attribute set by the session's read


def notices(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    cache = {}

    def unread():
        if "n" not in cache:
            read = getattr(user, UNREAD_WITH_SESSION, None)
            cache["n"] = unread_count(user, BADGE_CAP) if read is None else read
        return cache["n"]

    return {"unread_notifications": unread}
