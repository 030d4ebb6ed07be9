from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language

from portal import views

admin.site.site_header = _("Pairing portal administration")
admin.site.site_title = _("Pairing portal")
admin.site.index_title = _("Administration")
# The admin's own login page would bypass allauth's rate limits: send it to the portal's login.
admin.site.login = views.admin_login

urlpatterns = [
    # each app's pages are included by module path, so the base app imports none of them
    path("", include("dashboards.home_urls")),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("setup/imports/", include("portal.ledger_urls")),
    path("reports/", include("reports.urls")),
    path("activities/", include("activities.urls")),
    path("pairings/", include("pairings.urls")),
    path("setup/", include("portal.setup_urls")),
    path("", include("dashboards.urls")),
]

# An error that says the database cannot be reached is an outage, not a bug: 503 with Retry-After (views.server_error).
handler500 = "portal.views.server_error"
