from django.db import models


class Entry(models.Model):
    """A short note. Saving one queues its processing (a background task when there is a worker)."""

    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    # Stored by the default storage: the disk, or the bucket once BUCKET_NAME is set.
    attachment = models.FileField(upload_to="attachments/%Y/%m/", blank=True)
    word_count = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "entries"

    def __str__(self) -> str:
        return self.title

    def attachment_name(self) -> str:
        """The file's own name, without the folders the storage keeps it under."""
        return self.attachment.name.rsplit("/", 1)[-1]

    def process(self) -> None:
        """Count the words and stamp the time: the work a background task does."""
        from django.utils import timezone

        self.word_count = len(f"{self.title} {self.body}".split())
        self.processed_at = timezone.now()
        self.save(update_fields=["word_count", "processed_at"])
