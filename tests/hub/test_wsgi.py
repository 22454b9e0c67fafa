"""The WSGI entry point loads every view at start and keeps start-up's objects out of the collector's passes."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import gc, json, sys
import hub.wsgi
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "walked": len(gc.get_objects()),
    "views_loaded": "hub.api.orders" in sys.modules and "canonical.api.views.orders" in sys.modules,
    "callable": callable(hub.wsgi.application),
}))
"""


def test_importing_the_entry_point_loads_the_views_and_freezes_what_start_up_built():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HUB_", "DATABASE_URL"))}
    result = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["views_loaded"] and probe["callable"]
    # Django, the apps and the views: tens of thousands of objects, none of them walked by a
    # collection any more; what is left to walk is a small fraction.
    assert probe["frozen"] > 50_000, probe
    assert probe["walked"] < probe["frozen"] / 10, probe
