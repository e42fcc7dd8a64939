import pytest

from evaluation.models import ClosenessWeights, LifecycleRule

pytestmark = pytest.mark.django_db


def test_config_rows_seeded_by_the_migration():
    assert ClosenessWeights.objects.filter(pk=1).exists()
    assert LifecycleRule.objects.filter(pk=1).exists()
