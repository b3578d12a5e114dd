from django.urls import path

from mobile_api.views import auth, community, notifications

urlpatterns = [
    path("auth/login", auth.LoginView.as_view(), name="auth-login"),
    path("auth/logout", auth.LogoutView.as_view(), name="auth-logout"),
    path("auth/register", auth.RegisterView.as_view(), name="auth-register"),
    path("auth/me", auth.MeView.as_view(), name="auth-me"),
    path("municipalities/", community.MunicipalityList.as_view(), name="municipality-list"),
    path("villages/", community.VillageList.as_view(), name="village-list"),
    path("associations/", community.AssociationList.as_view(), name="association-list"),
    path(
        "associations/<int:pk>/join", community.AssociationJoin.as_view(), name="association-join"
    ),
    path(
        "associations/<int:pk>/memberships/",
        community.AssociationMemberships.as_view(),
        name="association-memberships",
    ),
    path(
        "associations/<int:pk>/messages",
        community.AssociationMessage.as_view(),
        name="association-message",
    ),
    path(
        "memberships/<int:pk>/approve",
        community.MembershipApprove.as_view(),
        name="membership-approve",
    ),
    path(
        "memberships/<int:pk>/suspend",
        community.MembershipSuspend.as_view(),
        name="membership-suspend",
    ),
    path(
        "memberships/<int:pk>/roles", community.MembershipRoles.as_view(), name="membership-roles"
    ),
    path("people/", community.PeopleList.as_view(), name="people-list"),
    path(
        "managed-profiles/", community.ManagedProfileCreate.as_view(), name="managed-profile-create"
    ),
    path("proxy-links/", community.ProxyLinkCreate.as_view(), name="proxy-link-create"),
    path(
        "proxy-links/<int:resident_id>/<int:proxy_id>",
        community.ProxyLinkDelete.as_view(),
        name="proxy-link-delete",
    ),
    path("notifications/", notifications.Inbox.as_view(), name="notification-list"),
    path("notifications/read", notifications.MarkRead.as_view(), name="notification-read"),
    path(
        "notifications/preferences",
        notifications.Preferences.as_view(),
        name="notification-preferences",
    ),
]
