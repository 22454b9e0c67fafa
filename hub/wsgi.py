"""WSGI entry point (gunicorn hub.wsgi)."""
import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hub.settings")
application = get_wsgi_application()


def startup_objects_freeze() -> int:
    """Load every view now, then keep what start-up built out of the garbage collector's passes.

    A worker holds some 140,000 objects once Django, the apps and the views are loaded, and they
    live as long as it does. Python's full collection walked all of them: a pause of about 100 ms
    every thousand or so orders, on whichever request was running. Frozen, they are never walked
    again (gc.freeze); what requests create is collected as before. Returns how many were frozen.
    """
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URLconf and every view it names
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


startup_objects_freeze()
