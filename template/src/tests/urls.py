"""The project's URLs and one view that raises, as a bug in new code would (tests only)."""

from django.urls import include, path


def broken(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [path("broken/", broken), path("", include("config.urls"))]
