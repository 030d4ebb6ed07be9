"""The activity search's tokens stored with each row (PostgreSQL only): a generated column
activities_activity.search_vector = portal_search_vector(title, place, description) (portal/search.py), with its
GIN index in place of 0009's expression index.

Why stored: when the planner walks the date index (the list's order) instead of the search index, it evaluated
the function for every row it passed (≈ 110 µs each: 宣讲, 77k matches, took 322 ms for the province admin);
the stored column is read, not computed. PostgreSQL fills it on every INSERT and UPDATE, COPY included
(bench/generate.py), so nothing in the code writes it.

Django's model state does not know the column (SQLite has none; the search reads it through
portal.search.term_q's `column`); a SELECT never names it, an INSERT leaves it out."""

from django.db import migrations

COLUMN_SQL = (
    "ALTER TABLE activities_activity ADD COLUMN IF NOT EXISTS search_vector tsvector "
    "GENERATED ALWAYS AS (portal_search_vector(title, place, description)) STORED"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(COLUMN_SQL)
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS activities_activity_search_vector ON activities_activity "
            "USING gin (search_vector)"
        )
        schema_editor.execute("DROP INDEX IF EXISTS activities_activity_search")
        schema_editor.execute("ANALYZE activities_activity")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS activities_activity_search ON activities_activity "
            "USING gin (portal_search_vector(title, place, description))"
        )
        schema_editor.execute("DROP INDEX IF EXISTS activities_activity_search_vector")
        schema_editor.execute("ALTER TABLE activities_activity DROP COLUMN IF EXISTS search_vector")


class Migration(migrations.Migration):
    dependencies = [("activities", "0009_search_index")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
