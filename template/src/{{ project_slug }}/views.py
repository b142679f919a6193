from functools import partial

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.files.storage import FileSystemStorage
from django.db import transaction
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header

from .forms import EntryForm
from .models import Entry
from .tasks import process_entry


def entry_list(request: HttpRequest) -> HttpResponse:
    """The latest entries, for anyone; signed in, the form to add one (a POST creates it and
    enqueues its processing)."""
    if request.method == "POST" and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    form = None
    if request.user.is_authenticated:
        form = EntryForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            entry = form.save(commit=False)
            entry.owner = request.user
            entry.save()
            # Only once the entry is committed: a worker must find what it is asked to process.
            transaction.on_commit(partial(process_entry.enqueue, entry.pk))
            return redirect("entry-list")
    entries = list(Entry.objects.all()[:50])
    for entry in entries:
        entry.downloadable = entry.downloadable_by(request.user)
    return render(request, "entries/entry_list.html", {"form": form, "entries": entries})


@login_required
def attachment(request: HttpRequest, pk: int) -> HttpResponse:
    """An entry's attachment, for its owner and staff (anyone else gets the 404 of a missing
    one). From a bucket: a redirect to a URL signed for a minute, so no web worker streams
    it; from the disk: the file, read through the storage."""
    entry = get_object_or_404(Entry, pk=pk)
    file = entry.attachment
    if not entry.downloadable_by(request.user) or not file.storage.exists(file.name):
        raise Http404("No attachment here.")
    if isinstance(file.storage, FileSystemStorage):
        return FileResponse(file.open("rb"), as_attachment=True, filename=entry.attachment_name())
    disposition = content_disposition_header(True, entry.attachment_name())
    return HttpResponseRedirect(
        file.storage.url(file.name, {"ResponseContentDisposition": disposition})
    )


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers and bots ask for /favicon.ico whatever the page says: point them at the icon."""
    return HttpResponsePermanentRedirect(staticfiles_storage.url("entries/favicon.svg"))
