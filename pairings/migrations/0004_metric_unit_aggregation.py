# The unit registry (pairings/units.py) as a database check on Metric.

from django.db import migrations, models


def relabel_summed_persons(apps, schema_editor):
    """A metric in 人 that was summed over activities has always counted person-times: say so (人次), its
    figures unchanged. A count (件, 人次, 场次, 株) kept as a latest value cannot be fixed without changing its
    figures, so the migration stops and names it; an admin decides (its unit or its aggregation) first."""
    Metric = apps.get_model("pairings", "Metric")
    Metric.objects.filter(unit="人", aggregation="sum").update(unit="人次")
    wrong = list(
        Metric.objects.filter(unit__in=["件", "人次", "场次", "株"], aggregation="snapshot").values_list(
            "program__code", "code", "unit"
        )
    )
    if wrong:
        named = ", ".join(f"{program}.{code} ({unit})" for program, code, unit in wrong)
        raise RuntimeError(
            f"These metrics count things per activity but are kept as a latest value: {named}. "
            "Give each a unit that may be a latest value, or make it add up (sum), then migrate again."
        )


class Migration(migrations.Migration):

    dependencies = [
        ('pairings', '0003_last_activity_on'),
    ]

    operations = [
        migrations.AlterField(
            model_name='historicalmetric',
            name='aggregation',
            field=models.CharField(choices=[('sum', 'sum over activities'), ('snapshot', 'latest value in the period')], default='sum', help_text='Items (件), person-times (人次), sessions (场次) and plants (株) add up over activities; persons (人) are a latest value, since persons counted per activity and added up are person-times; money and areas may be either.', max_length=8, verbose_name='aggregation'),
        ),
        migrations.AlterField(
            model_name='metric',
            name='aggregation',
            field=models.CharField(choices=[('sum', 'sum over activities'), ('snapshot', 'latest value in the period')], default='sum', help_text='Items (件), person-times (人次), sessions (场次) and plants (株) add up over activities; persons (人) are a latest value, since persons counted per activity and added up are person-times; money and areas may be either.', max_length=8, verbose_name='aggregation'),
        ),
        migrations.RunPython(relabel_summed_persons, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='metric',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('aggregation__in', ['snapshot']), ('unit__in', ['人'])), models.Q(('aggregation__in', ['snapshot', 'sum']), ('unit__in', ['万元', '亩', '元', '平方米'])), models.Q(('aggregation__in', ['sum']), ('unit__in', ['人次', '件', '场次', '株'])), _connector='OR'), name='metric_unit_aggregation', violation_error_message='This unit cannot add up that way (see the unit registry).'),
        ),
    ]
