from django.urls import path

from haven.dosing import views

app_name = "dosing"
urlpatterns = [
    path("visits/<uuid:visit_id>/session/", views.session_open, name="open"),
    path("sessions/<uuid:session_id>/", views.room, name="room"),
    path("sessions/<uuid:session_id>/live/", views.room_live, name="live"),
    path("sessions/<uuid:session_id>/vitals/", views.vitals_record, name="vitals"),
    path("sessions/<uuid:session_id>/checklist/", views.checklist_answer, name="checklist"),
    path("sessions/<uuid:session_id>/presence/", views.presence_check_in, name="check_in"),
    path(
        "sessions/<uuid:session_id>/presence/<uuid:presence_id>/out/",
        views.presence_check_out,
        name="check_out",
    ),
    path("sessions/<uuid:session_id>/dose/", views.dose_administer, name="dose"),
    path("sessions/<uuid:session_id>/setting/", views.setting_record, name="setting"),
    path("sessions/<uuid:session_id>/attest/", views.discharge_attest, name="attest"),
    path("sessions/<uuid:session_id>/discharge/", views.session_discharge, name="discharge"),
    path("sessions/<uuid:session_id>/timeline/", views.timeline, name="timeline"),
    path("sessions/<uuid:session_id>/emergency/", views.emergency_declare, name="declare"),
    path("alerts/<uuid:alert_id>/acknowledge/", views.alert_acknowledge, name="acknowledge"),
    path("alerts/<uuid:alert_id>/resolve/", views.alert_resolve, name="resolve"),
    path("emergencies/<uuid:emergency_id>/", views.emergency_page, name="emergency"),
    path("emergencies/<uuid:emergency_id>/events/", views.emergency_event, name="emergency_event"),
    path("emergencies/<uuid:emergency_id>/close/", views.emergency_close, name="emergency_close"),
    path("sites/<uuid:site_id>/board/", views.board_page, name="board"),
    path("sites/<uuid:site_id>/board/cards/", views.board_cards, name="board_cards"),
    path("sites/<uuid:site_id>/board/events", views.board_events, name="board_events"),
    path("sites/<uuid:site_id>/on-call/", views.oncall_page, name="oncall"),
    path("sites/<uuid:site_id>/on-call/shifts/", views.oncall_add, name="oncall_add"),
    path(
        "sites/<uuid:site_id>/on-call/shifts/<uuid:shift_id>/cancel/",
        views.oncall_cancel,
        name="oncall_cancel",
    ),
    path("sites/<uuid:site_id>/equipment/", views.equipment_check, name="equipment"),
    path("sites/<uuid:site_id>/emergency-plan/", views.emergency_plan_set, name="emergency_plan"),
]
