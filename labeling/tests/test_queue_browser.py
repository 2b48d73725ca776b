"""The review queue in headless Chromium: decide detections by hotkey, see the progress and the
next detection's chart, relabel into the label form."""

import pytest

from analysis.tests.factories import make_detection
from labeling.models import Label, Source
from marketdata.tests.factories import kst

pytestmark = pytest.mark.browser

CHART_READY = "#queue-chart[data-ready=true]"


def test_queue_by_hotkeys(logged_in_page, user, stock, other_stock, screenshot):
    first = make_detection(stock, "DB", kst(2024, 1, 8), kst(2024, 1, 19))
    second = make_detection(stock, "DT", kst(2024, 2, 5), kst(2024, 2, 16))
    third = make_detection(other_stock, "HS", kst(2024, 1, 15), kst(2024, 1, 26))
    page = logged_in_page
    page.goto("/labels/queue/")
    page.wait_for_selector(CHART_READY)
    assert page.inner_text("#queue-progress") == "0 of 3 decided"
    assert "a accept" in page.inner_text("#queue-hotkeys")
    assert page.get_attribute("#queue-detection", "data-detection") == str(first.pk)
    screenshot(page, "queue")

    page.keyboard.press("a")
    page.wait_for_selector(f'#queue-detection[data-detection="{second.pk}"]')
    page.wait_for_selector(CHART_READY)  # the next detection's chart is drawn after the swap
    assert page.inner_text("#queue-progress") == "1 of 3 decided"
    assert Label.objects.get(detected_pattern=first).source == Source.ACCEPTED

    page.keyboard.press("r")
    page.wait_for_selector(f'#queue-detection[data-detection="{third.pk}"]')
    assert page.inner_text("#queue-progress") == "2 of 3 decided"
    assert Label.objects.get(detected_pattern=second).source == Source.REJECTED

    # A key typed into a filter field is text, not a decision.
    page.fill("#queue-filters input[name=symbol]", "")
    page.press("#queue-filters input[name=symbol]", "a")
    assert page.input_value("#queue-filters input[name=symbol]") == "a"
    assert Label.objects.count() == 2

    page.locator("#queue-item h2").click()  # focus leaves the field
    page.keyboard.press("e")  # relabel: rejected, and the label form opens on its range
    page.wait_for_url("**/labels/new/?*")
    assert page.input_value("input[name=symbol]") == "000660"
    assert page.input_value("input[name=start]") == "2024-01-15"
    assert Label.objects.get(detected_pattern=third).source == Source.REJECTED

    page.goto("/labels/queue/")
    page.wait_for_selector("#queue-done")
    assert page.inner_text("#queue-progress") == "3 of 3 decided"
