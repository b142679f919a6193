from django.conf import settings
from django.db import models


class Entry(models.Model):
    """A short note. Saving one queues its processing (a background task when there is a worker)."""

    # Who wrote it: only they (and staff) may download its attachment. Entries written before
    # sign-in was required have none, and their files are for staff only.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="entries",
    )
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

    def downloadable_by(self, user) -> bool:
        """Whether `user` may download the attachment: its owner, or staff."""
        return (
            bool(self.attachment)
            and user.is_authenticated
            and (user.is_staff or self.owner_id == user.pk)
        )

    def process(self) -> bool:
        """Count the words and stamp the time: the work a background task does. Done at most
        once: a requeued or doubled task finds the entry processed and changes nothing.
        Returns whether this call did the work."""
        from django.db import transaction
        from django.utils import timezone

        word_count = len(f"{self.title} {self.body}".split())
        processed_at = timezone.now()
        # In a transaction even though it is one statement: the UPDATE then commits only when
        # this process asks for it. A worker killed while the UPDATE waits for a row lock
        # leaves its server session behind, and that session would otherwise commit the
        # work once the lock is free, with no process left to know.
        with transaction.atomic():
            done = Entry.objects.filter(pk=self.pk, processed_at__isnull=True).update(
                word_count=word_count, processed_at=processed_at
            )
        if done:
            self.word_count, self.processed_at = word_count, processed_at
        return bool(done)
