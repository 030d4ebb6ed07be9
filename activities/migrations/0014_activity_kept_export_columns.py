from django.db import migrations, models


def fill(apps, schema_editor):
    # the kept columns of the activities already there (activities.kept: set-based on PostgreSQL)
    from activities.kept import kept_rebuild

    kept_rebuild(using=schema_editor.connection.alias)


class Migration(migrations.Migration):

    dependencies = [
        ('activities', '0013_photo_upload'),
    ]

    operations = [
        migrations.AddField(
            model_name='activity',
            name='kept_co_host_ids',
            field=models.TextField(blank=True, default='', editable=False),
        ),
        migrations.AddField(
            model_name='activity',
            name='kept_figures',
            field=models.TextField(blank=True, default='', editable=False),
        ),
        migrations.AddField(
            model_name='activity',
            name='kept_pending_hours',
            field=models.DecimalField(decimal_places=1, default=0, editable=False, max_digits=8),
        ),
        migrations.AddField(
            model_name='activity',
            name='kept_photos',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='activity',
            name='kept_verified_hours',
            field=models.DecimalField(decimal_places=1, default=0, editable=False, max_digits=8),
        ),
        migrations.AddField(
            model_name='activity',
            name='kept_verified_until',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
