from django.urls import path

from pairings import views

app_name = "pairings"

urlpatterns = [
    path("", views.PairingListView.as_view(), name="pairing_list"),
    path("export.csv", views.PairingExportView.as_view(), name="pairing_export"),
    path("export.xlsx", views.PairingExportView.as_view(fmt="xlsx"), name="pairing_export_xlsx"),
    path("picker/", views.PairingPickerView.as_view(), name="pairing_picker"),
    path("picker/branches/", views.BranchPickerView.as_view(), name="branch_picker"),
    path("picker/schools/", views.SidePickerView.as_view(side="supporter"), name="school_picker"),
    path("picker/villages/", views.SidePickerView.as_view(side="supported"), name="village_picker"),
    path("<int:pk>/", views.PairingDetailView.as_view(), name="pairing_detail"),
    path("<int:pk>/agreement.pdf", views.AgreementFileView.as_view(), name="agreement_file"),
    path("<int:pk>/agreement/", views.AgreementEditView.as_view(), name="agreement_edit"),
    path("<int:pk>/plans/new/", views.PlanCreateView.as_view(), name="plan_create"),
    path("plans/<int:pk>/", views.PlanDetailView.as_view(), name="plan_detail"),
    path("plans/<int:pk>/edit/", views.PlanEditView.as_view(), name="plan_edit"),
    path("plans/<int:pk>/agree/", views.PlanAgreeView.as_view(), name="plan_agree"),
    path("plans/<int:pk>/items/new/", views.PlanItemCreateView.as_view(), name="plan_item_create"),
    path("items/<int:pk>/edit/", views.PlanItemEditView.as_view(), name="plan_item_edit"),
    path("items/<int:pk>/delete/", views.PlanItemDeleteView.as_view(), name="plan_item_delete"),
    path("new/", views.PairingCreateView.as_view(), name="pairing_create"),
    path("<int:pk>/setup/", views.PairingSetupView.as_view(), name="pairing_setup"),
    path("programs/", views.ProgramSetupListView.as_view(), name="program_setup_list"),
    path("programs/new/", views.ProgramCreateView.as_view(), name="program_create"),
    path("programs/<int:pk>/edit/", views.ProgramUpdateView.as_view(), name="program_update"),
    path("programs/<int:pk>/metrics/new/", views.MetricCreateView.as_view(), name="metric_create"),
    path("metrics/<int:pk>/edit/", views.MetricUpdateView.as_view(), name="metric_update"),
    path("programs/<int:pk>/publishing/", views.ProgramPublishingView.as_view(), name="program_publishing"),
    path("villages/<int:pk>/statistics/", views.VillageStatisticsView.as_view(), name="village_statistics"),
    path("statistics/<int:pk>/delete/", views.VillageStatisticDeleteView.as_view(), name="village_statistic_delete"),
]
