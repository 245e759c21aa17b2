from django.urls import path

from haven.screening import views

app_name = "screening"
urlpatterns = [
    path("courses/<uuid:course_id>/screening/", views.screening_page, name="page"),
    path("courses/<uuid:course_id>/screening/sections/<slug:section>/", views.section_add, name="add"),
    path(
        "courses/<uuid:course_id>/screening/sections/<slug:section>/complete/",
        views.section_complete,
        name="complete",
    ),
    path(
        "courses/<uuid:course_id>/screening/entries/<slug:kind>/<uuid:entry_id>/error/",
        views.entry_error,
        name="entry_error",
    ),
    path("courses/<uuid:course_id>/eligibility/overrides/", views.eligibility_override, name="override"),
    path("courses/<uuid:course_id>/eligibility/history/", views.eligibility_history, name="history"),
    path("courses/<uuid:course_id>/eligibility/summary/", views.eligibility_summary, name="summary"),
]
