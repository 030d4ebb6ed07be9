"""Django's PostgreSQL backend, with a health check that costs no round trip while the connection is sound, and the
text of a prepared statement in the query log.

Persistent connections (CONN_MAX_AGE) are checked at a request's first query (CONN_HEALTH_CHECKS), so a connection
the server dropped between requests (PostgreSQL restarted, pg_terminate_backend, an idle timeout) is replaced
instead of failing the request with a 503. Django checks with a ``SELECT 1``: one of a page's five or six round
trips to the database, on every request. A server that drops a connection says so on its socket (a FATAL message,
then end of file), which is then readable; an idle sound connection has nothing to read. So the socket is looked at
without waiting, and only when it has something to say (or cannot be looked at) does the ``SELECT 1`` decide, as
before. A server that vanished without a word (a host gone, no end of file) is not seen by either check before the
query (the ``SELECT 1`` would wait as long): that request fails with the 503 page and the next one reconnects.
"""

import select

from django.db import DatabaseError
from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        """Django's, and for a statement run prepared (portal.db.values_bound), which psycopg runs without keeping
        its text, the text with its values quoted in: what the query log and the tests' query capture show."""
        executed = super().last_executed_query(cursor, sql, params)
        if executed is None and sql is not None:
            try:
                return self.compose_sql(sql, params)
            except (base.Database.Error, DatabaseError):  # quoting needs a sound connection: the text alone, then,
                return sql  # not an error of its own in place of the statement's
        return executed


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and self.socket_is_quiet()
        ):
            self.health_check_done = True
            return
        return super().close_if_health_check_failed()

    def socket_is_quiet(self):
        """Nothing waits to be read on the connection's socket (an idle connection the server still holds)."""
        try:
            if self.connection.closed or self.connection.broken:
                return False
            poller = select.poll()  # not select.select(): a worker may hold descriptors past FD_SETSIZE
            poller.register(self.connection.pgconn.socket, select.POLLIN | select.POLLPRI)
            return not poller.poll(0)  # POLLHUP and POLLERR come whether asked for or not
        except (OSError, ValueError, base.Database.Error):  # no socket to look at: let SELECT 1 decide
            return False
