"""Every URL pattern of the project × every role, with the status each must get.

A URL pattern missing from the matrix fails `test_every_url_is_in_the_matrix`, so a new page cannot ship
without its row. Expected values: a status code, or LOGIN (a redirect to the sign-in page).
"""

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests import factories as f

LOGIN = "login"
ROLES = ["anonymous", "outsider", "village", "other_secretary", "secretary", "committee", "admin", "superuser"]


def row(anonymous, outsider, village, other_secretary, secretary, committee, admin_, superuser):
    return dict(zip(ROLES, [anonymous, outsider, village, other_secretary, secretary, committee, admin_, superuser]))


def every(status, anonymous=LOGIN):
    return row(anonymous, *([status] * 7))


def certificate(o):
    """A service certificate of the branch's volunteer (issued once, looked up afterwards)."""
    from volunteers.models import Certificate

    volunteer = o["branch"].volunteers.get()
    return Certificate.objects.get_or_create(
        volunteer=volunteer,
        number="ZYFW-2024-000001",
        defaults=dict(
            year=2024, serial=1, period_start="2024-01-01", period_end="2024-12-31", total_hours=2,
            lines=[{"date": "2024-03-15", "content": "家电维修", "organiser": "第三党支部", "hours": "2.0"}],
            digest="matrix", issuer_name="学校第三党支部",
        ),
    )[0]


def matrix_activity():
    """The `objects` fixture's activity: a draft of `branch` in the world's pairing."""
    from activities.models import Activity

    return Activity.objects.order_by("pk").first()


def matrix_photo_upload(o):
    """A photo the branch's secretary uploaded for a form and has not attached yet."""
    from activities.models import PhotoUpload

    return PhotoUpload.objects.get_or_create(
        token_hash=PhotoUpload.hash_token("matrix"),
        defaults=dict(owner=o["users"]["secretary"], image="photos/held.jpg", thumbnail="photos/thumbs/held.jpg"),
    )[0]


def matrix_need():
    """The `objects` fixture's need: open, raised in the world's pairing."""
    from activities.models import Need

    return Need.objects.order_by("pk").first()


def matrix_report(o):
    """A published monthly report (2024-03) of the world's pairing: its readers open it, the admin edits."""
    from reports import services
    from reports import generation

    report, _ = generation.report_generate(kind="monthly", period="2024-03", program=o["program"], pairing=o["pairing"])
    if report.status == "draft":
        report, _ = services.report_publish(report=report, actor=o["users"]["admin"])
    return report


def matrix_export(o):
    """An annual export of the program, still queued (so there is nothing to download yet)."""
    from reports.models import AnnualExport

    return AnnualExport.objects.get_or_create(program=o["program"], year=2024)[0]


def matrix_notification(o):
    """The village user's notification of the published report."""
    from reports.models import Notification

    return Notification.objects.get_or_create(report=matrix_report(o), user=o["users"]["village"], defaults={"message": "已发布"})[0]


def matrix_meeting():
    """The `objects` fixture's joint meeting of the world's pairing."""
    from activities.models import Meeting

    return Meeting.objects.order_by("pk").first()


def matrix_action_item():
    """The `objects` fixture's decision: open, owned by the village."""
    from activities.models import ActionItem

    return ActionItem.objects.order_by("pk").first()


def matrix_webhook(o):
    """A 企业微信 group robot of the world's pairing: its program's admins manage it, nobody else finds it."""
    from reports.models import Webhook

    return Webhook.objects.get_or_create(
        pairing=o["pairing"], name="龙石村结对工作群",
        defaults={"kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"},
    )[0]


def matrix_program_type(o):
    """An activity type of the world's program (its own, beside the shared ones)."""
    return f.ActivityTypeFactory(code="slsz-visit", name="入户走访", program=o["program"])


def matrix_import_batch(o):
    """A ledger import uploaded by the branch's secretary: only they (and a superuser) see it."""
    from portal.models import ImportBatch

    return ImportBatch.objects.get_or_create(
        file_name="台账.csv", defaults=dict(
            kind="activities", program_id=o["program"].pk, file="imports/matrix.csv", file_sha256="0" * 64,
            status=ImportBatch.Status.PREVIEW, created_by=o["users"]["secretary"],
        ),
    )[0]


IMPORTERS = row(LOGIN, 403, 403, 200, 200, 200, 200, 200)  # whoever imports some ledger (not a village)

# name -> (how to build the URL from the objects, expected per role)
PAGES = {
    "home": (lambda o: reverse("home"), every(200)),
    # ledger import (台账导入): the importers' pages; a batch is seen by whoever uploaded it (and a superuser);
    # confirm and undo take POST only.
    "imports:list": (lambda o: reverse("imports:list"), IMPORTERS),
    "imports:upload": (lambda o: reverse("imports:upload"), IMPORTERS),
    "imports:template": (lambda o: reverse("imports:template") + f"?kind=activities&program={o['program'].pk}", IMPORTERS),
    "imports:detail": (lambda o: reverse("imports:detail", args=[matrix_import_batch(o).pk]), row(LOGIN, 404, 404, 404, 200, 404, 200, 200)),
    "imports:progress": (lambda o: reverse("imports:progress", args=[matrix_import_batch(o).pk]), row(LOGIN, 404, 404, 404, 200, 404, 200, 200)),
    # the secretary's batch: the program admin reads it too (confirm and undo stay the uploader's: 403 on POST)
    "imports:confirm": (lambda o: reverse("imports:confirm", args=[matrix_import_batch(o).pk]), every(405)),
    "imports:undo": (lambda o: reverse("imports:undo", args=[matrix_import_batch(o).pk]), every(405)),
    # activities: the matrix's activity is a draft of `branch`: only the supporting side sees it (404 for the
    # village and the other branch); its secretary and the program admin edit it, the committee reads it.
    # Submit and confirm take POST only (GET: 405); returning it is the village's (a draft: 404 to the
    # village, 403 to the supporting side, and the superuser is sent to the detail page: 302). The fixture's
    # photo has no file on disk (404); tests/activities serve real ones.
    "activities:list": (lambda o: reverse("activities:list"), every(200)),
    "activities:export": (lambda o: reverse("activities:export"), every(200)),
    "activities:export_xlsx": (lambda o: reverse("activities:export_xlsx"), every(200)),
    "activities:create": (lambda o: reverse("activities:create"), row(LOGIN, 403, 403, 200, 200, 403, 403, 403)),
    "activities:detail": (lambda o: reverse("activities:detail", args=[matrix_activity().pk]), row(LOGIN, 404, 404, 404, 200, 200, 200, 200)),
    "activities:update": (lambda o: reverse("activities:update", args=[matrix_activity().pk]), row(LOGIN, 404, 404, 404, 200, 403, 200, 200)),
    "activities:submit": (lambda o: reverse("activities:submit", args=[matrix_activity().pk]), every(405)),
    "activities:confirm": (lambda o: reverse("activities:confirm", args=[matrix_activity().pk]), every(405)),
    "activities:return": (lambda o: reverse("activities:return", args=[matrix_activity().pk]), row(LOGIN, 404, 404, 404, 403, 403, 403, 302)),
    # deleting the draft: its branch's secretary (and a superuser); the confirm page is a GET. Restoring is a POST of
    # a program admin, from the list of deleted activities only program admins (and a superuser) open.
    "activities:delete": (lambda o: reverse("activities:delete", args=[matrix_activity().pk]), row(LOGIN, 404, 404, 404, 200, 403, 403, 200)),
    "activities:restore": (lambda o: reverse("activities:restore", args=[matrix_activity().pk]), every(405)),
    "activities:deleted_list": (lambda o: reverse("activities:deleted_list"), row(LOGIN, 403, 403, 403, 403, 403, 200, 200)),
    "activities:photo": (lambda o: reverse("activities:photo", args=[matrix_activity().photos.get().pk]), every(404)),
    "activities:photo_thumb": (lambda o: reverse("activities:photo_thumb", args=[matrix_activity().photos.get().pk]), every(404)),
    # photos uploaded on pick: the endpoint takes POST only (GET: 405; who may POST: tests/activities/
    # test_photo_upload.py); a held photo's thumbnail is its uploader's alone (the secretary's here, with no file on
    # disk: 404 for everyone; tests/activities/test_photo_upload.py serves a real one to its owner only).
    "activities:photo_upload": (lambda o: reverse("activities:photo_upload"), every(405)),
    "activities:photo_upload_thumb": (lambda o: reverse("activities:photo_upload_thumb", args=[matrix_photo_upload(o).pk]), every(404)),
    # needs (微心愿): read with the pairing; raised by a village committee (the outsider sits on 田心村's, so
    # may raise one there) or the program admin; claim, fulfil and rate take POST only (GET: 405).
    "activities:need_list": (lambda o: reverse("activities:need_list"), every(200)),
    "activities:need_export": (lambda o: reverse("activities:need_export"), every(200)),
    "activities:need_export_xlsx": (lambda o: reverse("activities:need_export_xlsx"), every(200)),
    "activities:need_create": (lambda o: reverse("activities:need_create"), row(LOGIN, 200, 200, 403, 403, 403, 200, 200)),
    "activities:need_detail": (lambda o: reverse("activities:need_detail", args=[matrix_need().pk]), row(LOGIN, 404, 200, 200, 200, 200, 200, 200)),
    "activities:need_claim": (lambda o: reverse("activities:need_claim", args=[matrix_need().pk]), every(405)),
    "activities:need_fulfil": (lambda o: reverse("activities:need_fulfil", args=[matrix_need().pk]), every(405)),
    "activities:need_rate": (lambda o: reverse("activities:need_rate", args=[matrix_need().pk]), every(405)),
    # joint meetings: read with the pairing; recorded and edited by either side's people who speak for it (the
    # village committee, the participating branches' secretaries, the school committee) and the program admin;
    # the outsider does not read the pairing (404). The fixture's file has nothing on disk (404); tests/meetings
    # serve real ones. A decision owned by the village is closed by the village and the program admin (the
    # branches read it: 403); reopening takes POST only.
    "activities:meeting_list": (lambda o: reverse("activities:meeting_list"), every(200)),
    "activities:meeting_create": (
        lambda o: reverse("activities:meeting_create") + f"?pairing={o['pairing'].pk}",
        row(LOGIN, 404, 200, 200, 200, 200, 200, 200),
    ),
    "activities:meeting_detail": (
        lambda o: reverse("activities:meeting_detail", args=[matrix_meeting().pk]), row(LOGIN, 404, 200, 200, 200, 200, 200, 200)
    ),
    "activities:meeting_update": (
        lambda o: reverse("activities:meeting_update", args=[matrix_meeting().pk]), row(LOGIN, 404, 200, 200, 200, 200, 200, 200)
    ),
    "activities:meeting_file": (lambda o: reverse("activities:meeting_file", args=[matrix_meeting().attachments.get().pk]), every(404)),
    "activities:meeting_file_thumb": (
        lambda o: reverse("activities:meeting_file_thumb", args=[matrix_meeting().attachments.get().pk]), every(404)
    ),
    "activities:action_item_list": (lambda o: reverse("activities:action_item_list"), every(200)),
    "activities:action_item_close": (
        lambda o: reverse("activities:action_item_close", args=[matrix_action_item().pk]),
        row(LOGIN, 404, 200, 403, 403, 403, 200, 200),
    ),
    "activities:action_item_reopen": (
        lambda o: reverse("activities:action_item_reopen", args=[matrix_action_item().pk]), every(405)
    ),
    "healthz": (lambda o: reverse("healthz"), every(200, anonymous=200)),
    # readyz: the test settings run Celery eagerly (no broker), so only the database is checked: 200 for all
    "readyz": (lambda o: reverse("readyz"), every(200, anonymous=200)),
    # metrics: the test client connects from 127.0.0.1, which METRICS_ALLOWED_IPS allows whoever is signed in; from
    # any other address every role gets 404 (tests/portal/test_observability.py)
    "metrics": (lambda o: reverse("metrics"), every(200, anonymous=200)),
    # the service worker holds nothing of anyone's: the same script for all
    "service_worker": (lambda o: reverse("service_worker"), every(200, anonymous=200)),
    "manifest": (lambda o: reverse("manifest"), every(200, anonymous=200)),
    "set_language": (lambda o: reverse("set_language"), every(302, anonymous=302)),
    # allauth: the entrance pages are for anonymous visitors; signed-in users are sent home
    "account_login": (lambda o: reverse("account_login"), every(302, anonymous=200)),
    "account_logout": (lambda o: reverse("account_logout"), every(200, anonymous=302)),
    "account_inactive": (lambda o: reverse("account_inactive"), every(200, anonymous=200)),
    "account_signup": (lambda o: reverse("account_signup"), every(302, anonymous=200)),
    "account_reauthenticate": (lambda o: reverse("account_reauthenticate"), every(200)),
    "account_email": (lambda o: reverse("account_email"), every(200)),
    "account_email_verification_sent": (lambda o: reverse("account_email_verification_sent"), every(200, anonymous=200)),
    "account_change_password": (lambda o: reverse("account_change_password"), every(200)),
    "account_set_password": (lambda o: reverse("account_set_password"), every(302)),
    "account_reset_password": (lambda o: reverse("account_reset_password"), every(200, anonymous=200)),
    "account_confirm_login_code": (lambda o: reverse("account_confirm_login_code"), every(302)),
    "account_confirm_email": (lambda o: reverse("account_confirm_email", args=["bogus-key"]), every(200, anonymous=200)),
    "account_reset_password_from_key_done": (
        lambda o: reverse("account_reset_password_from_key_done"),
        every(200, anonymous=200),
    ),
    "account_reset_password_from_key": (
        lambda o: reverse("account_reset_password_from_key", kwargs={"uidb36": "zz", "key": "bogus"}),
        every(200, anonymous=200),
    ),
    "account_reset_password_done": (lambda o: reverse("account_reset_password_done"), every(200, anonymous=200)),
    "mfa_index": (lambda o: reverse("mfa_index"), every(200)),
    "mfa_authenticate": (lambda o: reverse("mfa_authenticate"), every(302)),
    "mfa_reauthenticate": (lambda o: reverse("mfa_reauthenticate"), {**every(302), "secretary": 200}),
    "mfa_activate_totp": (lambda o: reverse("mfa_activate_totp"), every(302)),
    # pages about one's own authenticators: 404 without one (only `secretary` has recovery codes here),
    # and a fresh password prompt (302) before showing them
    "mfa_deactivate_totp": (lambda o: reverse("mfa_deactivate_totp"), every(404)),
    "mfa_view_recovery_codes": (lambda o: reverse("mfa_view_recovery_codes"), {**every(404), "secretary": 302}),
    "mfa_generate_recovery_codes": (lambda o: reverse("mfa_generate_recovery_codes"), every(302)),
    "mfa_download_recovery_codes": (
        lambda o: reverse("mfa_download_recovery_codes"),
        {**every(404), "secretary": 302},
    ),
    # pairings: read with the pairing; the agreement is the program admin's, plans the school committee's
    # (and the admin's), the village agrees to a plan. The fixture's pairing has no agreement file (404);
    # tests/pairings serve one.
    "pairings:pairing_list": (lambda o: reverse("pairings:pairing_list"), every(200)),
    # the pickers' endpoints answer everyone signed in, each with what that user reads (tests/test_pickers.py)
    "pairings:pairing_picker": (lambda o: reverse("pairings:pairing_picker") + "?q=村", every(200)),
    "pairings:branch_picker": (lambda o: reverse("pairings:branch_picker") + "?q=支部", every(200)),
    "pairings:school_picker": (lambda o: reverse("pairings:school_picker") + "?q=学", every(200)),
    "pairings:village_picker": (lambda o: reverse("pairings:village_picker") + "?q=村", every(200)),
    "pairings:pairing_export": (lambda o: reverse("pairings:pairing_export"), every(200)),
    "pairings:pairing_export_xlsx": (lambda o: reverse("pairings:pairing_export_xlsx"), every(200)),
    "pairings:pairing_detail": (
        lambda o: reverse("pairings:pairing_detail", args=[o["pairing"].pk]),
        row(LOGIN, 404, 200, 200, 200, 200, 200, 200),
    ),
    "pairings:agreement_file": (lambda o: reverse("pairings:agreement_file", args=[o["pairing"].pk]), every(404)),
    "pairings:agreement_edit": (
        lambda o: reverse("pairings:agreement_edit", args=[o["pairing"].pk]),
        row(LOGIN, 404, 403, 403, 403, 403, 200, 200),
    ),
    "pairings:plan_create": (
        lambda o: reverse("pairings:plan_create", args=[o["pairing"].pk]),
        row(LOGIN, 404, 403, 403, 403, 200, 200, 200),
    ),
    "pairings:plan_detail": (
        lambda o: reverse("pairings:plan_detail", args=[o["pairing"].plans.get().pk]),
        row(LOGIN, 404, 200, 200, 200, 200, 200, 200),
    ),
    "pairings:plan_edit": (
        lambda o: reverse("pairings:plan_edit", args=[o["pairing"].plans.get().pk]),
        row(LOGIN, 404, 403, 403, 403, 200, 200, 200),
    ),
    "pairings:plan_agree": (
        lambda o: reverse("pairings:plan_agree", args=[o["pairing"].plans.get().pk]),
        row(LOGIN, 404, 200, 403, 403, 403, 403, 200),
    ),
    "pairings:plan_item_create": (
        lambda o: reverse("pairings:plan_item_create", args=[o["pairing"].plans.get().pk]),
        row(LOGIN, 404, 403, 403, 403, 200, 200, 200),
    ),
    "pairings:plan_item_edit": (
        lambda o: reverse("pairings:plan_item_edit", args=[o["pairing"].plans.get().items.get().pk]),
        row(LOGIN, 404, 403, 403, 403, 200, 200, 200),
    ),
    "pairings:plan_item_delete": (
        lambda o: reverse("pairings:plan_item_delete", args=[o["pairing"].plans.get().items.get().pk]),
        row(LOGIN, 404, 403, 403, 403, 200, 200, 200),
    ),
    # a village's statistics: read by whoever reads a pairing of the village (the outsider sits on another
    # village: 404); recorded and deleted by its committee and the admins of the programs pairing it (else 403)
    "pairings:village_statistics": (
        lambda o: reverse("pairings:village_statistics", args=[o["village"].pk]),
        row(LOGIN, 404, 200, 200, 200, 200, 200, 200),
    ),
    "pairings:village_statistic_delete": (
        lambda o: reverse("pairings:village_statistic_delete", args=[o["village"].village_statistics.get().pk]),
        row(LOGIN, 404, 200, 403, 403, 403, 200, 200),
    ),
    # volunteers and teams belong to the branch: its people and those above it, and the program admin, read
    # them; the branch's managers issue certificates; hours are verified by POST only (GET: 405)
    "dashboards:volunteer_list": (lambda o: reverse("dashboards:volunteer_list"), every(200)),
    "dashboards:volunteer_picker": (lambda o: reverse("dashboards:volunteer_picker") + "?q=张", every(200)),
    "dashboards:volunteer_export": (lambda o: reverse("dashboards:volunteer_export"), every(200)),
    "dashboards:volunteer_export_xlsx": (lambda o: reverse("dashboards:volunteer_export_xlsx"), every(200)),
    "dashboards:volunteer_detail": (
        lambda o: reverse("dashboards:volunteer_detail", args=[o["branch"].volunteers.get().pk]),
        row(LOGIN, 404, 404, 404, 200, 200, 200, 200),
    ),
    "activities:hours_verify": (
        lambda o: reverse("activities:hours_verify", args=[matrix_activity().pk]),
        every(405),
    ),
    "activities:volunteer_verify": (
        lambda o: reverse("activities:volunteer_verify", args=[o["branch"].volunteers.get().pk]),
        every(405),
    ),
    "reports:certificate_issue": (
        lambda o: reverse("reports:certificate_issue", args=[o["branch"].volunteers.get().pk]),
        row(LOGIN, 404, 404, 404, 200, 200, 403, 200),
    ),
    "reports:certificate_download": (
        lambda o: reverse("reports:certificate_download", args=[certificate(o).pk]),
        row(LOGIN, 404, 404, 404, 200, 200, 200, 200),
    ),
    "dashboards:team_list": (lambda o: reverse("dashboards:team_list"), every(200)),
    "dashboards:team_detail": (
        lambda o: reverse("dashboards:team_detail", args=[o["branch"].teams.get().pk]),
        row(LOGIN, 404, 404, 404, 200, 200, 200, 200),
    ),
    "activities:team_verify": (
        lambda o: reverse("activities:team_verify", args=[o["branch"].teams.get().pk]),
        every(405),
    ),
    # reports: the published pairing report is read by everyone who reads the pairing and written by the program
    # admin only (notes, publish and regenerate take POST: GET answers 405 after the scope check). Program-wide
    # pages (generate, exports) are the admin's; the completeness board the admin's and the school committee's.
    # The report lists no photo (a monthly report has no highlights) and the export is not finished: 404.
    # A notification opens only for its own recipient (the village user), who is sent on to the report.
    "reports:report_list": (lambda o: reverse("reports:report_list"), every(200)),
    "reports:report_detail": (
        lambda o: reverse("reports:report_detail", args=[matrix_report(o).pk]),
        row(LOGIN, 404, 200, 200, 200, 200, 200, 200),
    ),
    "reports:report_download": (
        lambda o: reverse("reports:report_download", args=[matrix_report(o).pk, "docx"]),
        row(LOGIN, 404, 200, 200, 200, 200, 200, 200),
    ),
    "reports:report_photo": (lambda o: reverse("reports:report_photo", args=[matrix_report(o).pk, 1]), every(404)),
    "reports:report_notes": (
        lambda o: reverse("reports:report_notes", args=[matrix_report(o).pk]),
        row(LOGIN, 404, 403, 403, 403, 403, 405, 405),
    ),
    "reports:report_publish": (
        lambda o: reverse("reports:report_publish", args=[matrix_report(o).pk]),
        row(LOGIN, 404, 403, 403, 403, 403, 405, 405),
    ),
    "reports:report_regenerate": (
        lambda o: reverse("reports:report_regenerate", args=[matrix_report(o).pk]),
        row(LOGIN, 404, 403, 403, 403, 403, 405, 405),
    ),
    "reports:generate": (lambda o: reverse("reports:generate"), row(LOGIN, 403, 403, 403, 403, 403, 200, 200)),
    # the bulk publish's confirmation: program admins only; asked with nothing ticked it sends them back to the list
    "reports:reports_publish": (lambda o: reverse("reports:reports_publish"), row(LOGIN, 403, 403, 403, 403, 403, 302, 302)),
    # a program's publishing policy: its admins change it; who reads the program through a pairing: 403
    "pairings:program_publishing": (
        lambda o: reverse("pairings:program_publishing", args=[o["program"].pk]),
        row(LOGIN, 404, 403, 403, 403, 403, 200, 200),
    ),
    # set-up (issue 15): programs, their metrics and pairings are set up by the admins of the program's office;
    # whoever reads the program or pairing without administering it: 403; who does not read it: 404
    "pairings:program_setup_list": (lambda o: reverse("pairings:program_setup_list"), row(LOGIN, 403, 403, 403, 403, 403, 200, 200)),
    "pairings:program_create": (lambda o: reverse("pairings:program_create"), row(LOGIN, 403, 403, 403, 403, 403, 200, 200)),
    "pairings:program_update": (
        lambda o: reverse("pairings:program_update", args=[o["program"].pk]),
        row(LOGIN, 404, 403, 403, 403, 403, 200, 200),
    ),
    "pairings:metric_create": (
        lambda o: reverse("pairings:metric_create", args=[o["program"].pk]),
        row(LOGIN, 404, 403, 403, 403, 403, 200, 200),
    ),
    "pairings:metric_update": (
        lambda o: reverse("pairings:metric_update", args=[o["program"].metrics.first().pk]),
        row(LOGIN, 404, 403, 403, 403, 403, 200, 200),
    ),
    "pairings:pairing_create": (lambda o: reverse("pairings:pairing_create"), row(LOGIN, 403, 403, 403, 403, 403, 200, 200)),
    "pairings:pairing_setup": (
        lambda o: reverse("pairings:pairing_setup", args=[o["pairing"].pk]),
        row(LOGIN, 404, 403, 403, 403, 403, 200, 200),
    ),
    # the activity type catalog: program admins set up their programs' own types (a shared one: 403 to them, the
    # superusers'); everyone else signed in: 403
    "activities:activity_type_list": (lambda o: reverse("activities:activity_type_list") + f"?program={o['program'].pk}", row(LOGIN, 403, 403, 403, 403, 403, 200, 200)),
    "activities:activity_type_create": (lambda o: reverse("activities:activity_type_create") + f"?program={o['program'].pk}", row(LOGIN, 403, 403, 403, 403, 403, 200, 200)),
    "activities:activity_type_update": (
        lambda o: reverse("activities:activity_type_update", args=[matrix_program_type(o).pk]),
        row(LOGIN, 403, 403, 403, 403, 403, 200, 200),
    ),
    "dashboards:completeness": (lambda o: reverse("dashboards:completeness"), row(LOGIN, 403, 403, 403, 403, 200, 200, 200)),
    # the set-up landing page: for program admins and party committees (what each may set up is decided per page)
    "dashboards:setup": (lambda o: reverse("dashboards:setup"), row(LOGIN, 403, 403, 403, 403, 200, 200, 200)),
    # program dashboards: the program's admins (and superusers); for anyone else the program is not there (404)
    "dashboards:program_list": (lambda o: reverse("dashboards:program_list"), row(LOGIN, 403, 403, 403, 403, 403, 200, 200)),
    "dashboards:program_dashboard": (
        lambda o: reverse("dashboards:program_dashboard", args=[o["program"].pk]),
        row(LOGIN, 404, 404, 404, 404, 404, 200, 200),
    ),
    "reports:export_list": (lambda o: reverse("reports:export_list"), row(LOGIN, 403, 403, 403, 403, 403, 200, 200)),
    "reports:export_detail": (
        lambda o: reverse("reports:export_detail", args=[matrix_export(o).pk]),
        row(LOGIN, 404, 404, 404, 404, 404, 200, 200),
    ),
    "reports:export_download": (
        lambda o: reverse("reports:export_download", args=[matrix_export(o).pk, "xlsx"]),
        every(404),
    ),
    "reports:notification_list": (lambda o: reverse("reports:notification_list"), every(200)),
    "reports:notification_open": (
        lambda o: reverse("reports:notification_open", args=[matrix_notification(o).pk]),
        row(LOGIN, 404, 302, 404, 404, 404, 404, 404),
    ),
    # marking read takes POST (GET: 405 to the recipient, 404 to anyone else); the preferences are everyone's
    # own; group robots are the program admins' (the list and the form: 403 to others; a robot: 404 to others;
    # its switch and its test message take POST).
    "reports:notification_read": (
        lambda o: reverse("reports:notification_read", args=[matrix_notification(o).pk]),
        row(LOGIN, 404, 405, 404, 404, 404, 404, 404),
    ),
    "reports:notification_read_all": (lambda o: reverse("reports:notification_read_all"), every(405)),
    "reports:preferences": (lambda o: reverse("reports:preferences"), every(200)),
    "reports:webhook_list": (lambda o: reverse("reports:webhook_list"), row(LOGIN, 403, 403, 403, 403, 403, 200, 200)),
    "reports:webhook_create": (lambda o: reverse("reports:webhook_create"), row(LOGIN, 403, 403, 403, 403, 403, 200, 200)),
    "reports:webhook_update": (
        lambda o: reverse("reports:webhook_update", args=[matrix_webhook(o).pk]),
        row(LOGIN, 404, 404, 404, 404, 404, 200, 200),
    ),
    "reports:webhook_deactivate": (
        lambda o: reverse("reports:webhook_deactivate", args=[matrix_webhook(o).pk]),
        row(LOGIN, 404, 404, 404, 404, 404, 405, 405),
    ),
    "reports:webhook_test": (
        lambda o: reverse("reports:webhook_test", args=[matrix_webhook(o).pk]),
        row(LOGIN, 404, 404, 404, 404, 404, 405, 405),
    ),
    # set-up pages (portal/setup_urls.py): program admins reach their office, the roots it keeps and both sides
    # of their programs' pairings; a party committee its own subtree; nobody else sets anything up (lists: 403,
    # objects: 404). The branch and its secretary are in both the admin's and the committee's scope. Changes
    # take POST only (GET: 405). A join link with a wrong token is 404 for everyone.
    "setup:org_list": (lambda o: reverse("setup:org_list"), row(LOGIN, 403, 403, 403, 403, 200, 200, 200)),
    "setup:org_create": (lambda o: reverse("setup:org_create"), row(LOGIN, 403, 403, 403, 403, 200, 200, 200)),
    "setup:org_detail": (
        lambda o: reverse("setup:org_detail", args=[o["branch"].pk]), row(LOGIN, 404, 404, 404, 404, 200, 200, 200)
    ),
    "setup:org_update": (
        lambda o: reverse("setup:org_update", args=[o["branch"].pk]), row(LOGIN, 404, 404, 404, 404, 200, 200, 200)
    ),
    "setup:org_active": (lambda o: reverse("setup:org_active", args=[o["branch"].pk]), every(405)),
    "setup:person_list": (lambda o: reverse("setup:person_list"), row(LOGIN, 403, 403, 403, 403, 200, 200, 200)),
    "setup:org_picker": (lambda o: reverse("setup:org_picker") + "?q=支部", row(LOGIN, 403, 403, 403, 403, 200, 200, 200)),
    "setup:person_detail": (
        lambda o: reverse("setup:person_detail", args=[o["users"]["secretary"].pk]),
        row(LOGIN, 404, 404, 404, 404, 200, 200, 200),
    ),
    "setup:person_active": (lambda o: reverse("setup:person_active", args=[o["users"]["secretary"].pk]), every(405)),
    "setup:invite_reissue": (lambda o: reverse("setup:invite_reissue", args=[o["users"]["secretary"].pk]), every(405)),
    "setup:membership_add": (
        lambda o: reverse("setup:membership_add", args=[o["users"]["secretary"].pk]),
        row(LOGIN, 404, 404, 404, 404, 200, 200, 200),
    ),
    "setup:membership_remove": (
        lambda o: reverse("setup:membership_remove", args=[o["users"]["secretary"].memberships.get().pk]), every(405)
    ),
    "setup:invite": (lambda o: reverse("setup:invite"), row(LOGIN, 403, 403, 403, 403, 200, 200, 200)),
    "setup:invite_accept": (lambda o: reverse("setup:invite_accept", args=["no-such-token"]), every(404, anonymous=404)),
}

# The Django admin: staff only. Everyone else is sent to the admin's login, which is allauth's.
ADMIN_DEFAULT = row(302, 302, 302, 302, 302, 302, 302, 200)
ADMIN_EXCEPTIONS = {
    "admin:logout": row(302, 302, 302, 302, 302, 302, 302, 405),  # POST only
    "admin:login": row(LOGIN, 403, 403, 403, 403, 403, 403, 302),
    "admin:view_on_site": row(302, 302, 302, 302, 302, 302, 302, 404),
    "admin:autocomplete": row(302, 302, 302, 302, 302, 302, 302, 403),  # needs a field to complete
    # photos are uploaded through the activity form, which cleans them; the admin may not add raw files
    "admin:activities_activityphoto_add": row(302, 302, 302, 302, 302, 302, 302, 403),
    # a meeting's files too: through the meeting form, which checks them
    "admin:activities_meetingattachment_add": row(302, 302, 302, 302, 302, 302, 302, 403),
    # the outbox is read only: messages are made by events, never by hand, and kept as the record of what was sent
    "admin:reports_delivery_add": row(302, 302, 302, 302, 302, 302, 302, 403),
    "admin:reports_delivery_delete": row(302, 302, 302, 302, 302, 302, 302, 403),
    # tasks kept while the broker was away: beat sends them, nobody writes them by hand
    "admin:portal_outboxmessage_add": row(302, 302, 302, 302, 302, 302, 302, 403),
}


def url_names():
    """Every named URL pattern of the project, with its namespace."""

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                yield from walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern):
                if not pattern.name and namespace == "admin":
                    continue  # the admin's legacy redirect to a change page
                assert pattern.name, f"unnamed URL pattern {pattern.pattern}"
                yield f"{namespace}:{pattern.name}" if namespace else pattern.name

    return sorted(set(walk(get_resolver().url_patterns, "")))


@pytest.fixture
def objects(world):
    """One object of every registered admin model, for the admin's per-object URLs."""
    pairing = world["pairing"]
    plan = f.JointPlanFactory(pairing=pairing)
    item = f.PlanItemFactory(plan=plan)
    metric = f.MetricFactory(program=world["program"])
    f.PlanTargetFactory(item=item, metric=metric)
    f.LiaisonFactory(pairing=pairing)
    activity = f.ActivityFactory(pairing=pairing, branch=world["branch"])
    f.ActivityMetricValueFactory(activity=activity, metric=metric)
    record = f.ServiceRecordFactory(activity=activity)
    team = f.TeamFactory(organization=world["branch"])
    f.ServiceOfferingFactory(team=team)
    team.members.add(record.volunteer)
    f.NeedFactory(pairing=pairing)
    f.VillageStatisticFactory(village=world["village"])
    report = f.ReportFactory(program=world["program"])
    from reports.models import AnnualExport, Notification

    Notification.objects.create(report=report, email="liaison@example.org", message="已发布")
    from reports.models import Delivery, Preference, Webhook

    hook = Webhook.objects.create(kind="wecom", name="项目群", program=world["program"],
                                  url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")
    Delivery.objects.create(channel="wecom", webhook=hook, key="hook:matrix", subject="已发布")
    Preference.objects.create(user=world["users"]["village"])
    AnnualExport.objects.create(program=world["program"], year=2023)
    from portal.models import OutboxMessage

    OutboxMessage.objects.create(task="reports.tasks.send_deliveries", last_error="OperationalError")
    from activities.models import ActivityPhoto

    ActivityPhoto.objects.create(activity=activity, image="photos/x.jpg")
    from activities.models import ActionItem, Meeting, MeetingAttachment, MeetingAttendee

    meeting = Meeting.objects.create(program=world["program"], pairing=pairing, title="联席会议", date="2024-03-10")
    MeetingAttendee.objects.create(meeting=meeting, side="supported", name="李国强", organization=world["village"])
    MeetingAttachment.objects.create(meeting=meeting, kind="sign_in", file="meetings/x.pdf", content_type="application/pdf")
    ActionItem.objects.create(meeting=meeting, text="摸排需求", owner_org=world["village"], due_date="2024-04-30")
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from django.contrib.auth.models import Group

    Group.objects.create(name="staff")
    EmailAddress.objects.create(user=world["users"]["secretary"], email="s@example.org")
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    RecoveryCodes.activate(world["users"]["secretary"])
    assert Authenticator.objects.exists()
    return world


def admin_cases(objects):
    """(name, url) for every admin URL pattern, filled in with a real object where one is needed."""
    cases = {}
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        prefix = f"admin:{meta.app_label}_{meta.model_name}"
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, f"the matrix fixture makes no {meta.label}"
        cases[f"{prefix}_changelist"] = reverse(f"{prefix}_changelist")
        cases[f"{prefix}_add"] = reverse(f"{prefix}_add")
        for view in ("change", "delete", "history"):
            cases[f"{prefix}_{view}"] = reverse(f"{prefix}_{view}", args=[obj.pk])
        history = getattr(obj, "history", None)
        if history is not None:
            cases[f"{prefix}_simple_history"] = reverse(
                f"{prefix}_simple_history", args=[obj.pk, history.order_by("pk").first().pk]
            )
        if meta.model_name == "user":
            cases["admin:auth_user_password_change"] = reverse("admin:auth_user_password_change", args=[obj.pk])
    cases["admin:index"] = reverse("admin:index")
    cases["admin:login"] = reverse("admin:login")
    cases["admin:logout"] = reverse("admin:logout")
    cases["admin:password_change"] = reverse("admin:password_change")
    cases["admin:password_change_done"] = reverse("admin:password_change_done")
    cases["admin:jsi18n"] = reverse("admin:jsi18n")
    cases["admin:autocomplete"] = reverse("admin:autocomplete")
    cases["admin:view_on_site"] = reverse("admin:view_on_site", args=[1, 1])
    for app_label in {m._meta.app_label for m in admin.site._registry}:
        cases[f"admin:app_list:{app_label}"] = reverse("admin:app_list", args=[app_label])
    return cases


def expected_for(name):
    if name in PAGES:
        return PAGES[name][1]
    if name.startswith("admin:app_list:"):
        return ADMIN_DEFAULT
    return ADMIN_EXCEPTIONS.get(name, ADMIN_DEFAULT)


def test_every_url_is_in_the_matrix(objects):
    admin_urls = admin_cases(objects)
    covered = set(PAGES) | {name.split(":app_list:")[0] + ":app_list" if ":app_list:" in name else name for name in admin_urls}
    missing = [name for name in url_names() if name not in covered]
    assert not missing, f"URL patterns with no row in the permission matrix: {missing}"


def status_of(client, url):
    response = client.get(url)
    if response.status_code == 302 and response["Location"].startswith(reverse("account_login")):
        return LOGIN, response
    return response.status_code, response


@pytest.mark.parametrize("role", ROLES)
def test_matrix(client, objects, role):
    if role != "anonymous":
        client.force_login(objects["users"][role])
    cases = {name: build(objects) for name, (build, _) in PAGES.items()}
    cases.update(admin_cases(objects))
    wrong = []
    for name, url in sorted(cases.items()):
        got, response = status_of(client, url)
        want = expected_for(name)[role]
        if got != want:
            wrong.append(f"{name} {url}: expected {want}, got {got}")
        assert got != 500
    assert not wrong, f"{role}:\n" + "\n".join(wrong)
