"""Analysis test data in the database (factories without a database: `factories.py`)."""

import pytest

from analysis.tests.factories import make_swing_stock


@pytest.fixture
def samsung(db):
    """(삼성전자, its 704 daily bars 2023-01-02 … 2025-11-20 on the KRX grid), stored as final."""
    return make_swing_stock()
