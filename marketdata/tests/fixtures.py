"""Market-data fixtures (the Kiwoom simulator over HTTP), shared by all apps (registered as a
plugin in the root conftest.py).

- `kiwoom_simulator` (session): a `SimulatorServer` on a free local port with the market clock
  frozen at `factories.SIMULATOR_NOW`, no rate limit and small pages (`SIMULATOR_PAGE_SIZE`) so
  that paging is exercised. After every test that used it, its faults, config (page size, rate
  limit, field generation), clock and request log go back to these defaults; issued tokens
  stay valid.
- `kiwoom_settings` (function): the same server, with `settings.KIWOOM_BASE_URL` pointing at it
  (pytest-django restores the setting afterwards).
- `kiwoom_state_cleared`: the shared token and rate-limiter slots in Redis forgotten.
- `ingest_sim`: `kiwoom_settings` for ingestion tests: fast retries, no client rate limit, a
  clean Redis state.
- `broker_queue_purged`: the Celery queue emptied after the test (ingestion enqueues
  `analysis.analyze_series` on commit; no later test's worker should pick those up).

Ground truth for assertions: `kiwoom_simulator.market.bars(code, timeframe)`.
"""

import pytest
import redis
from django.conf import settings as django_settings

from marketdata.simulator.server import SimulatorServer
from marketdata.tests.factories import SIMULATOR_NOW, SIMULATOR_PAGE_SIZE

_started: list[SimulatorServer] = []


@pytest.fixture(scope="session")
def kiwoom_simulator():
    server = SimulatorServer(now=SIMULATOR_NOW, page_size=SIMULATOR_PAGE_SIZE, max_rps=0).start()
    _started.append(server)
    yield server
    _started.remove(server)
    server.stop()


@pytest.fixture(autouse=True)
def _kiwoom_simulator_reset():
    """Puts the session simulator back to its defaults after each test (only if it runs)."""
    yield
    for server in _started:
        server.reset()
        server.set_now(SIMULATOR_NOW)


@pytest.fixture
def kiwoom_settings(settings, kiwoom_simulator):
    settings.KIWOOM_BASE_URL = kiwoom_simulator.url
    return kiwoom_simulator


@pytest.fixture
def kiwoom_state_cleared():
    """Forgets the shared token and rate-limiter slots kept in Redis."""
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    for key in client.scan_iter("kiwoom:*"):
        client.delete(key)


@pytest.fixture
def ingest_sim(kiwoom_settings, settings, kiwoom_state_cleared):
    settings.KIWOOM_RETRY_BASE_SECONDS = 0.01
    settings.KIWOOM_MAX_RPS = 1000
    return kiwoom_settings


@pytest.fixture
def broker_queue_purged():
    yield
    redis.Redis.from_url(django_settings.CELERY_BROKER_URL).delete("celery")
