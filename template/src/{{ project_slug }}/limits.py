from django.conf import settings
from django.shortcuts import render


class RequestBodyLimitMiddleware:
    """A request that announces a body larger than REQUEST_BODY_MAX_BYTES is answered 413
    before any of it is read: no worker spends time or disk on it. (Django reads no body
    without a Content-Length, so a chunked one cannot go around this.) Caddy refuses the same
    bodies on the Swarm; on Fly, whose proxy sets no limit, this is the limit."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        try:
            announced = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            announced = 0  # Django reads such a body as empty
        if announced > settings.REQUEST_BODY_MAX_BYTES:
            return render(request, "413.html", {"limit_mb": settings.UPLOAD_MAX_MB}, status=413)
        return self.get_response(request)
