"""The report pages: who gets what, what each POST does, downloads, the board, exports, notifications."""

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import docx
import openpyxl
import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from reports import exports, services
from reports import generation
from reports.charts import report_charts
from reports.models import AnnualExport, Notification, Report
from tests import factories as f

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def draft(records):
    report, _ = generation.report_generate(kind="quarterly", period="2024Q1", program=records["program"], pairing=records["pairing"])
    return report


@pytest.fixture
def published(records, draft):
    report, _ = services.report_publish(report=draft, actor=records["users"]["admin"])
    return report


def login(client, records, role):
    client.force_login(records["users"][role])
    return client


@pytest.mark.parametrize(
    "role, draft_status, published_status",
    [
        ("outsider", 404, 404),
        ("village", 404, 200),
        ("other_secretary", 404, 200),
        ("secretary", 404, 200),
        ("committee", 404, 200),
        ("admin", 200, 200),
        ("superuser", 200, 200),
    ],
)
def test_who_reads_a_report(client, records, draft, role, draft_status, published_status):
    login(client, records, role)
    url = reverse("reports:report_detail", args=[draft.pk])
    assert client.get(url).status_code == draft_status
    assert client.get(reverse("reports:report_download", args=[draft.pk, "csv"])).status_code == draft_status
    services.report_publish(report=draft, actor=records["users"]["admin"])
    assert client.get(url).status_code == published_status


def test_anonymous_goes_to_sign_in(client, draft):
    response = client.get(reverse("reports:report_detail", args=[draft.pk]))
    assert response.status_code == 302 and reverse("account_login") in response["Location"]


def test_detail_page_for_the_admin(client, records, draft):
    login(client, records, "admin")
    response = client.get(reverse("reports:report_detail", args=[draft.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "一季一调度" in body and "本季度工作概况" in body and "调度意见" in body
    assert 'action="%s"' % reverse("reports:report_publish", args=[draft.pk]) in body
    assert 'name="notes"' in body
    assert "style=" not in body and "<script>" not in body
    assert body.count("<svg") == 3
    assert f"/reports/{draft.pk}/photos/{records['photo'].pk}/" in body
    assert f"/photos/{records['minors_photo'].pk}/" not in body


def test_charts(draft, records):
    charts = report_charts(draft.data)
    assert "1月" in charts["activities"] and "维修家电" in charts["metrics"] and "第三党支部" in charts["hours"]


def test_report_page_query_count_does_not_grow(client, records, django_assert_max_num_queries):
    """The page renders frozen data: its queries do not depend on how many activities the report holds."""
    from tests.reports.test_builders import grow

    february, _ = generation.report_generate(kind="monthly", period="2024-02", program=records["program"])
    grow(records, 15)
    march, _ = generation.report_generate(kind="monthly", period="2024-03", program=records["program"])
    assert (february.data["activities"]["total"], march.data["activities"]["total"]) == (1, 18)
    login(client, records, "admin")
    with django_assert_max_num_queries(12) as small:
        client.get(reverse("reports:report_detail", args=[february.pk]))
    with django_assert_max_num_queries(len(small)):
        response = client.get(reverse("reports:report_detail", args=[march.pk]))
    assert response.status_code == 200


def test_readers_see_no_admin_controls(client, records, published):
    login(client, records, "village")
    body = client.get(reverse("reports:report_detail", args=[published.pk])).content.decode()
    assert reverse("reports:report_publish", args=[published.pk]) not in body
    assert 'name="notes"' not in body


@pytest.mark.parametrize("fmt, content_type", [("docx", "wordprocessingml"), ("xlsx", "spreadsheetml"), ("csv", "text/csv")])
def test_downloads(client, records, published, fmt, content_type):
    login(client, records, "village")
    response = client.get(reverse("reports:report_download", args=[published.pk, fmt]))
    assert response.status_code == 200
    assert content_type in response["Content-Type"]
    assert f'filename="slsz-quarterly-2024Q1-pairing{records["pairing"].pk}-v1.{fmt}"' in response["Content-Disposition"]
    assert response["Cache-Control"] == "private, no-store"  # village offices share PCs


def test_unknown_format_is_404(client, records, published):
    login(client, records, "admin")
    assert client.get(reverse("reports:report_download", args=[published.pk, "pdf"])).status_code == 404


def test_photo_of_a_report(client, records, published):
    login(client, records, "village")
    ok = client.get(reverse("reports:report_photo", args=[published.pk, records["photo"].pk]))
    assert ok.status_code == 200 and ok["Content-Type"] == "image/jpeg"
    b"".join(ok.streaming_content)
    assert client.get(reverse("reports:report_photo", args=[published.pk, records["minors_photo"].pk])).status_code == 404
    other = f.ActivityPhotoFactory(activity=records["activities"]["a1"])
    assert client.get(reverse("reports:report_photo", args=[published.pk, other.pk])).status_code == 404  # not in the report
    login(client, records, "outsider")
    assert client.get(reverse("reports:report_photo", args=[published.pk, records["photo"].pk])).status_code == 404


def test_notes_then_publish(client, records, draft, django_capture_on_commit_callbacks):
    login(client, records, "admin")
    response = client.post(reverse("reports:report_notes", args=[draft.pk]), {"notes": "请第五党支部下月补录。"})
    assert response.status_code == 302
    assert Report.objects.get(pk=draft.pk).notes == "请第五党支部下月补录。"
    too_long = client.post(reverse("reports:report_notes", args=[draft.pk]), {"notes": "字" * 5001})
    assert too_long.status_code == 400 and 'id="id_notes_error"' in too_long.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:report_publish", args=[draft.pk]), follow=True)
    assert response.status_code == 200
    report = Report.objects.get(pk=draft.pk)
    assert report.status == "published"
    assert "请第五党支部下月补录。" in response.content.decode()
    assert mail.outbox == []  # mailed in the next daily digest (tests/reports/test_channels.py)
    # frozen now
    client.post(reverse("reports:report_notes", args=[draft.pk]), {"notes": "changed"})
    assert Report.objects.get(pk=draft.pk).notes == "请第五党支部下月补录。"


@pytest.mark.parametrize("role, status", [("outsider", 404), ("village", 403), ("secretary", 403), ("committee", 403)])
def test_writes_are_refused(client, records, published, role, status):
    login(client, records, role)
    for name in ("report_notes", "report_publish", "report_regenerate"):
        assert client.post(reverse(f"reports:{name}", args=[published.pk]), {"notes": "x"}).status_code == status
    assert Report.objects.count() == 1


def test_get_on_actions_is_405_after_the_scope_check(client, records, draft):
    login(client, records, "village")
    assert client.get(reverse("reports:report_publish", args=[draft.pk])).status_code == 404
    login(client, records, "admin")
    assert client.get(reverse("reports:report_publish", args=[draft.pk])).status_code == 405


def test_regenerate_a_published_report(client, records, published):
    login(client, records, "admin")
    response = client.post(reverse("reports:report_regenerate", args=[published.pk]))
    v2 = Report.objects.get(version=2)
    assert response.status_code == 302 and response["Location"] == reverse("reports:report_detail", args=[v2.pk])
    body = client.get(reverse("reports:report_detail", args=[v2.pk])).content.decode()
    assert reverse("reports:report_detail", args=[published.pk]) in body  # the versions bar links v1
    assert client.get(reverse("reports:report_download", args=[published.pk, "docx"])).status_code == 200


def test_generate_page(client, records, django_capture_on_commit_callbacks):
    login(client, records, "admin")
    assert client.get(reverse("reports:generate")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:generate"), {"kind": "monthly", "period": "2024-03", "program": records["program"].pk})
    assert response.status_code == 302
    assert Report.objects.filter(kind="monthly", period="2024-03", program=records["program"]).count() == 2
    bad = client.post(reverse("reports:generate"), {"kind": "monthly", "period": "2024Q1", "program": records["program"].pk})
    assert bad.status_code == 400 and "2024-03" in bad.content.decode()
    foreign = client.post(reverse("reports:generate"), {"kind": "monthly", "period": "2024-03", "program": records["other_program"].pk})
    assert foreign.status_code == 400
    login(client, records, "committee")
    assert client.get(reverse("reports:generate")).status_code == 403


def test_report_list_shows_only_visible_reports(client, records, published, django_assert_max_num_queries):
    generation.report_generate(kind="monthly", period="2024-03", program=records["program"])  # program draft
    login(client, records, "village")
    response = client.get(reverse("reports:report_list"))
    assert reverse("reports:report_detail", args=[published.pk]) in response.content.decode()
    assert list(response.context["object_list"]) == [published]
    login(client, records, "admin")
    for i in range(1, 10):
        generation.report_generate(kind="monthly", period=f"2024-0{i}", program=records["program"], pairing=records["pairing"])
    with django_assert_max_num_queries(12):
        response = client.get(reverse("reports:report_list"), {"kind": "monthly"})
    assert response.status_code == 200
    assert len(response.context["object_list"]) == 10  # the program draft and nine pairing drafts


def test_completeness_board(client, records):
    login(client, records, "committee")
    response = client.get(reverse("dashboards:completeness"), {"program": records["program"].pk, "year": 2024})
    assert response.status_code == 200
    rows = {row["branch"]["name"]: row for row in response.context["rows"]}
    assert set(rows) == {"第三党支部", "第四党支部", "第五党支部"}
    march = {name: row["cells"][2]["css"] for name, row in rows.items()}
    # 第三: a1 confirmed (a2 submitted); 第四: co-host of a1 and host of a3; 第五: nothing
    assert march == {"第三党支部": "confirmed", "第四党支部": "confirmed", "第五党支部": "none"}
    assert rows["第三党支部"]["cells"][1]["css"] == "confirmed"  # a0 in February
    assert rows["第四党支部"]["cells"][1]["css"] == "none"
    body = response.content.decode()
    assert "style=" not in body
    login(client, records, "secretary")
    assert client.get(reverse("dashboards:completeness")).status_code == 403
    login(client, records, "village")
    assert client.get(reverse("dashboards:completeness")).status_code == 403
    login(client, records, "admin")
    assert client.get(reverse("dashboards:completeness"), {"program": records["other_program"].pk, "year": 2024}).status_code == 400


def test_board_submitted_only_and_query_count(client, records, django_assert_max_num_queries):
    from tests.reports.conftest import activity

    activity(records["pairing"], records["third_branch"], "2024-05-02", status="submitted")
    login(client, records, "admin")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("dashboards:completeness"), {"program": records["program"].pk, "year": 2024})
    rows = {row["branch"]["name"]: row for row in response.context["rows"]}
    assert rows["第五党支部"]["cells"][4]["css"] == "submitted"
    for i in range(20):
        activity(records["pairing"], records["branch"], f"2024-06-{i + 1:02d}")
    with django_assert_max_num_queries(12):
        client.get(reverse("dashboards:completeness"), {"program": records["program"].pk, "year": 2024})


def test_annual_export(client, records, django_capture_on_commit_callbacks):
    login(client, records, "admin")
    assert client.get(reverse("reports:export_list")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:export_list"), {"program": records["program"].pk, "year": 2024})
    export = AnnualExport.objects.get()
    assert response["Location"] == reverse("reports:export_detail", args=[export.pk])
    assert (export.status, export.rows_total, export.rows_done) == ("done", 4, 4)
    detail = client.get(response["Location"])
    assert detail.status_code == 200 and 'http-equiv="refresh"' not in detail.content.decode()

    xlsx = client.get(reverse("reports:export_download", args=[export.pk, "xlsx"]))
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)), read_only=True)
    ledger = next(name for name in workbook.sheetnames if name.startswith("台账"))
    rows = list(workbook[ledger].iter_rows(values_only=True))
    assert rows[1][:2] == ("日期", "活动") and len(rows) == 2 + 4
    a1 = next(row for row in rows if row[1] == records["activities"]["a1"].title)
    assert a1[3] == "第四党支部" and a1[11] == 5.5  # co-host; verified hours 3.5 + 2
    content = b"".join(client.get(reverse("reports:export_download", args=[export.pk, "csv"])).streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")
    csv_rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert csv_rows[0][0] == "结对" and len(csv_rows) == 5
    assert {row[0] for row in csv_rows[1:]} == {str(records["pairing"])}
    doc = docx.Document(io.BytesIO(b"".join(client.get(reverse("reports:export_download", args=[export.pk, "docx"])).streaming_content)))
    assert "年度总结" in "\n".join(p.text for p in doc.paragraphs)

    login(client, records, "committee")
    assert client.get(reverse("reports:export_list")).status_code == 403
    assert client.get(reverse("reports:export_detail", args=[export.pk])).status_code == 404
    assert client.get(reverse("reports:export_download", args=[export.pk, "xlsx"])).status_code == 404

    files = [export.xlsx.path, export.csv.path, export.docx.path]
    assert all(os.path.exists(path) for path in files)
    with django_capture_on_commit_callbacks(execute=True):
        export.delete()
    assert not any(os.path.exists(path) for path in files)  # the files go with the row


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the CSV comes first by COPY, PostgreSQL's; elsewhere one pass writes every file")
def test_the_ledger_csv_can_be_downloaded_while_the_workbook_is_written(client, records, monkeypatch):
    """The CSV is stored as soon as the database has written it: while the summary and the workbook are still
    being made, the export page offers it and it downloads complete; the workbook does not download yet."""
    export = AnnualExport.objects.create(program=records["program"], year=2024)
    login(client, records, "admin")
    seen = {}
    build = exports.build_report_data

    def summary_next(*args, **kwargs):
        seen["export"] = AnnualExport.objects.get(pk=export.pk)
        seen["page"] = client.get(reverse("reports:export_detail", args=[export.pk])).content.decode()
        response = client.get(reverse("reports:export_download", args=[export.pk, "csv"]))
        seen["csv"] = b"".join(response.streaming_content)
        seen["xlsx"] = client.get(reverse("reports:export_download", args=[export.pk, "xlsx"])).status_code
        return build(*args, **kwargs)

    monkeypatch.setattr(exports, "build_report_data", summary_next)
    exports.export_run(export_id=export.pk)
    running = seen["export"]
    assert (running.status, running.rows_total, running.rows_done) == ("running", 4, 0)
    assert reverse("reports:export_download", args=[export.pk, "csv"]) in seen["page"]
    assert 'http-equiv="refresh"' in seen["page"]
    assert seen["xlsx"] == 404
    rows = list(csv.reader(io.StringIO(seen["csv"].decode("utf-8-sig"))))
    assert rows[0][0] == "结对" and len(rows) == 5
    export.refresh_from_db()
    assert export.status == "done" and export.csv.name == running.csv.name  # stored once
    with export.csv.open("rb") as stored:
        assert stored.read() == seen["csv"]


def test_export_in_progress_refreshes(client, records):
    export = AnnualExport.objects.create(program=records["program"], year=2024, status="running", rows_total=200, rows_done=50)
    login(client, records, "admin")
    body = client.get(reverse("reports:export_detail", args=[export.pk])).content.decode()
    assert 'http-equiv="refresh"' in body and "25%" in body
    assert client.get(reverse("reports:export_download", args=[export.pk, "xlsx"])).status_code == 404
    assert client.get(reverse("reports:export_download", args=[export.pk, "csv"])).status_code == 404  # none yet
    AnnualExport.objects.filter(pk=export.pk).update(rows_total=0, rows_done=0)  # its rows not yet counted
    body = client.get(reverse("reports:export_detail", args=[export.pk])).content.decode()
    assert "正在读取本年度的活动" in body and "0%" not in body


def test_notifications(client, records, published):
    mine = Notification.objects.get(user=records["users"]["village"])
    login(client, records, "secretary")
    assert client.get(reverse("reports:notification_open", args=[mine.pk])).status_code == 404
    login(client, records, "village")
    body = client.get(reverse("reports:notification_list")).content.decode()
    assert str(published) in body
    response = client.get(reverse("reports:notification_open", args=[mine.pk]))
    assert response["Location"] == reverse("reports:report_detail", args=[published.pk])
    mine.refresh_from_db()
    assert mine.read_at is not None


@pytest.mark.slow
def test_pages_answer_within_a_second_when_redis_is_down():
    """Runs tests/reports/broker_down_check.py in a fresh process whose broker is a closed port and a port
    that accepts connections but never answers (a hung Redis)."""
    import socket

    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(50)
    try:
        for broker in ("redis://127.0.0.1:9/0", f"redis://127.0.0.1:{hung.getsockname()[1]}/0"):
            env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DATABASE_TEST_NAME", "STRICT_SKIPS")}
            env.update(CELERY_BROKER_URL=broker, PYTHONPATH=str(BASE_DIR))
            result = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/reports/broker_down_check.py"],
                cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300,
            )
            assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
            assert "4 passed" in result.stdout
    finally:
        hung.close()
