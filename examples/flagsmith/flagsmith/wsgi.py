"""WSGI entry point of the Flagsmith example."""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flagsmith.settings")
application = get_wsgi_application()
