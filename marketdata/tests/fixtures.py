"""Market-data fixtures (the Kiwoom simulator over HTTP), shared by all apps.

- `kiwoom_simulator` (session): a `SimulatorServer` on a free local port with the market clock
  frozen at `SIMULATOR_NOW` (a Wednesday session, so the newest bar of every timeframe is
  forming), no rate limit and small pages (`SIMULATOR_PAGE_SIZE`) so that paging is exercised.
  After every test that used it, its faults, config (page size, rate limit, field generation),
  clock and request log go back to these defaults; issued tokens stay valid.
- `kiwoom_settings` (function): the same server, with `settings.KIWOOM_BASE_URL` pointing at it
  (pytest-django restores the setting afterwards).

Ground truth for assertions: `kiwoom_simulator.market.bars(code, timeframe)`.
"""

from datetime import datetime

import pytest

from marketdata.krx_calendar import KST
from marketdata.simulator.server import SimulatorServer

SIMULATOR_NOW = datetime(2026, 3, 4, 11, 7, tzinfo=KST)
SIMULATOR_PAGE_SIZE = 200

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
