# Village statistics: the indicators' registry and the reported values.

import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models

INDICATORS = [
    # code, name, unit, description
    ("per_capita_net_income", "人均纯收入", "元", "农村居民人均纯收入(可支配收入),按年度统计"),
    ("collective_income", "村集体经济收入", "万元", "村(社区)集体经济组织的年度经营性收入"),
    ("registered_population", "户籍人口", "人", "年末户籍人口"),
    ("arable_land", "耕地面积", "亩", "年末实有耕地面积"),
]


def seed_indicators(apps, schema_editor):
    """The registry's first indicators, each with its history row (as a save in the admin would write)."""
    VillageIndicator = apps.get_model("pairings", "VillageIndicator")
    History = apps.get_model("pairings", "HistoricalVillageIndicator")
    now = django.utils.timezone.now()
    for order, (code, name, unit, description) in enumerate(INDICATORS, start=1):
        indicator, created = VillageIndicator.objects.get_or_create(
            code=code, defaults={"name": name, "unit": unit, "description": description, "order": order}
        )
        if created:
            History.objects.create(
                id=indicator.id, code=code, name=name, unit=unit, description=description, order=order,
                is_active=indicator.is_active, history_date=now, history_type="+",
                history_change_reason="the registry's first indicators",
            )


class Migration(migrations.Migration):

    dependencies = [
        ('pairings', '0004_metric_unit_aggregation'),
        ('portal', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalVillageIndicator',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('code', models.SlugField(max_length=40, verbose_name='code')),
                ('name', models.CharField(db_index=True, max_length=60, verbose_name='name')),
                ('unit', models.CharField(choices=[('件', 'items (件)'), ('人次', 'person-times (人次)'), ('场次', 'sessions (场次)'), ('人', 'persons (人)'), ('万元', '10,000 yuan (万元)'), ('元', 'yuan (元)'), ('亩', 'mu (亩)'), ('平方米', 'square metres (平方米)'), ('株', 'plants (株)')], max_length=8, verbose_name='unit')),
                ('description', models.CharField(blank=True, max_length=200, verbose_name='description')),
                ('order', models.PositiveSmallIntegerField(default=0, verbose_name='order')),
                ('is_active', models.BooleanField(default=True, help_text='Only active indicators can be recorded.', verbose_name='active')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical village indicator',
                'verbose_name_plural': 'historical village indicators',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='HistoricalVillageStatistic',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('as_at', models.DateField(help_text='The day the value stands at, e.g. the last day of the year it reports.', verbose_name='as at')),
                ('value', models.DecimalField(decimal_places=2, max_digits=14, verbose_name='value')),
                ('source', models.CharField(help_text="Where the figure comes from, e.g. the village's annual statistics report.", max_length=200, verbose_name='source')),
                ('recorded_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='recorded at')),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
            ],
            options={
                'verbose_name': 'historical village statistic',
                'verbose_name_plural': 'historical village statistics',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='VillageIndicator',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('code', models.SlugField(max_length=40, unique=True, verbose_name='code')),
                ('name', models.CharField(max_length=60, unique=True, verbose_name='name')),
                ('unit', models.CharField(choices=[('件', 'items (件)'), ('人次', 'person-times (人次)'), ('场次', 'sessions (场次)'), ('人', 'persons (人)'), ('万元', '10,000 yuan (万元)'), ('元', 'yuan (元)'), ('亩', 'mu (亩)'), ('平方米', 'square metres (平方米)'), ('株', 'plants (株)')], max_length=8, verbose_name='unit')),
                ('description', models.CharField(blank=True, max_length=200, verbose_name='description')),
                ('order', models.PositiveSmallIntegerField(default=0, verbose_name='order')),
                ('is_active', models.BooleanField(default=True, help_text='Only active indicators can be recorded.', verbose_name='active')),
            ],
            options={
                'verbose_name': 'village indicator',
                'verbose_name_plural': 'village indicators',
                'ordering': ['order', 'id'],
            },
        ),
        migrations.CreateModel(
            name='VillageStatistic',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('as_at', models.DateField(help_text='The day the value stands at, e.g. the last day of the year it reports.', verbose_name='as at')),
                ('value', models.DecimalField(decimal_places=2, max_digits=14, verbose_name='value')),
                ('source', models.CharField(help_text="Where the figure comes from, e.g. the village's annual statistics report.", max_length=200, verbose_name='source')),
                ('recorded_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='recorded at')),
            ],
            options={
                'verbose_name': 'village statistic',
                'verbose_name_plural': 'village statistics',
                'ordering': ['village', 'indicator__order', 'indicator_id', '-as_at'],
            },
        ),
        migrations.AddField(
            model_name='historicalvillageindicator',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalvillagestatistic',
            name='history_user',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='historicalvillagestatistic',
            name='recorded_by',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='recorded by'),
        ),
        migrations.AddField(
            model_name='historicalvillagestatistic',
            name='village',
            field=models.ForeignKey(blank=True, db_constraint=False, limit_choices_to={'kind__in': ('village', 'community', 'subdistrict', 'town')}, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='portal.organization', verbose_name='village or community'),
        ),
        migrations.AddField(
            model_name='historicalvillagestatistic',
            name='indicator',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='pairings.villageindicator', verbose_name='indicator'),
        ),
        migrations.AddField(
            model_name='villagestatistic',
            name='indicator',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='statistics', to='pairings.villageindicator', verbose_name='indicator'),
        ),
        migrations.AddField(
            model_name='villagestatistic',
            name='recorded_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='recorded by'),
        ),
        migrations.AddField(
            model_name='villagestatistic',
            name='village',
            field=models.ForeignKey(limit_choices_to={'kind__in': ('village', 'community', 'subdistrict', 'town')}, on_delete=django.db.models.deletion.PROTECT, related_name='village_statistics', to='portal.organization', verbose_name='village or community'),
        ),
        migrations.AddConstraint(
            model_name='villagestatistic',
            constraint=models.UniqueConstraint(fields=('village', 'indicator', 'as_at'), name='villagestatistic_unique_day'),
        ),
        migrations.AddConstraint(
            model_name='villagestatistic',
            constraint=models.CheckConstraint(condition=models.Q(('value__gte', 0)), name='villagestatistic_value_not_negative', violation_error_message='A statistic cannot be negative.'),
        ),
        migrations.RunPython(seed_indicators, migrations.RunPython.noop),
    ]
