from django.urls import path

from haven.safety import views

app_name = "safety"
urlpatterns = [
    path("safety/", views.safety_overview, name="overview"),
    path("sites/<uuid:site_id>/safety/", views.site_safety, name="site"),
    path("sites/<uuid:site_id>/safety/adverse-events.csv", views.site_safety_csv, name="csv"),
    path("courses/<uuid:course_id>/adverse-events/new/", views.ae_new, name="new"),
    path("courses/<uuid:course_id>/solicited-effects/", views.solicited, name="solicited"),
    path("emergencies/<uuid:emergency_id>/adverse-event/", views.ae_from_emergency, name="from_emergency"),
    path("adverse-events/<uuid:event_id>/", views.ae_page, name="event"),
    path("adverse-events/<uuid:event_id>/edit/", views.ae_edit, name="edit"),
    path("adverse-events/<uuid:event_id>/entered-in-error/", views.ae_error, name="error"),
    path("adverse-events/<uuid:event_id>/coding/", views.ae_code, name="code"),
    path("adverse-events/<uuid:event_id>/reports/", views.ae_report, name="report"),
    path("adverse-events/<uuid:event_id>/assessments/", views.ae_assess, name="assess"),
]
