from pathlib import PurePath

from django import forms
from django.conf import settings

from .models import Entry


class EntryForm(forms.ModelForm):
    class Meta:
        model = Entry
        fields = ["title", "body", "attachment"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The browser's file picker offers the same kinds the form accepts.
        accept = ",".join(f".{extension}" for extension in settings.UPLOAD_EXTENSIONS)
        self.fields["attachment"].widget.attrs["accept"] = accept

    def clean_attachment(self):
        """A file of an allowed kind (by its extension), no larger than UPLOAD_MAX_MB."""
        upload = self.cleaned_data.get("attachment")
        if not upload or not hasattr(upload, "size"):  # none, or the one already saved
            return upload
        extension = PurePath(upload.name).suffix.lower().lstrip(".")
        if extension not in settings.UPLOAD_EXTENSIONS:
            allowed = ", ".join(settings.UPLOAD_EXTENSIONS)
            raise forms.ValidationError(f"Files of this kind are not accepted (only {allowed}).")
        if upload.size > settings.UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than the {settings.UPLOAD_MAX_MB} MB allowed."
            )
        return upload
