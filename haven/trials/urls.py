from django.urls import path

from haven.trials import views

app_name = "trials"
urlpatterns = [
    path("studies/<slug:protocol_code>/report/", views.report, name="report"),
    path("studies/<slug:protocol_code>/<slug:dataset>.csv", views.export, name="export"),
]
