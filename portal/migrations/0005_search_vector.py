"""portal_search_vector(VARIADIC text[]): the tokens (CJK characters and their pairs, Latin and digit runs) of
some text as a tsvector, for the search indexes (portal/search.py). PostgreSQL only; nothing on SQLite."""

from django.db import migrations

from portal.search import DROP_VECTOR_FUNCTION_SQL, VECTOR_FUNCTION_SQL


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(VECTOR_FUNCTION_SQL)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_VECTOR_FUNCTION_SQL)


class Migration(migrations.Migration):
    dependencies = [("portal", "0004_ledger_import")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
