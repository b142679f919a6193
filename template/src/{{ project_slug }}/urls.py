from django.urls import path

from . import views

urlpatterns = [
    path("", views.entry_list, name="entry-list"),
    path("health/", views.health, name="health"),
]
