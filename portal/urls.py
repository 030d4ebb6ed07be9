from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from portal import views
from reports import views as report_views

admin.site.site_header = "结对共建管理后台"
admin.site.site_title = "结对共建"
admin.site.index_title = "管理"
# The admin's own login page would bypass allauth's rate limits: send it to the portal's login.
admin.site.login = views.admin_login

urlpatterns = [
    path("", report_views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("reports/", include("reports.urls")),
    path("activities/", include("activities.urls")),
    path("pairings/", include("pairings.urls")),
    path("volunteers/", include("volunteers.urls")),
]
