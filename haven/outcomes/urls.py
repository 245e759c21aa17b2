from django.urls import path

from haven.outcomes import views

app_name = "outcomes"
urlpatterns = [
    path("courses/<uuid:course_id>/outcomes/", views.course_outcomes, name="course"),
    path("courses/<uuid:course_id>/outcomes/forms/<slug:instrument>/", views.form_entry, name="entry"),
    path("courses/<uuid:course_id>/outcomes/portal-link/", views.link_create, name="link_create"),
    path("courses/<uuid:course_id>/outcomes/requests/", views.request_create, name="request"),
    path("courses/<uuid:course_id>/outcomes/portal-link/revoke/", views.link_revoke, name="link_revoke"),
    path("safety-alerts/<uuid:alert_id>/acknowledge/", views.safety_acknowledge, name="safety_ack"),
    path("safety-alerts/<uuid:alert_id>/resolve/", views.safety_resolve, name="safety_resolve"),
    path("responses/<uuid:response_id>/error/", views.response_error, name="response_error"),
    path("sites/<uuid:site_id>/outcomes/", views.site_outcomes, name="site"),
]
