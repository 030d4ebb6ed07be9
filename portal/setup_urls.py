from django.urls import path

from portal import setup_views as views

app_name = "setup"

urlpatterns = [
    path("organisations/", views.OrganizationListView.as_view(), name="org_list"),
    path("organisations/picker/", views.OrganizationPickerView.as_view(), name="org_picker"),
    path("organisations/new/", views.OrganizationCreateView.as_view(), name="org_create"),
    path("organisations/<int:pk>/", views.OrganizationDetailView.as_view(), name="org_detail"),
    path("organisations/<int:pk>/edit/", views.OrganizationUpdateView.as_view(), name="org_update"),
    path("organisations/<int:pk>/active/", views.OrganizationActiveView.as_view(), name="org_active"),
    path("people/", views.PersonListView.as_view(), name="person_list"),
    path("people/invite/", views.InviteView.as_view(), name="invite"),
    path("people/<int:pk>/", views.PersonDetailView.as_view(), name="person_detail"),
    path("people/<int:pk>/active/", views.PersonActiveView.as_view(), name="person_active"),
    path("people/<int:pk>/invitation/", views.InvitationReissueView.as_view(), name="invite_reissue"),
    path("people/<int:pk>/memberships/new/", views.MembershipAddView.as_view(), name="membership_add"),
    path("memberships/<int:pk>/remove/", views.MembershipRemoveView.as_view(), name="membership_remove"),
    path("join/<str:token>/", views.InvitationAcceptView.as_view(), name="invite_accept"),
]
