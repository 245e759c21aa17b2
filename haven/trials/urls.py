from django.urls import path

from haven.trials import randomization_views, setup_views, views

app_name = "trials"
urlpatterns = [
    path("studies/", setup_views.study_list, name="studies"),
    path("studies/new/", setup_views.study_new, name="study_new"),
    path("studies/<slug:protocol_code>/", setup_views.study_detail, name="study"),
    path("studies/<slug:protocol_code>/kits/", setup_views.kits_upload, name="kits_upload"),
    path("studies/<slug:protocol_code>/report/", views.report, name="report"),
    path("studies/<slug:protocol_code>/report.pdf", views.report_pdf, name="report-pdf"),
    path("studies/<slug:protocol_code>/<slug:dataset>.csv", views.export, name="export"),
    path(
        "courses/<uuid:course_id>/randomization/",
        randomization_views.randomization_page,
        name="randomization",
    ),
    path("courses/<uuid:course_id>/randomization/unblind/", randomization_views.unblind_page, name="unblind"),
]
