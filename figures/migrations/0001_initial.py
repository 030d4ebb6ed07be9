"""The rollup tables, moved here from the reports app (reports/migrations/0004 renamed them in place): this
migration only tells Django's state that they belong to figures now; the database is not touched."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('activities', '0004_list_indexes'),
        ('pairings', '0002_initial'),
        ('reports', '0004_rollups_to_figures'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='PairingMonth',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('activities', models.PositiveIntegerField(verbose_name='activities')),
                        ('confirmed', models.PositiveIntegerField(verbose_name='of which confirmed')),
                        ('residents_served', models.PositiveIntegerField(verbose_name='residents served (人次)')),
                        ('party_members', models.PositiveIntegerField(verbose_name='party members taking part')),
                        ('teachers', models.PositiveIntegerField(verbose_name='teachers taking part')),
                        ('students', models.PositiveIntegerField(verbose_name='students taking part')),
                        ('verified_hours', models.DecimalField(decimal_places=1, max_digits=12, verbose_name='verified volunteer hours')),
                        ('last_activity_on', models.DateField(verbose_name='last activity')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                        ('month', models.DateField(help_text='The first day of the month.', verbose_name='month')),
                        ('pairing', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='month_rollups', to='pairings.pairing', verbose_name='pairing')),
                    ],
                    options={
                        'verbose_name': 'pairing month',
                        'verbose_name_plural': 'pairing months',
                        'ordering': ['pairing', 'month'],
                        'indexes': [models.Index(fields=['month'], name='pairingmonth_month')],
                        'constraints': [models.UniqueConstraint(fields=('pairing', 'month'), name='pairingmonth_unique_month'), models.CheckConstraint(condition=models.Q(('activities__gte', 1)), name='pairingmonth_has_activities'), models.CheckConstraint(condition=models.Q(('confirmed__lte', models.F('activities'))), name='pairingmonth_confirmed_within'), models.CheckConstraint(condition=models.Q(('verified_hours__gte', 0)), name='pairingmonth_hours_not_negative'), models.CheckConstraint(condition=models.Q(('last_activity_on__gte', models.F('month'))), name='pairingmonth_last_activity_in_month')],
                    },
                ),
                migrations.CreateModel(
                    name='PairingMonthMetric',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('month', models.DateField(help_text='The first day of the month.', verbose_name='month')),
                        ('total', models.DecimalField(decimal_places=2, max_digits=18, verbose_name='total')),
                        ('latest_value', models.DecimalField(decimal_places=2, max_digits=14, verbose_name='latest value')),
                        ('latest_on', models.DateField(verbose_name='date of the latest value')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                        ('latest_activity', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='activities.activity', verbose_name='activity of the latest value')),
                        ('metric', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='month_rollups', to='pairings.metric', verbose_name='metric')),
                        ('pairing', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='metric_month_rollups', to='pairings.pairing', verbose_name='pairing')),
                    ],
                    options={
                        'verbose_name': 'pairing month metric',
                        'verbose_name_plural': 'pairing month metrics',
                        'ordering': ['pairing', 'metric', 'month'],
                        'indexes': [models.Index(fields=['month', 'metric'], name='pairingmonthmetric_month')],
                        'constraints': [models.UniqueConstraint(fields=('pairing', 'metric', 'month'), name='pairingmonthmetric_unique'), models.CheckConstraint(condition=models.Q(('total__gte', 0)), name='pairingmonthmetric_total_not_negative'), models.CheckConstraint(condition=models.Q(('latest_value__gte', 0)), name='pairingmonthmetric_latest_not_negative'), models.CheckConstraint(condition=models.Q(('latest_on__gte', models.F('month'))), name='pairingmonthmetric_latest_in_month')],
                    },
                ),
                migrations.CreateModel(
                    name='PairingYear',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('activities', models.PositiveIntegerField(verbose_name='activities')),
                        ('confirmed', models.PositiveIntegerField(verbose_name='of which confirmed')),
                        ('residents_served', models.PositiveIntegerField(verbose_name='residents served (人次)')),
                        ('party_members', models.PositiveIntegerField(verbose_name='party members taking part')),
                        ('teachers', models.PositiveIntegerField(verbose_name='teachers taking part')),
                        ('students', models.PositiveIntegerField(verbose_name='students taking part')),
                        ('verified_hours', models.DecimalField(decimal_places=1, max_digits=12, verbose_name='verified volunteer hours')),
                        ('last_activity_on', models.DateField(verbose_name='last activity')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                        ('year', models.PositiveSmallIntegerField(verbose_name='year')),
                        ('pairing', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='year_rollups', to='pairings.pairing', verbose_name='pairing')),
                    ],
                    options={
                        'verbose_name': 'pairing year',
                        'verbose_name_plural': 'pairing years',
                        'ordering': ['pairing', 'year'],
                        'indexes': [models.Index(fields=['year', 'pairing'], name='pairingyear_year_pairing')],
                        'constraints': [models.UniqueConstraint(fields=('pairing', 'year'), name='pairingyear_unique_year'), models.CheckConstraint(condition=models.Q(('activities__gte', 1)), name='pairingyear_has_activities'), models.CheckConstraint(condition=models.Q(('confirmed__lte', models.F('activities'))), name='pairingyear_confirmed_within'), models.CheckConstraint(condition=models.Q(('verified_hours__gte', 0)), name='pairingyear_hours_not_negative')],
                    },
                ),
                migrations.CreateModel(
                    name='ProgramMonth',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('month', models.DateField(help_text='The first day of the month.', verbose_name='month')),
                        ('pairings', models.PositiveIntegerField(verbose_name='pairings with activities')),
                        ('activities', models.PositiveIntegerField(verbose_name='activities')),
                        ('confirmed', models.PositiveIntegerField(verbose_name='of which confirmed')),
                        ('residents_served', models.PositiveBigIntegerField(verbose_name='residents served (人次)')),
                        ('party_members', models.PositiveBigIntegerField(verbose_name='party members taking part')),
                        ('teachers', models.PositiveBigIntegerField(verbose_name='teachers taking part')),
                        ('students', models.PositiveBigIntegerField(verbose_name='students taking part')),
                        ('verified_hours', models.DecimalField(decimal_places=1, max_digits=14, verbose_name='verified volunteer hours')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                        ('program', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='month_rollups', to='pairings.program', verbose_name='program')),
                    ],
                    options={
                        'verbose_name': 'program month',
                        'verbose_name_plural': 'program months',
                        'ordering': ['program', 'month'],
                        'constraints': [models.UniqueConstraint(fields=('program', 'month'), name='programmonth_unique_month'), models.CheckConstraint(condition=models.Q(('pairings__gte', 1)), name='programmonth_has_pairings'), models.CheckConstraint(condition=models.Q(('activities__gte', models.F('pairings'))), name='programmonth_activities_cover_pairings'), models.CheckConstraint(condition=models.Q(('confirmed__lte', models.F('activities'))), name='programmonth_confirmed_within'), models.CheckConstraint(condition=models.Q(('verified_hours__gte', 0)), name='programmonth_hours_not_negative')],
                    },
                ),
                migrations.CreateModel(
                    name='ProgramMonthMetric',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('month', models.DateField(help_text='The first day of the month.', verbose_name='month')),
                        ('total', models.DecimalField(decimal_places=2, max_digits=20, verbose_name='total')),
                        ('pairings', models.PositiveIntegerField(verbose_name='pairings reporting it')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                        ('metric', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='program_month_rollups', to='pairings.metric', verbose_name='metric')),
                        ('program', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='metric_month_rollups', to='pairings.program', verbose_name='program')),
                    ],
                    options={
                        'verbose_name': 'program month metric',
                        'verbose_name_plural': 'program month metrics',
                        'ordering': ['program', 'metric', 'month'],
                        'indexes': [models.Index(fields=['metric', 'month'], name='programmonthmetric_metric')],
                        'constraints': [models.UniqueConstraint(fields=('program', 'metric', 'month'), name='programmonthmetric_unique'), models.CheckConstraint(condition=models.Q(('total__gte', 0)), name='programmonthmetric_total_not_negative'), models.CheckConstraint(condition=models.Q(('pairings__gte', 1)), name='programmonthmetric_has_pairings')],
                    },
                ),
            ],
        ),
    ]
