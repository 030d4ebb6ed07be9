from django.urls import path

from volunteers import views

app_name = "volunteers"

urlpatterns = [
    path("", views.VolunteerListView.as_view(), name="volunteer_list"),
    path("<int:pk>/", views.VolunteerDetailView.as_view(), name="volunteer_detail"),
    path("<int:pk>/verify/", views.VolunteerVerifyView.as_view(), name="volunteer_verify"),
    path("<int:pk>/certificate/", views.CertificateIssueView.as_view(), name="certificate_issue"),
    path("certificates/<int:pk>/", views.CertificateDownloadView.as_view(), name="certificate_download"),
    path("teams/", views.TeamListView.as_view(), name="team_list"),
    path("teams/<int:pk>/", views.TeamDetailView.as_view(), name="team_detail"),
    path("teams/<int:pk>/verify/", views.TeamVerifyView.as_view(), name="team_verify"),
]
