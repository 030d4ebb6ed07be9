"""Reports' data compressed by lz4 instead of PostgreSQL's default pglz: a report's JSON (16 kB for a pairing's
monthly report, megabytes for a program's) is compressed when it is stored, and pglz cost about as much as parsing
it (100 reports: 115-165 ms stored with pglz, 70-110 ms with lz4, the same documents). The values read back are
the same; rows written before keep pglz until rewritten. PostgreSQL only (14 or later), and only where it was
built with lz4: elsewhere the column keeps the default."""

from django.db import migrations

SET = """
DO $$
BEGIN
    ALTER TABLE reports_report ALTER COLUMN data SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'lz4 not available: reports_report.data keeps the default compression';
END $$
"""


def set_lz4(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql" and schema_editor.connection.pg_version >= 140000:
        schema_editor.execute(SET)


def set_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql" and schema_editor.connection.pg_version >= 140000:
        schema_editor.execute("ALTER TABLE reports_report ALTER COLUMN data SET COMPRESSION default")


class Migration(migrations.Migration):
    dependencies = [("reports", "0006_delivery_html")]

    operations = [migrations.RunPython(set_lz4, set_default, elidable=False)]
