from django.urls import path

from haven.scheduling import views

app_name = "scheduling"
urlpatterns = [
    path("sites/<uuid:site_id>/calendar/", views.calendar_page, name="calendar"),
    path("sites/<uuid:site_id>/rooms/", views.room_list, name="rooms"),
    path("visits/<uuid:visit_id>/book/", views.appointment_book, name="book"),
    path("visits/<uuid:visit_id>/book/check/", views.appointment_check, name="book_check"),
    path("appointments/<uuid:appointment_id>/cancel/", views.appointment_cancel, name="cancel"),
    path("account/calendar-feed/", views.calendar_feed, name="calendar_feed"),
    path(
        "account/calendar-feed/<uuid:feed_id>/revoke/",
        views.calendar_feed_revoke,
        name="calendar_feed_revoke",
    ),
    # No login: calendar apps cannot sign in. The unguessable secret is the credential.
    path("calendar/<str:secret>.ics", views.feed, name="feed"),
]
