from django.urls import path

from haven.audit import views

app_name = "audit"
urlpatterns = [
    path("sites/<uuid:site_id>/audit/", views.site_audit, name="site_audit"),
    path("sites/<uuid:site_id>/audit.csv", views.site_audit_csv, name="site_audit_csv"),
]
