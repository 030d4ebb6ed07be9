"""The dashboards' pages, mounted at the site's root: the program dashboards and the completeness board under
dashboards/, the volunteer and team pages under volunteers/ (where they have always been)."""

from django.urls import path

from dashboards import views, volunteers

app_name = "dashboards"

urlpatterns = [
    path("dashboards/programs/", views.ProgramListView.as_view(), name="program_list"),
    path("dashboards/programs/<int:pk>/", views.ProgramDashboardView.as_view(), name="program_dashboard"),
    path("setup/", views.SetupView.as_view(), name="setup"),
    path("dashboards/completeness/", views.CompletenessView.as_view(), name="completeness"),
    path("volunteers/", volunteers.VolunteerListView.as_view(), name="volunteer_list"),
    path("volunteers/export.csv", volunteers.VolunteerExportView.as_view(), name="volunteer_export"),
    path("volunteers/export.xlsx", volunteers.VolunteerExportView.as_view(fmt="xlsx"), name="volunteer_export_xlsx"),
    path("volunteers/picker/", volunteers.VolunteerPickerView.as_view(), name="volunteer_picker"),
    path("volunteers/<int:pk>/", volunteers.VolunteerDetailView.as_view(), name="volunteer_detail"),
    path("volunteers/teams/", volunteers.TeamListView.as_view(), name="team_list"),
    path("volunteers/teams/<int:pk>/", volunteers.TeamDetailView.as_view(), name="team_detail"),
]
