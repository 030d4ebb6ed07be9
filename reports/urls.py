from django.urls import path

from reports import notice_views
from reports import report_views as views

app_name = "reports"

urlpatterns = [
    path("", views.ReportListView.as_view(), name="report_list"),
    path("<int:pk>/", views.ReportDetailView.as_view(), name="report_detail"),
    path("<int:pk>/download/<str:fmt>/", views.ReportDownloadView.as_view(), name="report_download"),
    path("<int:pk>/photos/<int:photo_id>/", views.ReportPhotoView.as_view(), name="report_photo"),
    path("<int:pk>/notes/", views.ReportNotesView.as_view(), name="report_notes"),
    path("<int:pk>/publish/", views.ReportPublishView.as_view(), name="report_publish"),
    path("<int:pk>/regenerate/", views.ReportRegenerateView.as_view(), name="report_regenerate"),
    path("publish/", views.ReportsPublishView.as_view(), name="reports_publish"),
    path("generate/", views.GenerateView.as_view(), name="generate"),
    path("exports/", views.ExportListView.as_view(), name="export_list"),
    path("exports/<int:pk>/", views.ExportDetailView.as_view(), name="export_detail"),
    path("exports/<int:pk>/download/<str:fmt>/", views.ExportDownloadView.as_view(), name="export_download"),
    path("certificates/volunteer/<int:pk>/", views.CertificateIssueView.as_view(), name="certificate_issue"),
    path("certificates/<int:pk>/", views.CertificateDownloadView.as_view(), name="certificate_download"),
    path("notifications/", notice_views.NotificationListView.as_view(), name="notification_list"),
    path("notifications/<int:pk>/", notice_views.NotificationOpenView.as_view(), name="notification_open"),
    path("notifications/<int:pk>/read/", notice_views.NotificationReadView.as_view(), name="notification_read"),
    path("notifications/read/", notice_views.NotificationReadAllView.as_view(), name="notification_read_all"),
    path("notifications/preferences/", notice_views.PreferenceView.as_view(), name="preferences"),
    path("robots/", notice_views.WebhookListView.as_view(), name="webhook_list"),
    path("robots/new/", notice_views.WebhookCreateView.as_view(), name="webhook_create"),
    path("robots/<int:pk>/", notice_views.WebhookUpdateView.as_view(), name="webhook_update"),
    path("robots/<int:pk>/active/", notice_views.WebhookDeactivateView.as_view(), name="webhook_deactivate"),
    path("robots/<int:pk>/test/", notice_views.WebhookTestView.as_view(), name="webhook_test"),
]
