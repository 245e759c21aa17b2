from django.urls import path

from haven.accounts import site_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.login_verify, name="login_verify"),
    path("login/authenticator/", views.mfa_enrol, name="mfa_enrol"),
    path("logout/", views.logout_view, name="logout"),
    path("account/security/", views.security, name="security"),
    path("account/sessions/end-all/", views.logout_everywhere_view, name="logout_everywhere"),
    path("account/tokens/<uuid:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("sites/<uuid:site_id>/", site_views.site_detail, name="site_detail"),
    path("sites/<uuid:site_id>/credentials/", site_views.credential_create, name="credential_create"),
    path("sites/<uuid:site_id>/device-tokens/", site_views.device_token_create, name="device_token_create"),
    path("credentials/<uuid:credential_id>/review/", site_views.credential_review, name="credential_review"),
]
