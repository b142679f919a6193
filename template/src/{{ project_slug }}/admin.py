from django.contrib import admin

from .models import Entry


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ["title", "word_count", "created_at", "processed_at"]
    list_filter = ["processed_at"]
    search_fields = ["title", "body"]
    readonly_fields = ["word_count", "created_at", "processed_at"]
