"""Regression: a process whose first import is core.api (the Celery worker's job autodiscovery) must not
half-initialise it through DRF settings (DEFAULT_PARSER_CLASSES / DEFAULT_PAGINATION_CLASS are read by
APIView's class body). The worker test failed with "partially initialized module 'core.api'"."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD = ("import django; django.setup(); import core.api; from rest_framework.views import APIView; "
         "from rest_framework.generics import GenericAPIView; "
         "print(APIView.parser_classes[0].__name__, GenericAPIView.pagination_class.__name__)")


def test_core_api_imports_first_in_a_fresh_process():
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="memberhub.settings.test")
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["BoundedJSONParser", "BoundedLimitOffsetPagination"]
