from django.urls import path

from haven.inventory import views

app_name = "inventory"
urlpatterns = [
    path("sites/<uuid:site_id>/inventory/", views.inventory_page, name="page"),
    path("sites/<uuid:site_id>/inventory/receipts/", views.receipt, name="receipt"),
    path("sites/<uuid:site_id>/inventory/dispenses/", views.dispense, name="dispense"),
    path("sites/<uuid:site_id>/inventory/counts/", views.count, name="count"),
    path("sites/<uuid:site_id>/inventory/losses/<uuid:report_id>/", views.loss_clock, name="loss_clock"),
    path("sites/<uuid:site_id>/inventory/record/", views.dispensing_record, name="record"),
    path("sites/<uuid:site_id>/inventory/inventories/", views.inventory_report, name="report"),
    path("sessions/<uuid:session_id>/dispense/", views.session_dispense, name="session_dispense"),
    path("sites/<uuid:site_id>/inventory/destructions/<uuid:entry_id>/form-41/", views.form41, name="form41"),
]
