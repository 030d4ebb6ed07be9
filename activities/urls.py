from django.urls import path

from activities import views

app_name = "activities"

urlpatterns = [
    path("", views.ActivityListView.as_view(), name="list"),
    path("export.csv", views.ActivityExportView.as_view(), name="export"),
    path("export.xlsx", views.ActivityExportView.as_view(fmt="xlsx"), name="export_xlsx"),
    path("new/", views.ActivityCreateView.as_view(), name="create"),
    path("types/", views.ActivityTypeListView.as_view(), name="activity_type_list"),
    path("types/new/", views.ActivityTypeCreateView.as_view(), name="activity_type_create"),
    path("types/<int:pk>/edit/", views.ActivityTypeUpdateView.as_view(), name="activity_type_update"),
    path("<int:pk>/", views.ActivityDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.ActivityUpdateView.as_view(), name="update"),
    path("<int:pk>/submit/", views.ActivitySubmitView.as_view(), name="submit"),
    path("<int:pk>/confirm/", views.ActivityConfirmView.as_view(), name="confirm"),
    path("<int:pk>/return/", views.ActivityReturnView.as_view(), name="return"),
    path("<int:pk>/delete/", views.ActivityDeleteView.as_view(), name="delete"),
    path("<int:pk>/restore/", views.ActivityRestoreView.as_view(), name="restore"),
    path("deleted/", views.DeletedActivityListView.as_view(), name="deleted_list"),
    path("photos/<int:pk>/", views.PhotoView.as_view(), name="photo"),
    path("photos/<int:pk>/thumb/", views.ThumbnailView.as_view(), name="photo_thumb"),
    path("needs/", views.NeedListView.as_view(), name="need_list"),
    path("needs/export.csv", views.NeedExportView.as_view(), name="need_export"),
    path("needs/export.xlsx", views.NeedExportView.as_view(fmt="xlsx"), name="need_export_xlsx"),
    path("needs/new/", views.NeedCreateView.as_view(), name="need_create"),
    path("needs/<int:pk>/", views.NeedDetailView.as_view(), name="need_detail"),
    path("needs/<int:pk>/claim/", views.NeedClaimView.as_view(), name="need_claim"),
    path("needs/<int:pk>/fulfil/", views.NeedFulfilView.as_view(), name="need_fulfil"),
    path("needs/<int:pk>/rate/", views.NeedRateView.as_view(), name="need_rate"),
    path("<int:pk>/verify-hours/", views.ActivityVerifyView.as_view(), name="hours_verify"),
    path("hours/volunteer/<int:pk>/verify/", views.VolunteerVerifyView.as_view(), name="volunteer_verify"),
    path("hours/team/<int:pk>/verify/", views.TeamVerifyView.as_view(), name="team_verify"),
]

urlpatterns += [
    path("meetings/", views.MeetingListView.as_view(), name="meeting_list"),
    path("meetings/new/", views.MeetingCreateView.as_view(), name="meeting_create"),
    path("meetings/<int:pk>/", views.MeetingDetailView.as_view(), name="meeting_detail"),
    path("meetings/<int:pk>/edit/", views.MeetingUpdateView.as_view(), name="meeting_update"),
    path("meetings/files/<int:pk>/", views.MeetingAttachmentView.as_view(), name="meeting_file"),
    path("meetings/files/<int:pk>/thumb/", views.MeetingThumbnailView.as_view(), name="meeting_file_thumb"),
    path("meetings/decisions/", views.ActionItemListView.as_view(), name="action_item_list"),
    path("meetings/decisions/<int:pk>/close/", views.ActionItemCloseView.as_view(), name="action_item_close"),
    path("meetings/decisions/<int:pk>/reopen/", views.ActionItemReopenView.as_view(), name="action_item_reopen"),
]

urlpatterns += [
    path("photos/upload/", views.PhotoUploadView.as_view(), name="photo_upload"),
    path("photos/upload/<int:pk>/thumb/", views.PhotoUploadThumbnailView.as_view(), name="photo_upload_thumb"),
]
