"""Sessions read with their user in one query.

Every signed-in page read its session (one query), then its user (a second), one after the other: the second
needs the user's id from the first's data. The session's row now carries that id in a column (`UserSession.user`),
so its read joins the user's row and the request's user is taken from it: one round trip where there were two.

Why not a cached session (Django's `cached_db`, on the Redis cache): when Redis hangs, a sign-out's delete from
the cache is lost (the cache fails open, portal/cache.py), and once Redis answers again the signed-out cookie
would be read from the cache and signed in. Here the database stays the only store of sessions, so a sign-out is
the deletion of the row, whatever the cache does, and sessions do not depend on Redis at all. The user is read
fresh with every request, as before: a user switched off, or whose password changed, is signed out on the next
request (Django's checks run on the joined row unchanged).

The same query reads what every page needs of its user besides (`read_with_session`): the set-up's token, under
which the user's reach is kept (portal/permissions.py), and what the apps add (the header's unread count).
Two round trips of every signed-in page are gone, and nothing of it depends on Redis either.
"""

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.utils.crypto import constant_time_compare
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from portal.db import values_bound

# `SessionStore.joined_user` before the session was read with its user (or when it was not found)
NOT_READ = object()

# What else a page needs of its user, read in the same query as the session and kept on the user under these names:
# {name: (SQL of one value, its parameters)}, the SQL naming the session's table (`portal_usersession`) for its user.
# Apps add theirs in their `ready()`; the portal's is the set-up's token, under which the user's reach is kept
# (permissions.scope_for). A user not read with the session (just signed in, or read by another backend) has none of
# them, and their readers fall back to their own query.
read_with_session = {}

# {(database alias, the names read): the session's SELECT}, written once per process (`_session_sql`)
_statements = {}


def _session_sql(using, names):
    """The session's read with its user and `read_with_session`, in SQL: the ORM's select_related().annotate().get()
    built and compiled the same statement on every request, three quarters of a millisecond of Python where running
    it and making the two objects take a fifth (SQLite and PostgreSQL)."""
    key = (using, names)
    if key not in _statements:
        from django.contrib.auth import get_user_model
        from django.db import connections

        from portal.models import UserSession

        quote = connections[using].ops.quote_name
        session_table, user_model = quote(UserSession._meta.db_table), get_user_model()
        session_fields = [f.attname for f in UserSession._meta.concrete_fields]
        user_fields = [f.attname for f in user_model._meta.concrete_fields]
        columns = [f"{session_table}.{quote(UserSession._meta.get_field(n).column)}" for n in session_fields]
        columns += [f"({read_with_session[name][0]})" for name in names]
        columns += [f"u.{quote(user_model._meta.get_field(n).column)}" for n in user_fields]
        sql = (
            f"SELECT {', '.join(columns)} FROM {session_table}"
            f" LEFT OUTER JOIN {quote(user_model._meta.db_table)} u"
            f" ON u.{quote(user_model._meta.pk.column)} = {session_table}.{quote('user_id')}"
            f" WHERE {session_table}.{quote('session_key')} = %s AND {session_table}.{quote('expire_date')} > %s"
        )
        params = [param for name in names for param in read_with_session[name][1]]
        _statements[key] = (sql, params, session_fields, user_fields)
    return _statements[key]


def _read(connection, sql, params):
    """The session's row, the statement prepared (PostgreSQL): the same text for every request, planned once per
    connection instead of each time. A migration that changed the type of a column it reads, while this process
    ran, makes PostgreSQL refuse the prepared statement ("cached plan must not change result type", SQLSTATE
    0A000) on every request of that connection: the connection is closed, taking the statement with it, and the
    row read once more on a new one, prepared anew."""
    for attempt in (1, 2):
        try:
            with values_bound(connection, prepare=True), connection.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchone()
        except DatabaseError as error:
            outdated = getattr(error.__cause__, "sqlstate", None) == "0A000"
            if not outdated:
                raise
            connection.close()  # inside a transaction: closed when it ends (Django), and this request fails
            if attempt == 2 or connection.in_atomic_block:
                raise


class SessionStore(DBStore):
    """Django's database sessions, kept in `UserSession`, read with the signed-in user's row."""

    def __init__(self, session_key=None):
        super().__init__(session_key)
        self.joined_user = NOT_READ

    @classmethod
    def get_model_class(cls):
        from portal.models import UserSession

        return UserSession

    def _get_session_from_db(self):
        # The same read as Django's (the key, not expired), joined to the user its data name.
        from django.contrib.auth import get_user_model
        from django.db import connections, router

        using = router.db_for_read(self.model)
        names = tuple(read_with_session)
        sql, params, session_fields, user_fields = _session_sql(using, names)
        found = _read(connections[using], sql, [*params, self.session_key, timezone.now()])
        if found is None:  # as Django's when the key is unknown or expired
            self._session_key = None
            return None
        row = self.model.from_db(using, session_fields, found[: len(session_fields)])
        extras = found[len(session_fields) : len(session_fields) + len(names)]
        values = found[len(session_fields) + len(names) :]
        # None when the row names nobody (or a user since deleted): the join found no row, its id is NULL
        user_model = get_user_model()
        missing = values[user_fields.index(user_model._meta.pk.attname)] is None
        user = None if missing else user_model.from_db(using, user_fields, values)
        row.user = user
        if user is None:
            row.user_id = found[session_fields.index("user_id")]  # as read, whoever it named
        else:
            for name, value in zip(names, extras):
                setattr(user, name, value)
        self.joined_user = user
        return row

    def create_model_instance(self, data):
        row = super().create_model_instance(data)
        row.user_id = user_id_of(data)
        return row


def user_id_of(data):
    """The signed-in user's id in a session's data, or None (signed out, or not an id)."""
    from django.contrib.auth import get_user_model

    value = data.get(SESSION_KEY)
    if value is None:
        return None
    try:
        return get_user_model()._meta.pk.to_python(value)
    except ValidationError:
        return None


def _user(session, backend, user_id):
    """The backend's user for `user_id`: the row read with the session when it is that user and the backend reads
    users as Django's ModelBackend does (allauth's does), otherwise the backend's own read."""
    joined = getattr(session, "joined_user", NOT_READ)
    if (
        joined is not NOT_READ
        and joined is not None
        and type(backend).get_user is ModelBackend.get_user
        and str(joined.pk) == str(user_id)
    ):
        return joined if backend.user_can_authenticate(joined) else None
    return backend.get_user(user_id)


def get_user(request):
    """`django.contrib.auth.get_user` (Django 5.2), except that the user comes from `_user`: the same checks (the
    backend is still configured, the user may sign in, the session's hash matches the password's)."""
    from django.contrib.auth.models import AnonymousUser

    user = None
    session = request.session
    try:
        user_id = auth._get_user_session_key(request)
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        pass
    else:
        if backend_path in settings.AUTHENTICATION_BACKENDS:
            backend = load_backend(backend_path)
            user = _user(session, backend, user_id)
            if hasattr(user, "get_session_auth_hash"):
                session_hash = session.get(HASH_SESSION_KEY)
                if not session_hash:
                    session_hash_verified = False
                else:
                    session_auth_hash = user.get_session_auth_hash()
                    session_hash_verified = constant_time_compare(session_hash, session_auth_hash)
                if not session_hash_verified:
                    if session_hash and any(
                        constant_time_compare(session_hash, fallback_auth_hash)
                        for fallback_auth_hash in user.get_session_auth_fallback_hash()
                    ):
                        session.cycle_key()
                        session[HASH_SESSION_KEY] = session_auth_hash
                    else:
                        session.flush()
                        user = None
    return user or AnonymousUser()


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    """Django's, with `request.user` from `get_user` above."""

    def process_request(self, request):
        super().process_request(request)

        def cached_user():
            if not hasattr(request, "_cached_user"):
                request._cached_user = get_user(request)
            return request._cached_user

        request.user = SimpleLazyObject(cached_user)
