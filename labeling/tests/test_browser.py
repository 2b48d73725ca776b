"""Labeling on the Trading Radar in headless Chromium (Debian's /usr/bin/chromium via Playwright):
drag a range in label mode, fill the form, save, see the label drawn; accept a detected pattern."""

import re
from datetime import date, datetime, time

import pytest

from analysis.models import PatternInstance
from analysis.services import series_analyze
from analysis.tests.factories import make_swing_stock
from labeling.models import Label, Source
from labeling.tests.factories import make_label
from marketdata.krx_calendar import KST

pytestmark = pytest.mark.browser
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

LABEL_SHAPES = (
    "document.getElementById('radar-chart').layout.shapes.filter(s => s.name === 'labels').length"
)


@pytest.fixture
def series(transactional_db):
    stock, frame = make_swing_stock()
    series_analyze(stock=stock, timeframe="1d")  # stored detections the Radar can offer
    return {"stock": stock, "frame": frame}


def open_radar(page):
    page.goto("/radar/?symbol=005930&tf=1d")
    page.wait_for_selector("#radar-chart[data-ready=true]")


def drag(page, x0: float, x1: float) -> None:
    box = page.locator("#radar-chart .nsewdrag").first.bounding_box()
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * x0, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * (x0 + x1) / 2, y + 5, steps=8)
    page.mouse.move(box["x"] + box["width"] * x1, y + 10, steps=8)
    page.mouse.up()


def test_drag_a_range_fill_the_form_save_and_see_the_label(
    series, logged_in_page, user, screenshot
):
    page = logged_in_page
    open_radar(page)
    assert page.evaluate(LABEL_SHAPES) == 0
    assert page.is_hidden("#label-panel")
    page.click("#label-mode")
    drag(page, 0.40, 0.55)
    page.wait_for_selector("#label-panel-body form.label-form")
    assert page.is_visible("#label-panel")
    start = page.input_value("#label-panel-body input[name=start]")
    end = page.input_value("#label-panel-body input[name=end]")
    assert page.input_value("#label-panel-body input[name=symbol]") == "005930"
    assert DATE.fullmatch(start) and DATE.fullmatch(end) and end > start  # daily bars: dates
    # No type is preset: saving now is refused until one is chosen.
    assert page.input_value("#label-panel-body select[name=pattern_type]") == ""

    # A bad key point first: the 400 comes back into the panel with the error, nothing saved.
    page.expected_error_urls.append("/labels/new/")
    page.select_option("#label-panel-body select[name=pattern_type]", "DB")
    page.fill("#label-panel-body textarea[name=key_points]", "V1 2020-01-02 70000")
    page.click("#label-panel-body button[type=submit]")
    page.wait_for_selector("#label-panel-body .has-error")
    assert "Key point V1" in page.inner_text("#label-panel-body")
    assert Label.objects.count() == 0

    page.fill("#label-panel-body textarea[name=key_points]", "")
    page.select_option("#label-panel-body select[name=outcome]", "success")
    page.fill("#label-panel-body textarea[name=notes]", "drawn in the browser")
    page.click("#label-panel-body button[type=submit]")
    page.wait_for_selector("#label-panel-body .label-saved")
    page.wait_for_function(f"() => {LABEL_SHAPES} === 1")  # the Radar redrew with the new label
    label = Label.objects.get()
    assert (label.owner, label.pattern_type, label.outcome) == (user, "DB", "success")
    frame = series["frame"]
    assert label.start_ts == datetime.combine(date.fromisoformat(start), time(0), tzinfo=KST)
    assert label.end_ts == datetime.combine(date.fromisoformat(end), time(0), tzinfo=KST)
    assert frame.index[0] <= label.start_ts <= label.end_ts <= frame.index[-1]
    assert page.url.endswith("/radar/?symbol=005930&tf=1d")  # no reload
    screenshot(page, "labeling-radar-saved")
    page.focus("#label-panel-close")
    page.keyboard.press("Escape")  # closes the panel
    page.wait_for_selector("#label-panel", state="hidden")


def test_accept_a_detected_pattern_and_undo(series, logged_in_page, user, screenshot):
    page = logged_in_page
    stored = PatternInstance.objects.filter(stock=series["stock"], timeframe="1d")
    assert stored.exists(), "the synthetic series should give the detector something to find"
    open_radar(page)
    actions = page.locator("#detected-patterns .detection-actions").first
    actions.wait_for()
    before = page.evaluate(LABEL_SHAPES)
    actions.locator("button[value=accept]").click()
    page.wait_for_selector("#detected-patterns .decision-accepted_detection")
    label = Label.objects.get()
    assert label.source == Source.ACCEPTED and label.detected_pattern is not None
    assert label.detected_pattern.stock == series["stock"]
    page.wait_for_function(f"() => {LABEL_SHAPES} === {before + 1}")
    screenshot(page, "labeling-radar-accepted")

    page.locator("#detected-patterns .detection-actions button", has_text="Undo").first.click()
    page.wait_for_selector("#detected-patterns .detection-actions button[value=reject]")
    page.wait_for_function(f"() => {LABEL_SHAPES} === {before}")
    label.refresh_from_db()
    assert label.is_deleted


def test_label_list_sorts_by_a_header_both_ways_and_keeps_the_sort_while_filtering(
    series, logged_in_page, user
):
    page = logged_in_page
    frame = series["frame"]
    for pattern_type, offset in (("DT", 100), ("HS", 60), ("DB", 140)):
        make_label(
            user,
            series["stock"],
            frame.index[-offset].to_pydatetime(),
            frame.index[-offset + 20].to_pydatetime(),
            pattern_type=pattern_type,
        )
    page.goto("/labels/")
    page.evaluate("window.samePage = true")

    def patterns():
        return page.locator("table.labels tbody tr td:nth-child(5)").all_inner_texts()

    page.click('table.labels th a[data-sort="range"]')  # latest range first
    page.wait_for_selector('table.labels th a[data-sort="range"][aria-sort="descending"]')
    assert "sort=range" in page.url
    latest_first = patterns()
    page.click('table.labels th a[data-sort="range"]')  # the other way round
    page.wait_for_selector('table.labels th a[data-sort="range"][aria-sort="ascending"]')
    assert "sort=-range" in page.url
    assert patterns() == latest_first[::-1]
    page.select_option("select[name=pattern_type]", "DB")  # a filter keeps the sort
    page.wait_for_function("() => document.querySelectorAll('table.labels tbody tr').length === 1")
    assert "pattern_type=DB" in page.url and "sort=-range" in page.url
    assert page.evaluate("window.samePage") is True  # swapped with htmx, never reloaded


def test_label_list_filters_deletes_and_restores_with_htmx(
    series, logged_in_page, user, screenshot
):
    page = logged_in_page
    frame = series["frame"]
    for pattern_type, offset in (("DT", 100), ("HS", 60)):
        make_label(
            user,
            series["stock"],
            frame.index[-offset].to_pydatetime(),
            frame.index[-offset + 20].to_pydatetime(),
            pattern_type=pattern_type,
        )
    page.goto("/labels/")
    assert page.locator("table.labels tbody tr").count() == 2
    page.select_option("select[name=pattern_type]", "HS")  # filters on change, via htmx
    page.wait_for_function("() => document.querySelectorAll('table.labels tbody tr').length === 1")
    assert "pattern_type=HS" in page.url  # the filter sticks in the URL
    row = page.locator("table.labels tbody tr").first
    assert "Head and shoulders" in row.inner_text()
    row.locator("button", has_text="Delete").click()
    page.wait_for_selector("table.labels tbody tr.deleted")
    assert Label.objects.get(pattern_type="HS").is_deleted
    page.locator("table.labels tbody tr.deleted button", has_text="Restore").click()
    page.wait_for_selector("table.labels tbody tr:not(.deleted)")
    assert not Label.objects.get(pattern_type="HS").is_deleted
    screenshot(page, "labeling-list")
    page.locator("table.labels tbody tr a").first.click()  # the label's page and mini chart
    page.wait_for_selector("#label-chart[data-ready=true]")
    assert page.locator("#label-chart .boxlayer .trace path").count() > 0  # candle bodies
    screenshot(page, "labeling-detail")
    page.go_back()
    page.wait_for_selector("table.labels")
    with page.expect_navigation():
        page.locator("table.labels tbody tr a", has_text="Radar").click()
    page.wait_for_selector("#radar-chart[data-ready=true]")
    assert "focus_start=" in page.url


BAR_POINT = """([i, price]) => {
  const c = document.getElementById('radar-chart');
  c.scrollIntoView({block: 'start'});
  const xa = c._fullLayout.xaxis, ya = c._fullLayout.yaxis;
  const r = c.getBoundingClientRect();
  return [r.left + xa._offset + xa.l2p(i), r.top + ya._offset + ya.l2p(price)];
}"""


def bar_index(page, when: str) -> int:
    return page.evaluate(
        "(d) => document.getElementById('radar-chart').radarTs.findIndex(t => t.startsWith(d))",
        when,
    )


def click_bar(page, frame, i: int) -> None:
    middle = float((frame["high"].iloc[i] + frame["low"].iloc[i]) / 2)
    x, y = page.evaluate(BAR_POINT, [i, middle])
    page.mouse.move(x, y)
    page.mouse.click(x, y)


def key_point_lines(page) -> list[str]:
    return page.input_value("#label-panel-body textarea[name=key_points]").splitlines()


def test_key_points_clicked_on_bars_with_hotkeys_snap_to_high_and_low(
    series, logged_in_page, user, screenshot
):
    page = logged_in_page
    open_radar(page)
    page.click("#label-mode")
    drag(page, 0.30, 0.70)
    page.wait_for_selector("#label-panel-body form.label-form")
    assert "Enter" in page.inner_text("#label-panel-body .hotkeys")  # the keys are on the page
    page.keyboard.press("1")  # focus is on the pattern type: 1 = double top
    assert page.input_value("#label-panel-body select[name=pattern_type]") == "DT"
    page.wait_for_selector(".key-point-role[data-role=P2]")
    first = bar_index(page, page.input_value("#label-panel-body input[name=start]"))
    # The chart's bars are the stored bars from the start of the shown window.
    frame = series["frame"].iloc[
        len(series["frame"])
        - page.evaluate("() => document.getElementById('radar-chart').radarTs.length") :
    ]
    p1, v1, p2 = first + 12, first + 20, first + 28
    page.keyboard.press("q")  # arm P1
    assert page.get_attribute(".key-point-role[data-role=P1]", "aria-pressed") == "true"
    click_bar(page, frame, p1)
    page.wait_for_function(
        "() => document.querySelector('#label-panel-body textarea[name=key_points]').value"
    )
    # P1 placed: V1 is armed next, so the following clicks need no key.
    assert page.get_attribute(".key-point-role[data-role=V1]", "aria-pressed") == "true"
    click_bar(page, frame, v1)
    click_bar(page, frame, p2 + 1)
    page.keyboard.press("e")  # P2 again: clicking another bar moves it
    click_bar(page, frame, p2)
    page.wait_for_function("() => document.getElementById('radar-chart').dataset.keyPoints === '3'")

    def day(i):
        return frame.index[i].date().isoformat()

    # Drag P1's circle eight bars to the left: it snaps to that bar's High.
    x, y = page.evaluate(BAR_POINT, [p1, float(frame["high"].iloc[p1])])
    x_to, _ = page.evaluate(BAR_POINT, [p1 - 8, float(frame["high"].iloc[p1])])
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move((x + x_to) / 2, y + 2, steps=5)
    page.mouse.move(x_to, y + 4, steps=5)
    page.mouse.up()
    p1 -= 8
    page.wait_for_function(
        "(line) => document.querySelector('#label-panel-body textarea[name=key_points]')"
        ".value.startsWith(line)",
        arg=f"P1 {day(p1)} ",
    )
    assert key_point_lines(page) == [
        f"P1 {day(p1)} {frame['high'].iloc[p1]:g}",
        f"V1 {day(v1)} {frame['low'].iloc[v1]:g}",
        f"P2 {day(p2)} {frame['high'].iloc[p2]:g}",
    ]
    screenshot(page, "labeling-key-points")
    page.focus("#label-panel-body select[name=pattern_type]")
    page.keyboard.press("Enter")  # saves
    page.wait_for_selector("#label-panel-body .label-saved")
    label = Label.objects.get()
    assert label.pattern_type == "DT"
    assert [(p["role"], p["price"]) for p in label.key_points] == [
        ("P1", float(frame["high"].iloc[p1])),
        ("V1", float(frame["low"].iloc[v1])),
        ("P2", float(frame["high"].iloc[p2])),
    ]
    assert [datetime.fromisoformat(p["ts"]) for p in label.key_points] == [
        frame.index[i].to_pydatetime() for i in (p1, v1, p2)
    ]
    # The saved label's key points are drawn on the Radar (labels layer).
    page.wait_for_function(
        "() => document.getElementById('radar-chart').data.some(t => t.name === 'Key points')"
    )
    drawn = page.evaluate(
        "() => document.getElementById('radar-chart').data.find(t => t.name === 'Key points')"
    )
    assert drawn["x"] == [p1, v1, p2] and drawn["text"] == ["P1", "V1", "P2"]


def test_hotkey_list_opens_with_question_mark_and_esc_cancels(series, logged_in_page):
    page = logged_in_page
    open_radar(page)
    page.click("#label-mode")
    drag(page, 0.40, 0.55)
    page.wait_for_selector("#label-panel-body form.label-form")
    page.keyboard.press("3")
    assert page.input_value("#label-panel-body select[name=pattern_type]") == "HS"
    roles = page.eval_on_selector_all(
        "#label-panel-body .key-point-role", "(buttons) => buttons.map(b => b.dataset.role)"
    )
    assert roles == ["LS", "NL1", "H", "NL2", "RS"]
    page.keyboard.press("?")
    page.wait_for_selector("#label-panel-body dialog.label-hotkeys[open]")
    listed = page.inner_text("#label-panel-body dialog.label-hotkeys")
    assert "Head and shoulders" in listed and "LS ▲ NL1 ▼ H ▲ NL2 ▼ RS ▲" in listed
    page.keyboard.press("Escape")  # closes the list only
    page.wait_for_selector("#label-panel-body dialog.label-hotkeys", state="hidden")
    assert page.is_visible("#label-panel")
    page.keyboard.press("w")  # arms NL1; Esc drops it first
    assert page.get_attribute(".key-point-role[data-role=NL1]", "aria-pressed") == "true"
    page.keyboard.press("Escape")
    assert page.get_attribute(".key-point-role[data-role=NL1]", "aria-pressed") == "false"
    page.keyboard.press("Escape")  # then cancels: the panel closes, nothing saved
    page.wait_for_selector("#label-panel", state="hidden")
    assert not Label.objects.exists()


def test_hotkeys_on_the_label_page(series, logged_in_page, user):
    page = logged_in_page
    frame = series["frame"]
    start, end = frame.index[-30].date().isoformat(), frame.index[-10].date().isoformat()
    page.goto(f"/labels/new/?symbol=005930&timeframe=1d&start={start}&end={end}")
    page.focus("select[name=pattern_type]")
    page.keyboard.press("4")
    assert page.input_value("select[name=pattern_type]") == "IHS"
    assert page.is_hidden(".key-point-picker")  # no chart to click on this page
    page.keyboard.press("Enter")  # saves (the page's form posts with htmx)
    page.wait_for_selector(".label-saved")
    label = Label.objects.get()
    assert (label.pattern_type, label.direction) == ("IHS", "bullish")
    page.goto(f"/labels/{label.pk}/edit/")
    with page.expect_navigation():
        page.keyboard.press("Escape")  # cancels: back to the label
    assert page.url.endswith(f"/labels/{label.pk}/")
