"""The volunteer search's GIN index over portal_search_vector(name) (portal/search.py; dashboards.filters.
VolunteerFilter). PostgreSQL only; on SQLite the search reads the name as it is."""

from django.db import migrations

INDEX = "volunteers_volunteer_search"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON volunteers_volunteer USING gin (portal_search_vector(name))"
        )
        schema_editor.execute("ANALYZE volunteers_volunteer")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("volunteers", "0002_certificate"), ("portal", "0005_search_vector")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
