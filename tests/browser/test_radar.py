"""The Trading Radar in headless Chromium: the chart draws, layers toggle, the symbol search
switches symbol, replay hides later points, label mode reports a bar range, labels redraw."""

from datetime import date

import pytest

from analysis.tests.factories import make_swing_stock, swing_series
from labeling.tests.factories import make_label
from marketdata.tests.factories import make_candles, make_stock

pytestmark = pytest.mark.browser


@pytest.fixture
def series(transactional_db):
    samsung, samsung_frame = make_swing_stock()  # 704 daily bars
    hynix = make_stock("000660", "SK하이닉스")
    make_candles(hynix, "1d", swing_series("1d", date(2024, 6, 3), date(2025, 11, 20), seed=3))
    return {"samsung": samsung, "samsung_frame": samsung_frame, "hynix": hynix}


def open_radar(page, query="symbol=005930&tf=1d"):
    page.goto(f"/radar/?{query}")
    page.wait_for_selector("#radar-chart[data-ready=true]")


def trace_x(page, name):
    return page.evaluate(
        """(name) => {
            const t = document.getElementById('radar-chart').data.find(t => t.name === name);
            return t ? Array.from(t.x) : null;
        }""",
        name,
    )


def rendered_points(page, name):
    """Marker paths Plotly actually drew for the trace called `name` (0 when hidden)."""
    return page.evaluate(
        """(name) => {
            const gd = document.getElementById('radar-chart');
            const i = gd.data.findIndex(t => t.name === name);
            const layer = gd.querySelectorAll('.scatterlayer .trace')[
                gd._fullData.filter(t => t.type === 'scatter').findIndex(t => t.index === i)];
            return layer && gd._fullData[i].visible === true
                ? layer.querySelectorAll('path.point').length : 0;
        }""",
        name,
    )


def test_chart_renders_candles_and_markers(series, logged_in_page, screenshot):
    page = logged_in_page
    open_radar(page)
    assert len(trace_x(page, "Price")) == 500
    assert page.locator("#radar-chart .boxlayer .trace path").count() > 0  # candlestick bodies
    assert rendered_points(page, "Major peak") > 0 and rendered_points(page, "Major valley") > 0
    assert page.locator("#radar-chart .xtick").count() >= 3  # KST tick labels
    assert "삼성전자" in page.inner_text("#radar-info")
    # A calm chart by default: minor points and trend shading are one click away.
    assert rendered_points(page, "Minor peak") == 0
    assert not page.is_checked('input[data-layer="trend"]')
    # Pattern and target labels never overlap on screen (staggered, or faded when no line is
    # free), at the default view and zoomed out over every stored bar.
    overlaps = """() => {
        const gd = document.getElementById('radar-chart');
        const boxes = Array.from(gd.querySelectorAll('g.annotation[data-index]'))
            .filter(g => { const a = gd.layout.annotations[Number(g.dataset.index)];
                           return a.name !== 'price' && a.opacity !== 0; })
            .map(g => g.getBoundingClientRect()).filter(r => r.width > 0);
        let hits = 0;
        boxes.forEach((a, i) => boxes.slice(i + 1).forEach(b => {
            if (a.left < b.right - 1 && a.right > b.left + 1 && a.top < b.bottom - 1
                && a.bottom > b.top + 1) hits += 1; }));
        return [boxes.length, hits];
    }"""
    shown, hits = page.evaluate(overlaps)
    assert shown > 3 and hits == 0
    # The last close sits as a tag on the price axis.
    last_close = series["samsung_frame"]["close"].iloc[-1]
    tags = page.evaluate(
        "document.getElementById('radar-chart').layout.annotations"
        ".filter(a => a.name === 'price').map(a => a.text)"
    )
    assert tags == [f"{last_close:,.0f}"]
    # Hovering a candle writes its KST time, O/H/L/C, volume and change into the fixed legend
    # inside the chart, draws the crosshair with its date and price tags, and moves nothing.
    boxes = (
        "() => ['#radar-chart', '#radar-info', '#replay', '#detected-patterns']"
        ".map(s => { const r = document.querySelector(s).getBoundingClientRect();"
        " return [r.x, r.y, r.width, r.height]; })"
    )
    before = page.evaluate(boxes)
    x, y = page.evaluate(
        """() => { const gd = document.getElementById('radar-chart'), fl = gd._fullLayout;
                   const box = gd.querySelector('.nsewdrag').getBoundingClientRect();
                   const c = gd.data[0], i = 480;
                   const mid = (c.open[i] + c.close[i]) / 2;
                   return [box.left + fl.xaxis.l2p(i), box.top + fl.yaxis.l2p(mid)]; }"""
    )
    label = series["samsung_frame"].index[-20].tz_convert("Asia/Seoul").strftime("%Y-%m-%d")
    page.mouse.move(x, y)
    page.wait_for_function(
        f"() => document.getElementById('hover-readout').textContent.includes('{label}')"
    )
    legend = page.inner_text("#hover-readout")
    bar = series["samsung_frame"].iloc[-20]
    assert f"{bar['open']:,.0f}" in legend and f"{bar['close']:,.0f}" in legend
    assert page.is_visible(".crosshair-x") and page.is_visible(".crosshair-y")
    assert label in page.inner_text(".crosshair-x")
    assert page.evaluate(boxes) == before  # nothing moved
    screenshot(page, "radar-005930-1d")


def test_toggling_a_layer_hides_it_and_keeps_the_choice_in_the_url(
    series, logged_in_page, screenshot
):
    page = logged_in_page
    open_radar(page)
    before = rendered_points(page, "Major peak")
    assert before > 0
    page.uncheck('input[data-layer="major"]')
    page.wait_for_function(
        "() => document.getElementById('radar-chart').data.find(t => t.name === 'Major peak')"
        ".visible === false"
    )
    assert rendered_points(page, "Major peak") == 0
    assert "layers=major" not in page.url and "layers=zigzag" in page.url
    trend = (
        "() => document.getElementById('radar-chart').layout.shapes.filter(s => s.name === 'trend')"
    )
    assert page.evaluate(f"({trend})().length") > 0
    assert page.evaluate(f"({trend})().every(s => s.visible === false)")  # off by default
    page.check('input[data-layer="trend"]')
    page.wait_for_function(f"() => ({trend})().every(s => s.visible !== false)")
    assert "layers=trend" in page.url
    screenshot(page, "radar-layers-off")
    # The URL reproduces the view.
    page.reload()
    page.wait_for_selector("#radar-chart[data-ready=true]")
    assert not page.is_checked('input[data-layer="major"]')
    assert rendered_points(page, "Major peak") == 0


def test_symbol_search_switches_symbol(series, logged_in_page, screenshot):
    page = logged_in_page
    open_radar(page)
    page.fill("#symbol-input", "")
    page.type("#symbol-input", "하이닉스")
    link = page.locator("#symbol-results a", has_text="SK하이닉스")
    link.wait_for()
    screenshot(page, "radar-symbol-search")
    link.click()
    page.wait_for_url("**/radar/?symbol=000660*")
    page.wait_for_selector("#radar-chart[data-ready=true]")
    assert "SK하이닉스" in page.inner_text("#radar-info")
    assert page.evaluate("document.getElementById('radar-chart').dataset.symbol") == "000660"


def test_replay_hides_later_points(series, logged_in_page, screenshot):
    page = logged_in_page
    open_radar(page)
    live_peaks = trace_x(page, "Major peak")
    live_rows = page.locator("#detected-patterns tr.pattern-row").count()
    page.evaluate(
        """() => { const s = document.getElementById('replay-bar');
                   s.value = '250'; s.dispatchEvent(new Event('input', {bubbles: true})); }"""
    )
    page.wait_for_function(
        "() => document.getElementById('radar-chart').data[0].x.length === 251", timeout=15_000
    )
    peaks = trace_x(page, "Major peak")
    assert peaks and max(peaks) <= 250 and len(peaks) < len(live_peaks)
    assert "asof=250" in page.url
    assert "As known at bar 250" in page.inner_text("#replay-status")
    rows = page.locator("#detected-patterns tr.pattern-row")
    assert rows.count() < live_rows  # patterns detected after bar 250 are not listed
    screenshot(page, "radar-replay-250")
    # An indicator changed in replay redraws the same moment, not the live chart.
    page.check('input[name="ind"][value="sma20"]')
    page.wait_for_function(
        "() => document.getElementById('radar-chart').data.some(t => t.name === 'SMA 20')"
    )
    assert page.evaluate("document.getElementById('radar-chart').data[0].x.length") == 251
    assert "asof=250" in page.url and "ind=sma20" in page.url
    assert "As known at bar 250" in page.inner_text("#replay-status")
    assert page.input_value("#replay-bar") == "250"
    page.click("#replay-prev")
    page.wait_for_function("() => document.getElementById('radar-chart').data[0].x.length === 250")
    page.click("#replay-live")
    page.wait_for_function("() => document.getElementById('radar-chart').data[0].x.length === 500")
    assert "asof" not in page.url
    # Another stock typed into the box while replaying: its live chart (bar N of another
    # stock is another moment).
    open_radar(page, "symbol=005930&tf=1d&asof=250")
    page.fill("#symbol-input", "000660")
    page.click("button.apply")
    page.wait_for_function(
        "() => document.getElementById('radar-chart').dataset.symbol === '000660'"
    )
    assert "asof" not in page.url
    assert page.evaluate("document.getElementById('replay-state').dataset.asof") == ""
    assert "Live" in page.inner_text("#replay-status")


def test_load_older_in_place(series, logged_in_page):
    page = logged_in_page
    open_radar(page)
    page.click("#load-older")
    page.wait_for_function("() => document.getElementById('radar-chart').data[0].x.length === 704")
    assert "bars=704" in page.url
    # The text above the chart says what is shown now, and the link is gone.
    assert "All 704 stored 1d bars shown" in page.inner_text("#radar-span")
    assert page.locator("#load-older").count() == 0
    assert page.input_value("#radar-controls input[name=bars]") == "704"


def test_panning_to_the_left_edge_loads_older_bars(series, logged_in_page):
    page = logged_in_page
    open_radar(page, "symbol=005930&tf=1d&bars=300")
    page.evaluate(
        "Plotly.relayout(document.getElementById('radar-chart'), {'xaxis.range': [-3, 80]})"
    )
    page.wait_for_function("() => document.getElementById('radar-chart').data[0].x.length === 704")
    assert "bars=704" in page.url
    # The view stays on the same bars: shifted right by the 404 bars added on the left.
    x0, _x1 = page.evaluate("document.getElementById('radar-chart').layout.xaxis.range")
    assert 400 <= x0 <= 402


def test_label_mode_drag_reports_the_snapped_bar_range(series, logged_in_page, screenshot):
    page = logged_in_page
    open_radar(page)
    page.evaluate(
        """() => { window.selected = null;
                   document.addEventListener('radar:range-selected',
                                             e => { window.selected = e.detail; }); }"""
    )
    page.click("#label-mode")
    assert page.get_attribute("#label-mode", "aria-pressed") == "true"
    box = page.locator("#radar-chart .nsewdrag").first.bounding_box()
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * 0.40, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.50, y + 5, steps=8)
    page.mouse.move(box["x"] + box["width"] * 0.55, y + 10, steps=8)
    page.mouse.up()
    page.wait_for_function("() => window.selected !== null")
    detail = page.evaluate("window.selected")
    screenshot(page, "radar-label-mode")
    ts = series["samsung_frame"].index[-500:]
    assert detail["symbol"] == "005930" and detail["timeframe"] == "1d"
    start, end = detail["startIndex"], detail["endIndex"]
    assert 0 < start < end < 500
    assert detail["start"] == ts[start].isoformat() and detail["end"] == ts[end].isoformat()
    assert detail["start"].endswith("+09:00")


def test_labels_changed_event_redraws_with_the_new_label(series, logged_in_page, user):
    page = logged_in_page
    open_radar(page)
    count = (
        "document.getElementById('radar-chart').layout.shapes"
        ".filter(s => s.name === 'labels').length"
    )
    assert page.evaluate(count) == 0
    frame = series["samsung_frame"]
    make_label(
        user,
        series["samsung"],
        frame.index[-50].to_pydatetime(),
        frame.index[-30].to_pydatetime(),
        pattern_type="DB",
    )
    page.evaluate("document.dispatchEvent(new CustomEvent('radar:labels-changed'))")
    page.wait_for_function(f"() => {count} === 1")
    assert page.url.endswith("/radar/?symbol=005930&tf=1d")  # no reload, no navigation


def test_pattern_zoom_link_zooms_the_chart(series, logged_in_page):
    page = logged_in_page
    open_radar(page, "symbol=005930&tf=1d&bars=704")
    row = page.locator("#detected-patterns tr.pattern-row").first
    start = int(row.get_attribute("data-start-index"))
    end = int(row.get_attribute("data-end-index"))
    row.locator("a.zoom").click()
    page.wait_for_function(
        f"() => (() => {{ const r = document.getElementById('radar-chart').layout.xaxis.range;"
        f" return r[0] < {start} && r[0] > {start} - 200 && r[1] > {end}; }})()"
    )
    assert "focus_start" not in page.url  # zoomed in place


def test_empty_state_and_unknown_symbol_without_js_errors(series, logged_in_page):
    page = logged_in_page
    make_stock("035720", "카카오")
    page.goto("/radar/?symbol=035720&tf=1d")
    assert "python manage.py backfill --codes 035720 --timeframes 1d" in page.inner_text(
        "#radar-empty"
    )
    page.expected_error_urls.append("/radar/?symbol=999999")
    response = page.goto("/radar/?symbol=999999")
    assert response.status == 404
    page.fill("#q", "삼성")
    page.locator("#symbol-results a", has_text="삼성전자").wait_for()


def test_intraday_chart_has_no_overnight_gaps(series, logged_in_page, screenshot):
    page = logged_in_page
    make_candles(series["samsung"], "5m", swing_series("5m", date(2025, 10, 1), date(2025, 11, 20)))
    open_radar(page, "symbol=005930&tf=5m&pane=rsi")
    x = trace_x(page, "Price")
    assert x == list(range(500))
    ticks = page.evaluate("document.getElementById('radar-chart').layout.xaxis.ticktext")
    assert ticks and all("/" in t for t in ticks)  # day boundaries, MM/DD
    assert page.locator("#radar-chart .boxlayer .trace path").count() > 0
    screenshot(page, "radar-005930-5m-rsi")


def test_first_full_load_is_measured_and_uses_the_small_plotly_bundle(series, logged_in_page):
    """Prints what a first Radar load (empty cache: a fresh browser context) transfers and how
    long it takes; the page loads the finance build of plotly.js, not the 4.8 MB full one."""
    page = logged_in_page
    # The login redirected to the Radar already: empty the cache so this load fetches it all.
    page.context.new_cdp_session(page).send("Network.clearBrowserCache")
    open_radar(page)
    load = page.evaluate(
        """() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const resources = performance.getEntriesByType('resource');
            const all = [nav, ...resources];
            return {
                transferred: all.reduce((sum, e) => sum + e.transferSize, 0),
                decoded: all.reduce((sum, e) => sum + e.decodedBodySize, 0),
                loadMs: nav.loadEventEnd - nav.startTime,
                requests: all.length,
                plotly: resources.filter(e => e.name.includes('/static/js/plotly'))
                    .map(e => [e.name, e.decodedBodySize]),
            };
        }"""
    )
    print(
        f"\nFirst Radar load (500 bars, test server): {load['requests']} requests, "
        f"{load['transferred'] / 1e6:.2f} MB transferred ({load['decoded'] / 1e6:.2f} MB "
        f"decoded), load event at {load['loadMs']:.0f} ms"
    )
    [(url, size)] = load["plotly"]
    assert "plotly-finance-" in url and size < 1_500_000
    assert load["transferred"] > 0 and load["loadMs"] > 0


PAGE_STATE = """() => {
    const gd = document.getElementById('radar-chart');
    const trace = (name) => { const t = gd.data.find(t => t.name === name);
                              return t ? Array.from(t.x) : null; };
    return {
        info: document.getElementById('radar-info').innerText,
        span: document.getElementById('radar-span').innerText,
        count: document.getElementById('pattern-count').innerText,
        rows: Array.from(document.querySelectorAll('#detected-patterns tr.pattern-row'))
            .map(r => r.innerText),
        status: document.getElementById('replay-status').innerText,
        bars: gd.data[0].x.length,
        peaks: trace('Major peak'),
        zigzag: trace('Zigzag'),
        shapes: gd.layout.shapes.map(s => [s.name, s.x0, s.x1, s.visible !== false]),
        annotations: gd.layout.annotations.map(a => [a.name, a.text]),
    };
}"""


def test_replay_slider_and_asof_url_show_the_same_page(series, logged_in_page, screenshot):
    """Replay hides everything after the cursor in every part of the page, and the slider gives
    exactly the page that `?asof=` opens: chart, pattern rows and their status, counts, info
    line (close and trend as of the cursor)."""
    page = logged_in_page
    frame = series["samsung_frame"].iloc[-500:]
    for bar in (48, 250, 433):
        open_radar(page)
        page.evaluate(
            """(bar) => { const s = document.getElementById('replay-bar');
                          s.value = String(bar);
                          s.dispatchEvent(new Event('input', {bubbles: true})); }""",
            bar,
        )
        page.wait_for_function(
            f"() => document.getElementById('replay-state').dataset.asof === '{bar}'"
            f" && document.getElementById('radar-chart').data[0].x.length === {bar + 1}"
        )
        assert f"asof={bar}" in page.url
        by_slider = page.evaluate(PAGE_STATE)
        open_radar(page, f"symbol=005930&tf=1d&asof={bar}")
        by_url = page.evaluate(PAGE_STATE)
        assert by_slider == by_url, bar
        # Nothing after the cursor: the close and date in the info line are the cursor's, no
        # pattern row ends after it, the count matches the rows.
        cursor = frame.index[bar].tz_convert("Asia/Seoul")
        assert f"{frame['close'].iloc[bar]:,.0f}원" in by_url["info"]
        assert cursor.strftime("%Y-%m-%d") in by_url["info"]
        assert f"({len(by_url['rows'])} in view)" in by_url["count"]
        for row in by_url["rows"]:
            end = row.split("–")[1].strip()[:10] if "–" in row else ""
            assert end <= cursor.strftime("%Y-%m-%d"), row
        assert max(by_url["peaks"] or [0]) <= bar
    screenshot(page, "radar-replay-433")


def test_controls_swap_the_view_and_keep_zoom_label_mode_and_url(series, logged_in_page):
    """Indicators, timeframe and symbol swap the figure without a page load; the zoom stays on
    the same timeframe, label mode stays on, the URL reproduces the view."""
    page = logged_in_page
    make_candles(series["samsung"], "5m", swing_series("5m", date(2025, 10, 1), date(2025, 11, 20)))
    make_candles(
        series["hynix"], "5m", swing_series("5m", date(2025, 10, 1), date(2025, 11, 20), seed=3)
    )
    open_radar(page)
    page.evaluate("window.samePage = true")
    page.click("#label-mode")
    page.evaluate(
        "Plotly.relayout(document.getElementById('radar-chart'), {'xaxis.range': [300, 400]})"
    )
    page.wait_for_function(
        "() => document.getElementById('radar-chart').layout.xaxis.range[0] === 300"
    )
    # An indicator: drawn in place, zoom and label mode kept, URL updated.
    page.check('input[name="ind"][value="sma20"]')
    page.wait_for_function(
        "() => document.getElementById('radar-chart').data.some(t => t.name === 'SMA 20')"
    )
    assert "ind=sma20" in page.url
    x0, x1 = page.evaluate("document.getElementById('radar-chart').layout.xaxis.range")
    assert (x0, x1) == (300, 400)
    assert page.get_attribute("#label-mode", "aria-pressed") == "true"
    assert page.evaluate("document.getElementById('radar-chart').layout.dragmode") == "select"
    # Another timeframe: its own bars, the zoom reset, the indicator and label mode kept.
    page.click('#radar-timeframes a:text-is("5m")')
    page.wait_for_function(
        "() => document.getElementById('radar-chart').dataset.timeframe === '5m'"
    )
    assert "tf=5m" in page.url and "ind=sma20" in page.url
    assert page.get_attribute('#radar-timeframes a:text-is("5m")', "aria-current") == "page"
    assert "5m" in page.inner_text("#radar-info")
    x0, _ = page.evaluate("document.getElementById('radar-chart').layout.xaxis.range")
    assert x0 < 0
    assert page.get_attribute("#label-mode", "aria-pressed") == "true"
    # Another symbol from the type-ahead.
    page.fill("#symbol-input", "")
    page.type("#symbol-input", "하이닉스")
    page.locator("#symbol-results a", has_text="SK하이닉스").click()
    page.wait_for_function(
        "() => document.getElementById('radar-chart').dataset.symbol === '000660'"
    )
    assert "symbol=000660" in page.url
    assert "SK하이닉스" in page.inner_text("#radar-info")
    assert page.evaluate("window.samePage") is True  # never reloaded
    # The URL opens the same view.
    url = page.url
    page.goto(url)
    page.wait_for_selector("#radar-chart[data-ready=true]")
    assert page.evaluate(
        "document.getElementById('radar-chart').data.some(t => t.name === 'SMA 20')"
    )
    assert "SK하이닉스" in page.inner_text("#radar-info")
