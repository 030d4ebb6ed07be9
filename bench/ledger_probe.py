"""The ledger import probe: 10,000 activities from a GB18030 CSV, previewed then saved (as the Celery tasks run
them), with rows per second and peak memory. Runs alone (`make bench-import`, or
`.venv/bin/python -m bench.ledger_probe --rows 10000 [--database-url postgres://…/db]`); it makes its own small
world in a fresh database (a temporary SQLite file unless --database-url names an empty PostgreSQL database).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import os
import resource
import sys
import tempfile
import time


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures (bench.run)")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="ledger-probe-")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{folder}/probe.sqlite3"
    os.environ["MEDIA_ROOT"] = f"{folder}/media"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DEBUG", "0")  # as in production: DEBUG keeps every query's SQL (bulk inserts are long)
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.utils import translation

    call_command("migrate", verbosity=0)
    translation.activate("zh-hans")
    from activities.models import Activity, ActivityType
    from pairings.models import Metric, Pairing, PairingBranch, Program
    from portal.models import Membership, Organization, User
    from portal.services import import_batch_apply, import_batch_check, import_batch_create

    office = Organization.objects.create(name="项目办", kind="government")
    program = Program.objects.create(name="双联双助", code="slsz", office=office)
    school = Organization.objects.create(name="中山中专", kind="school")
    branches = [Organization.objects.create(name=f"第{i}党支部", kind="branch", parent=school) for i in range(1, 4)]
    village = Organization.objects.create(name="龙石村", kind="village")
    pairing = Pairing.objects.create(program=program, supporter=school, supported=village, term_start=datetime.date(2020, 1, 1))
    for branch in branches:
        PairingBranch.objects.create(pairing=pairing, branch=branch)
    ActivityType.objects.create(code="volunteer-service", name="志愿服务")
    Metric.objects.create(program=program, code="repairs", name="家电维修", unit="件", aggregation="sum")
    admin = User.objects.create(username="office")
    Membership.objects.create(user=admin, organization=office, role="admin")

    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(["日期", "结对", "党支部", "类型", "标题", "地点", "状态", "参与党员", "服务群众（人次）", "家电维修(件)", "说明"])
    start = datetime.date(2021, 1, 1)
    for i in range(args.rows):
        day = start + datetime.timedelta(days=i % 1400)
        writer.writerow([f"{day.year}年{day.month}月{day.day}日", "龙石村", branches[i % 3].name, "志愿服务",
                         f"家电义修第{i}次", "村委会", "已确认", 5, 20, 3, "修好电饭煲、𠮷"])
    data = out.getvalue().encode("gb18030")
    print(f"file: {args.rows} rows, {len(data) / 1024 / 1024:.1f} MB GB18030; database {os.environ['DATABASE_URL'].split(':')[0]}")
    base = peak_mb()
    t0 = time.perf_counter()
    batch, table = import_batch_create(user=admin, kind="activities", program_id=program.pk,
                                       upload=SimpleUploadedFile("ledger.csv", data))
    batch = import_batch_check(batch=batch, table=table)
    t1 = time.perf_counter()
    preview_peak = peak_mb()
    assert batch.new_rows == args.rows, (batch.new_rows, batch.error_rows, list(batch.rows.exclude(errors=[])[:3].values("errors")))
    import_batch_apply(batch=batch, user=admin)
    t2 = time.perf_counter()
    assert Activity.objects.count() == args.rows
    print(f"preview: {t1 - t0:.1f} s, {args.rows / (t1 - t0):.0f} rows/s")
    print(f"apply:   {t2 - t1:.1f} s, {args.rows / (t2 - t1):.0f} rows/s")
    print(f"peak RSS: {preview_peak:.0f} MB after preview, {peak_mb():.0f} MB after apply (baseline {base:.0f} MB)")
    if args.json:
        import json

        print(json.dumps({
            "rows": args.rows, "file_mb": round(len(data) / 1024 / 1024, 2),
            "preview_rows_per_s": round(args.rows / (t1 - t0)), "apply_rows_per_s": round(args.rows / (t2 - t1)),
            "baseline_mb": round(base), "preview_peak_mb": round(preview_peak), "apply_peak_mb": round(peak_mb()),
        }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
