from django.urls import path

from haven.outcomes import portal

app_name = "portal"
urlpatterns = [
    # No staff login: the link's secret is the credential, exchanged at once for a portal session.
    path("p/<str:secret>/", portal.enter, name="enter"),
    path("portal/", portal.home, name="home"),
    path("portal/verify/", portal.verify, name="verify"),
    path("portal/forms/<slug:instrument>/<slug:key>/", portal.form, name="form"),
    path("portal/effects/<str:key>/", portal.effects, name="effects"),
    path("portal/leave/", portal.leave, name="leave"),
]
