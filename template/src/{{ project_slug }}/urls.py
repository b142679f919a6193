from django.urls import path

from . import health, views

urlpatterns = [
    path("", views.entry_list, name="entry-list"),
    path("entries/<int:pk>/attachment/", views.attachment, name="entry-attachment"),
    path("health/", health.health, name="health"),
    path("favicon.ico", views.favicon, name="favicon"),
]
