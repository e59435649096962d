"""WSGI entry point: gunicorn recorder_ui.wsgi."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recorder_ui.settings")
application = get_wsgi_application()
