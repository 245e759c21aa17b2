from django.urls import path

from haven.patients import views

app_name = "patients"
urlpatterns = [
    path("sites/<uuid:site_id>/patients/", views.patient_list, name="list"),
    path("sites/<uuid:site_id>/patients/new/", views.patient_register, name="register"),
    path("sites/<uuid:site_id>/consent-documents/", views.consent_documents, name="consent_documents"),
    path("patients/<uuid:patient_id>/", views.patient_chart, name="chart"),
    path("patients/<uuid:patient_id>/identity/", views.patient_identity, name="identity"),
    path("patients/<uuid:patient_id>/courses/", views.course_open, name="course_open"),
    path("courses/<uuid:course_id>/transition/", views.course_transition, name="course_transition"),
    path("courses/<uuid:course_id>/enroll/", views.course_enroll, name="course_enroll"),
    path("courses/<uuid:course_id>/consent/", views.consent, name="consent"),
    path(
        "consent-documents/<uuid:document_id>/file/",
        views.consent_document_file,
        name="consent_document_file",
    ),
    path(
        "consent-documents/<uuid:document_id>/activate/",
        views.consent_document_activate,
        name="consent_document_activate",
    ),
    path("visits/<uuid:visit_id>/", views.visit_detail, name="visit"),
    path("visits/<uuid:visit_id>/occurred/", views.visit_occurrence, name="visit_occurrence"),
    path("visits/<uuid:visit_id>/missed/", views.visit_missed, name="visit_missed"),
    path("visits/<uuid:visit_id>/note/", views.note_save, name="note_save"),
    path("visits/<uuid:visit_id>/note/sign/", views.note_sign, name="note_sign"),
    path("visits/<uuid:visit_id>/note/addenda/", views.note_addendum, name="note_addendum"),
]
