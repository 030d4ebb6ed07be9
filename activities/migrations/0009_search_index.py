"""The activity search's GIN index over portal_search_vector(title, place, description) (portal/search.py).
PostgreSQL only; on SQLite the search reads the fields as they are."""

from django.db import migrations

INDEX = "activities_activity_search"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON activities_activity "
            "USING gin (portal_search_vector(title, place, description))"
        )
        # the statistics of the indexed expression (how common each token is): the planner's choice rests on them
        schema_editor.execute("ANALYZE activities_activity")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("activities", "0008_activity_type_program"), ("portal", "0005_search_vector")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
