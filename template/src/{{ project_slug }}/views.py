from functools import partial

from django.contrib.staticfiles.storage import staticfiles_storage
from django.db import transaction
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
)
from django.shortcuts import get_object_or_404, redirect, render

from .forms import EntryForm
from .models import Entry
from .tasks import process_entry


def entry_list(request: HttpRequest) -> HttpResponse:
    """List the latest entries; a POST creates one and enqueues its processing."""
    form = EntryForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        entry = form.save()
        # Only once the entry is committed: a worker must find what it is asked to process.
        transaction.on_commit(partial(process_entry.enqueue, entry.pk))
        return redirect("entry-list")
    entries = Entry.objects.all()[:50]
    return render(request, "entries/entry_list.html", {"form": form, "entries": entries})


def attachment(request: HttpRequest, pk: int) -> FileResponse:
    """An entry's attachment, read through the storage (disk or bucket): the bucket stays
    private, and the link works whichever replica answers it."""
    entry = get_object_or_404(Entry, pk=pk)
    if not entry.attachment or not entry.attachment.storage.exists(entry.attachment.name):
        raise Http404("This entry has no attachment.")
    return FileResponse(
        entry.attachment.open("rb"), as_attachment=True, filename=entry.attachment_name()
    )


def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers and bots ask for /favicon.ico whatever the page says: point them at the icon."""
    return HttpResponsePermanentRedirect(staticfiles_storage.url("entries/favicon.svg"))
