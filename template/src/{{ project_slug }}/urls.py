from django.urls import path

from . import health, views

urlpatterns = [
    path("", views.entry_list, name="entry-list"),
    path("health/", health.health, name="health"),
    path("favicon.ico", views.favicon, name="favicon"),
]
