"""Fill Pairing.last_activity_on (pairings 0003) from the rollup's month rows, which the figures app keeps from
now on."""

from django.db import migrations
from django.db.models import Max, OuterRef, Subquery


def fill(apps, schema_editor):
    Pairing = apps.get_model("pairings", "Pairing")
    PairingMonth = apps.get_model("figures", "PairingMonth")
    last = (
        PairingMonth.objects.filter(pairing=OuterRef("pk")).order_by()
        .values("pairing").annotate(last=Max("last_activity_on")).values("last")
    )
    Pairing.objects.using(schema_editor.connection.alias).update(last_activity_on=Subquery(last))


class Migration(migrations.Migration):

    dependencies = [
        ("figures", "0001_initial"),
        ("pairings", "0003_last_activity_on"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
