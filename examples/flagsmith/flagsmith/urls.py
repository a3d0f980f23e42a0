"""URL routes of the Flagsmith example (a subset of Flagsmith's API, same shapes)."""

from django.urls import path

from organisations import auth_views as a
from organisations import views as v

urlpatterns = [
    path("api/v1/auth/login/", a.login_view),
    path("api/v1/auth/login/mfa/", a.login_mfa_view),
    path("api/v1/auth/oauth/<str:provider>/callback/", a.oauth_callback),
    path("api/v1/auth/saml/<str:idp>/acs/", a.saml_acs),
    path("api/v1/auth/logout/", a.logout_view),
    path("api/v1/auth/users/me/", a.me),
    path("api/v1/auth/users/set_password/", a.set_password),
    path("api/v1/auth/mfa/activate/", a.mfa_activate),
    path("api/v1/auth/mfa/confirm/", a.mfa_confirm),
    path("api/v1/auth/mfa/deactivate/", a.mfa_deactivate),
    path("api/v1/organisations/", v.organisations),
    path("api/v1/organisations/<int:org_id>/users/", v.org_users),
    path("api/v1/organisations/<int:org_id>/users/<int:user_id>/", v.org_user),
    path("api/v1/organisations/<int:org_id>/roles/", v.roles),
    path("api/v1/organisations/<int:org_id>/groups/", v.groups),
    path("api/v1/organisations/<int:org_id>/audit/", v.org_audit),
    path("api/v1/projects/", v.projects),
    path("api/v1/projects/<int:project_id>/", v.project),
    path("api/v1/projects/<int:project_id>/audit/", v.project_audit),
    path("api/v1/projects/<int:project_id>/user-permissions/<int:user_id>/", v.project_user_permissions),
    path("api/v1/roles/<int:role_id>/", v.role),
    path("api/v1/roles/<int:role_id>/permissions/", v.role_permissions),
    path("api/v1/roles/<int:role_id>/users/", v.role_users),
    path("api/v1/roles/<int:role_id>/users/<int:user_id>/", v.role_users),
    path("api/v1/roles/<int:role_id>/groups/", v.role_groups),
    path("api/v1/roles/<int:role_id>/groups/<int:group_id>/", v.role_groups),
    path("api/v1/groups/<int:group_id>/", v.group),
    path("api/v1/groups/<int:group_id>/permissions/", v.group_permissions),
    path("api/v1/groups/<int:group_id>/users/", v.group_users),
    path("api/v1/groups/<int:group_id>/users/<int:user_id>/", v.group_users),
]
