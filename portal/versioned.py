"""What is worked out from the set-up alone, kept in the cache until the set-up changes.

The set-up is the organisation tree, memberships, programs, pairings and their branches, and the catalogs
(metrics, activity types): it changes a few times a day, while a province admin's pages read a thousand pairings
from it on every request. A value built from it is cached under the set-up's *version*, a token that every save
or delete of one of those models replaces (`setup_changed`, connected by each app for its own models), so a
change is seen by the next request in every process; nothing is ever invalidated one key at a time.

The token is replaced when the change is made and again when its transaction commits, so a request that read
the database between the two (and would have cached what was then committed) caches it under a token that is
already gone. Writers that bypass save() (QuerySet.update, COPY in a loader) call `setup_changed()` themselves.

The cache is an accelerator, never a source: when it does not answer (Redis stopped or hung), the value is
built from the database as if it were not cached, and a warning is logged. A replacement the cache did not take is
not lost: while Redis is stopped or hung a change's new token cannot be written, and once Redis answered again
the old token, and the values cached under it before the change (a role since taken away, say), would be read
for up to an hour. So a process that has seen the cache fail replaces every token it knows, and those it owes,
the first time the cache answers again (`_after_outage`): everything cached before the outage is built afresh.
Every web process serving requests during an outage sees it fail (each request reads the tokens first), so the
values are rebuilt even when the process that made the change is gone.

Within a request the tokens are read once: the first value asked for reads every version key this process has
been asked for (one MGET), and the request keeps them until it ends (a page of five cached values made ten reads of
the cache, now six). A change made by the request itself replaces its kept token too; a change made elsewhere
meanwhile is seen by the next request, as a change made just after this one started would be. Outside a request
(a worker's tasks, commands) the tokens are read at every call, as before; a task run eagerly inside a request (no
broker: the quick start) is part of that request and reads its tokens.

A value read or built is kept in the process too (`_kept`, a bounded LRU, portal/kept.py) under its full key, tokens included: a
page's values then cost neither a round trip nor an unpickling each. The tokens are still read from the cache once
per request, so a change anywhere is seen by the next request as before; a value kept under a token that is gone is
never found again (it ages out). None is kept longer than KEPT_SECONDS, so a value that depends on the clock as well
as on the tokens is read afresh as it would be. When the cache does not answer there is no token, and nothing kept is
read: the value is built from the database. A kept value is shared by the requests of the process: callers treat what
`cached` returns as read-only (copy before changing it).
"""

import hashlib
import logging
import threading
import uuid
from functools import wraps

from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import transaction

from portal.kept import KeptValues

logger = logging.getLogger(__name__)

VERSION_KEY = "portal:setup-version"
TIMEOUT = 3600  # seconds a value is kept under one version (a day's first request rebuilds it anyway)
KEPT_SECONDS = 60  # seconds a value is kept in the process (`_kept`) before it is read from the cache again


# The version keys asked for so far in this process: a request's first read takes them all, so that a page whose
# values depend on several keys (the set-up, the panels, the rollup) reads them in one round trip.
_known_keys = {VERSION_KEY}
# `.tokens`: {key: token} kept for the request being served in this thread, None outside a request. A thread-local
# (the portal is served by WSGI workers, one request per thread at a time), cheaper than asgiref's Local.
_request = threading.local()


def _begin_request(**kwargs):
    _request.tokens = {}
    _request.setup_written = False


def _end_request(**kwargs):
    _request.tokens = None
    _request.setup_written = False


request_started.connect(_begin_request, dispatch_uid="portal-versioned-begin-request")
request_finished.connect(_end_request, dispatch_uid="portal-versioned-end-request")


def _new_token():
    return uuid.uuid4().hex


class _Outage:
    """What this process owes the cache since it last failed to answer: `seen` once any call failed, `owed` the
    keys whose replacement was lost."""

    seen = False
    owed = set()

    @classmethod
    def failed(cls, key=None):
        cls.seen = True
        if key is not None:
            cls.owed.add(key)

    @classmethod
    def forget(cls):
        cls.seen = False
        cls.owed = set()


def _after_outage():
    """The cache answers again after this process saw it fail: replace every token it knows or owes (one round
    trip), so that nothing cached before or during the outage is read again. Raises if the cache fails again."""
    if not _Outage.seen:
        return
    cache.set_many({key: _new_token() for key in _known_keys | _Outage.owed}, None)
    logger.warning("cache answers again: the versions of %s are replaced", sorted(_known_keys | _Outage.owed))
    _Outage.forget()


def current(key=VERSION_KEY):
    """The current token under `key` (made when the cache holds none), or None when the cache does not answer."""
    return current_tokens([key])[0]


def current_tokens(keys):
    """The current tokens under `keys`, read in one round trip (a token missing is made), each None when the
    cache does not answer. In a request, the tokens it already read are not read again (the module's docstring)."""
    kept = getattr(_request, "tokens", None)
    if kept is not None and all(key in kept for key in keys):
        return [kept[key] for key in keys]
    _known_keys.update(keys)
    wanted = keys if kept is None else sorted(_known_keys)
    try:
        _after_outage()
        found = cache.get_many(wanted)
        for key in keys:
            if found.get(key) is None:
                cache.add(key, _new_token(), None)
                found[key] = cache.get(key)
        if kept is not None:  # a token the cache did not give is asked for again at the next call
            kept.update((key, token) for key, token in found.items() if token is not None)
        return [found[key] for key in keys]
    except Exception:  # the cache is down or hung: serve from the database
        logger.warning("cache unavailable: values cached under %s are read from the database", keys, exc_info=True)
        _Outage.failed()
        return [None] * len(keys)


def setup_version():
    """The set-up's current token (made when the cache holds none), or None when the cache does not answer."""
    return current(VERSION_KEY)


def changed(key):
    """What `key` versions changed: values cached under its current token are no longer read (now, and once the
    transaction commits)."""

    def replace():
        kept = getattr(_request, "tokens", None)
        if kept is not None:  # this request reads the new token (or, if the cache does not take it, asks again)
            kept.pop(key, None)
        try:
            cache.set(key, _new_token(), None)
        except Exception:  # owed: replaced with every other token once the cache answers again (_after_outage)
            logger.warning("cache unavailable: %s was not replaced", key, exc_info=True)
            _Outage.failed(key)

    replace()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(replace)


def setup_changed(**kwargs):
    """The set-up changed: values cached under the current token are no longer read (now, and once the
    transaction commits), nor those cached under the database's token (`replace_setup_token`). A signal receiver,
    and callable as is."""
    replace_setup_token()
    changed(VERSION_KEY)


SETUP_TOKEN_WITH_SESSION = "_portal_setup_token"  # the user's attribute set by the session's read


def setup_token_with_session():
    """The set-up's token in the database, as SQL for the session's read (portal/sessions.py): (SQL, parameters)."""
    from django.db import connections, router

    from portal.models import SetupToken

    table = connections[router.db_for_read(SetupToken)].ops.quote_name(SetupToken._meta.db_table)
    return f"SELECT token FROM {table} WHERE id = %s", [SetupToken.ROW]


def replace_setup_token():
    """Give the set-up's row in the database (`SetupToken`) a new token, in the writing transaction: it is committed
    (or rolled back) with the change it stands for, whatever the cache does. One statement, an upsert, so that a
    database without the row (flushed) gets it back."""
    from django.db import connections, router

    from portal.models import SetupToken

    connection = connections[router.db_for_write(SetupToken)]
    table = connection.ops.quote_name(SetupToken._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, token) VALUES (%s, %s) ON CONFLICT (id) DO UPDATE SET token = excluded.token",
            [SetupToken.ROW, _new_token()],
        )
    _request.setup_written = True


def setup_written_in_request():
    """Has this request changed the set-up? Then what it reads of the set-up may not be committed yet (and may be
    rolled back): not to be kept under the token its session read."""
    return getattr(_request, "setup_written", False)


# the values `cached` read or built (the module's docstring); a page reads a handful, the largest (a board page with
# its table) is a few hundred kilobytes
_kept = KeptValues(128)


def cached(name, build, *parts, versions=()):
    """`build()`, cached under the set-up's version (and those of the other `versions` keys it depends on), the
    `name` and the `parts` (ids, values asked for). The value may be shared with other requests of the process
    (the module's docstring): read it, do not change it."""
    tokens = current_tokens([VERSION_KEY, *versions])
    if None in tokens:
        return build()
    digest = hashlib.sha1(repr(parts).encode()).hexdigest()
    key = f"portal:setup:{name}:{':'.join(tokens)}:{digest}"
    value = _kept.get(key)
    if value is not None:
        return value
    try:
        value = cache.get(key)
    except Exception:
        logger.warning("cache unavailable: %s is read from the database", name, exc_info=True)
        _Outage.failed()
        return build()
    if value is None:
        value = build()
        try:
            cache.set(key, value, TIMEOUT)
        except Exception:
            logger.warning("cache unavailable: %s was not kept", name, exc_info=True)
            _Outage.failed()
            return value
    _kept.put(key, value, seconds=KEPT_SECONDS)
    return value


def user_parts(user):
    """What keys a value of `user`'s (what the user may see) besides the cache's tokens: the user and the set-up's
    token in the database, as the session's read gave it. None when nothing of the user's may be kept: anonymous or
    inactive users (their answer is empty and cheap), a user not read with a session (no token), and a request that
    changed the set-up itself (what it reads may not be committed). The database's token is in the key because a
    change whose replacement the cache did not take (Redis stopped or hung, answered as a miss by the fail-open
    cache) still replaces it: a role taken away during an outage is not read back from the cache after it."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    token = getattr(user, SETUP_TOKEN_WITH_SESSION, None)
    if token is None or setup_written_in_request():
        return None
    return (user.pk, user.is_superuser, token)


def per_user(name):
    """A decorator: the function of (user, *args, **kwargs) cached per user and arguments (`cached`, `user_parts`);
    not cached when the user's may not be kept."""

    def decorate(function):
        @wraps(function)
        def wrapper(user, *args, **kwargs):
            who = user_parts(user)
            if who is None:
                return function(user, *args, **kwargs)
            parts = (*who, args, sorted(kwargs.items()))
            return cached(name, lambda: function(user, *args, **kwargs), *parts)

        wrapper.uncached = function
        return wrapper

    return decorate


def connect(*models):
    """Replace the set-up's version on every save and delete of these models (and m2m changes)."""
    from django.db.models.signals import m2m_changed, post_delete, post_save

    for model in models:
        post_save.connect(setup_changed, sender=model, dispatch_uid=f"setup-changed-save-{model._meta.label}")
        post_delete.connect(setup_changed, sender=model, dispatch_uid=f"setup-changed-delete-{model._meta.label}")
        for field in model._meta.local_many_to_many:
            m2m_changed.connect(
                setup_changed, sender=field.remote_field.through, dispatch_uid=f"setup-changed-m2m-{field}"
            )
