from django.contrib.auth import views as auth_views
from django.urls import path

from . import health, views

urlpatterns = [
    path("", views.entry_list, name="entry-list"),
    path("entries/<int:pk>/attachment/", views.attachment, name="entry-attachment"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("health/", health.health, name="health"),
    path("favicon.ico", views.favicon, name="favicon"),
]
