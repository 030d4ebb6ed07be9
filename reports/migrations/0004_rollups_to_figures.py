"""The rollup tables move to the figures app (figures/migrations/0001_initial takes them over): the tables are
renamed in place, so their rows stay; only Django's state of the reports app forgets them."""

from django.db import migrations

MOVED = {
    "pairingmonth": ("reports_pai_month_1a4868_idx", "pairingmonth_month"),
    "pairingmonthmetric": ("reports_pai_month_30b4c4_idx", "pairingmonthmetric_month"),
    "pairingyear": ("reports_pai_year_f861cc_idx", "pairingyear_year_pairing"),
    "programmonthmetric": ("reports_pro_metric__3c6d6b_idx", "programmonthmetric_metric"),
}
MODELS = ("PairingMonth", "PairingMonthMetric", "PairingYear", "ProgramMonth", "ProgramMonthMetric")


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0003_rollups"),
    ]

    operations = [
        *(
            migrations.RenameIndex(model_name=model, new_name=new, old_name=old)
            for model, (old, new) in MOVED.items()
        ),
        *(migrations.AlterModelTable(name=model.lower(), table=f"figures_{model.lower()}") for model in MODELS),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name=model) for model in MODELS],
        ),
    ]
