from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RecorderUiConfig(AppConfig):
    name = "recorder_ui"
    verbose_name = "recorder-ui"

    def ready(self) -> None:
        from recorder_ui import search  # imports models: only once the registry is ready

        # A later migration that alters RecordingEntry rebuilds the table on SQLite and drops its triggers.
        post_migrate.connect(search.repair_sqlite_index, sender=self)
