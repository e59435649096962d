from django.apps import AppConfig


class RecorderUiConfig(AppConfig):
    name = "recorder_ui"
    verbose_name = "recorder-ui"
