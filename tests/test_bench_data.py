"""The benchmark's data set is written by COPY with the columns bench.generate names: a schema change that adds a
required column must be taught to it, or `make bench` fails on a fresh machine (CI does not run the benchmark)."""

from django.db import connection


class _Connection:
    """What bench.generate.check_columns asks of a psycopg connection, over Django's."""

    def execute(self, sql, params=()):
        cursor = connection.cursor()
        cursor.execute(sql, params)
        return cursor


def test_the_generator_writes_every_required_column(postgres_only):
    from bench.generate import check_columns

    check_columns(_Connection())  # SystemExit naming each column it does not write
