/**
 * Trading Radar: draws the server-built Plotly figure and wires the page controls.
 *
 * The figure dict comes from analysis/figures.py, embedded as <script id="radar-figure"> inside
 * #radar-figure-holder. Its extra `radar` key lists, per layer, the trace / shape / annotation
 * indexes, so layer toggles only flip `visible` (no request); the choices are written back into
 * the URL (history.replaceState).
 *
 * One control model: everything else that changes what is shown — indicators, timeframe,
 * detector, symbol, replay, "Load older", labels changed — asks the server for the same page
 * with htmx (`GET /radar/?…`, the request the link or form would make without JavaScript). The
 * view answers with the page's `view` partial: the new figure JSON (swapped into
 * #radar-figure-holder) and, out of band, the info line, span line, timeframe links, replay
 * state and pattern list, all rendered by the same code as a full page. So replaying to bar N
 * with the slider shows exactly what opening `?asof=N` shows. After the swap the chart is
 * redrawn with Plotly.react; the zoom is kept when the timeframe stays the same (shifted by
 * the bars added on the left by "Load older"), label mode is kept, the URL is pushed
 * (replaced while replaying) so it stays shareable.
 *
 * Hooks for other parts of the page (pattern labeling):
 *  - Label mode: the "Label mode" button (#label-mode) switches the chart to dragmode "select"
 *    on an invisible scatter trace that shares the bar-index axis (Plotly cannot box-select
 *    candlesticks). A drag picks a bar range, snapped to whole bars, and dispatches
 *      document.dispatchEvent(new CustomEvent("radar:range-selected",
 *        {detail: {symbol, timeframe, start, end}}))
 *    with `start` / `end` the ISO 8601 instants (+09:00) of the first / last selected bar.
 *  - Dispatch `document.dispatchEvent(new CustomEvent("radar:labels-changed"))` after saving,
 *    editing or deleting a label: the page re-fetches its view (labels included, drawn in
 *    their own style under the "labels" layer) and redraws without a reload, keeping zoom.
 *  - After every draw the chart dispatches
 *      document.dispatchEvent(new CustomEvent("radar:drawn", {detail: {chart, ts}}))
 *    with `ts` the ISO instants (+09:00) of the bars on the x-axis (bar index i ↔ ts[i]), so
 *    labeling can put key points on bars and draw its own shapes after the layers' ones; the
 *    same list stays on the chart element as `chart.radarTs` for scripts that start later.
 *
 * Other behaviour: y-axis fitted to the visible bars and tick labels re-thinned on every zoom or
 * pan; panning to the left edge fetches older bars; a pattern's "Zoom" link zooms the chart;
 * the hovered bar's time, O/H/L/C, volume and change sit in a fixed legend inside the chart
 * (#hover-readout, the last bar's when the pointer is elsewhere) and a crosshair with its
 * price and date tags on the axes follows the pointer; nothing outside the chart moves. On a
 * phone the detector, layer and indicator controls start folded under "Controls".
 */
(function () {
  "use strict";

  // The page's /jsi18n/ catalog (templates/base.html); English when it is missing.
  const pgettext = window.pgettext || function (context, text) { return text; };

  const chart = document.getElementById("radar-chart");
  const holder = document.getElementById("radar-figure-holder");
  if (!chart || !holder || !window.Plotly) return;

  const form = document.getElementById("radar-controls");
  const legend = document.getElementById("hover-readout");
  const slider = document.getElementById("replay-bar");
  const labelButton = document.getElementById("label-mode");
  const symbolInput = document.getElementById("symbol-input");
  const config = {
    responsive: true,
    scrollZoom: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["lasso2d", "autoScale2d", "toggleSpikelines"],
  };
  const SWAP = { target: "#radar-figure-holder", swap: "innerHTML" };

  // The secondary controls start folded on a phone (the chart first) and open on a wide screen
  // (the width where static/css/radar.css hides their "Controls" summary).
  const controlGroups = document.getElementById("radar-control-groups");
  const narrow = window.matchMedia("(max-width: 760px)");
  function fitControls() {
    if (controlGroups) controlGroups.open = !narrow.matches;
  }
  fitControls();
  narrow.addEventListener("change", fitControls);

  let radar = null; // the `radar` key of the figure on screen
  let adjusting = false; // our own relayout in flight
  let replayTimer = null;
  let pending = null; // what the chart showed when a view request left

  function pageParams() {
    return new URLSearchParams(window.location.search);
  }

  function writeUrl(params) {
    const query = params.toString();
    history.replaceState(history.state, "", window.location.pathname + (query ? "?" + query : ""));
  }

  function layerOn(key) {
    const box = form && form.querySelector('input[data-layer="' + key + '"]');
    return box ? box.checked : true;
  }

  // Apply the checkbox state to a figure dict before it is drawn.
  function applyLayers(figure) {
    const layers = figure.radar.layers;
    Object.keys(layers).forEach(function (key) {
      const on = layerOn(key);
      layers[key].traces.forEach(function (i) { figure.data[i].visible = on; });
      layers[key].shapes.forEach(function (i) { figure.layout.shapes[i].visible = on; });
      layers[key].annotations.forEach(function (i) { figure.layout.annotations[i].visible = on; });
    });
  }

  function thinTicks(ticks, lo, hi, most) {
    const visible = ticks.filter(function (t) { return t[0] >= lo && t[0] <= hi; });
    const coarse = visible.filter(function (t) { return t[2] === 0; });
    const chosen = coarse.length >= 3 ? coarse : visible;
    const step = Math.max(1, Math.ceil(chosen.length / most));
    return chosen.filter(function (_, i) { return i % step === 0; });
  }

  function candleTrace() {
    return chart.data.find(function (t) { return t.type === "candlestick"; });
  }

  function volumeTrace() {
    // By its layer: the trace's name is in the page's language.
    return chart.data.find(function (t) { return t.meta && t.meta.layer === "volume"; });
  }

  // Fit the price axis to the bars in [lo, hi] and re-thin the tick labels.
  function fitView(lo, hi) {
    const candles = candleTrace();
    const update = {};
    const shown = thinTicks(radar.ticks, lo, hi, 10);
    update["xaxis.tickvals"] = shown.map(function (t) { return t[0]; });
    update["xaxis.ticktext"] = shown.map(function (t) { return t[1]; });
    if (candles && candles.x.length) {
      const first = Math.max(0, Math.ceil(lo));
      const last = Math.min(candles.x.length - 1, Math.floor(hi));
      let min = Infinity;
      let max = -Infinity;
      for (let i = first; i <= last; i++) {
        if (candles.low[i] < min) min = candles.low[i];
        if (candles.high[i] > max) max = candles.high[i];
      }
      if (isFinite(min) && isFinite(max)) {
        const pad = (max - min) * 0.08 || Math.abs(max) * 0.01;
        update["yaxis.range"] = [min - pad, max + pad];
        update["yaxis.autorange"] = false;
      }
    }
    adjusting = true;
    return Plotly.relayout(chart, update).then(declutter).finally(function () { adjusting = false; });
  }

  // Labels never collide: pattern and target labels that would overlap on screen are staggered
  // up or down by a line (yshift), and one that finds no free line within LANES is faded out
  // (its pattern is in the list under the chart). Runs after every draw, zoom, pan and toggle.
  const LANE_PX = 17;
  const LANES = [0, 1, -1, 2, -2, 3, -3];
  function declutter() {
    const layout = chart.layout;
    if (!layout || !layout.annotations) return Promise.resolve();
    const placed = [];
    const update = {};
    const items = Array.from(chart.querySelectorAll("g.annotation[data-index]"))
      .map(function (g) {
        const i = Number(g.getAttribute("data-index"));
        const note = layout.annotations[i];
        const box = g.getBoundingClientRect();
        return { i: i, note: note, box: box, shift: note.yshift || 0 };
      })
      .filter(function (item) {
        return item.note && item.note.name !== "price" && item.box.width > 0;
      })
      .sort(function (a, b) { return a.box.left - b.box.left; });
    items.forEach(function (item) {
      // Where it would sit without a shift (yshift moves it up by that many pixels).
      const top = item.box.top + item.shift;
      const bottom = item.box.bottom + item.shift;
      const lane = LANES.find(function (k) {
        const t = top - k * LANE_PX;
        const b = bottom - k * LANE_PX;
        return !placed.some(function (p) {
          return item.box.left < p.right && item.box.right > p.left && t < p.bottom && b > p.top;
        });
      });
      const shift = lane === undefined ? 0 : lane * LANE_PX;
      const opacity = lane === undefined ? 0 : 1;
      if (lane !== undefined) {
        placed.push({ left: item.box.left, right: item.box.right, top: top - shift, bottom: bottom - shift });
      }
      if (shift !== item.shift) update["annotations[" + item.i + "].yshift"] = shift;
      if (opacity !== (item.note.opacity === undefined ? 1 : item.note.opacity)) {
        update["annotations[" + item.i + "].opacity"] = opacity;
      }
    });
    if (!Object.keys(update).length) return Promise.resolve();
    return Plotly.relayout(chart, update);
  }

  function currentRange() {
    const range = chart.layout.xaxis.range;
    return [range[0], range[1]];
  }

  function draw(figure, range) {
    radar = figure.radar;
    applyLayers(figure);
    delete figure.radar;
    if (range) figure.layout.xaxis.range = range;
    figure.layout.dragmode = labelButton && labelButton.getAttribute("aria-pressed") === "true" ? "select" : "pan";
    figure.layout.selectdirection = "h";
    return Plotly.react(chart, figure.data, figure.layout, config).then(function () {
      showLegend(null);
      const r = currentRange();
      return fitView(r[0], r[1]);
    }).then(function () {
      chart.radarTs = radar.ts;
      document.dispatchEvent(new CustomEvent("radar:drawn", { detail: { chart: chart, ts: radar.ts } }));
    });
  }

  function readFigure() {
    const source = document.getElementById("radar-figure");
    return source ? JSON.parse(source.textContent) : null;
  }

  // --- one control model: every change of view is the page's own GET, answered by htmx -----
  function viewUrl(params) {
    return window.location.pathname + "?" + params.toString();
  }

  function swapView(params, source) {
    if (!window.htmx) return Promise.resolve();
    return window.htmx.ajax("GET", viewUrl(params), Object.assign({ source: source || holder }, SWAP));
  }

  function isViewRequest(event) {
    const target = event.detail && event.detail.target;
    return target && target.id === "radar-figure-holder";
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!isViewRequest(event) || !radar) return;
    const elt = event.detail.elt;
    pending = {
      range: currentRange(),
      timeframe: radar.timeframe,
      bars: radar.window,
      asof: radar.asof,
      older: Boolean(elt && elt.id === "load-older"),
      replay: Boolean(elt && elt.id === "replay-bar"),
    };
  });

  let swapped = null; // htmx fires afterSwap once per swapped element: handle a response once
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!isViewRequest(event) || event.detail.xhr === swapped) return;
    swapped = event.detail.xhr;
    const figure = readFigure();
    if (!figure) return;
    const before = pending;
    pending = null;
    let keep = null;
    const sameSeries = before && before.timeframe === figure.radar.timeframe;
    // The zoom stays while the series and the replay bar do (an indicator changed, live or in
    // replay); a new replay bar or a focus link brings its own view.
    if (sameSeries && figure.radar.asof === before.asof && !figure.radar.focus && !before.replay) {
      const shift = before.older ? figure.radar.window - before.bars : 0;
      keep = [before.range[0] + shift, before.range[1] + shift];
    }
    const info = document.getElementById("radar-info");
    if (info) {
      chart.dataset.symbol = info.dataset.symbol;
      chart.dataset.timeframe = info.dataset.timeframe;
      if (symbolInput && document.activeElement !== symbolInput) symbolInput.value = info.dataset.symbol;
    }
    const results = document.getElementById("symbol-results");
    if (results) results.innerHTML = "";
    const state = document.getElementById("replay-state");
    if (slider && state && !(before && before.replay)) {
      slider.max = state.dataset.max;
      slider.value = state.dataset.asof === "" ? state.dataset.max : state.dataset.asof;
    }
    draw(figure, keep);
  });

  // A page whose view came from htmx is not restored from htmx's history cache (the chart is
  // live JavaScript state): going back or forward loads the page again.
  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) window.htmx.config.refreshOnHistoryMiss = true;
  });

  // --- layers and controls ----------------------------------------------------------------
  function toggleLayer(key, on) {
    const slot = radar.layers[key];
    if (!slot) return Promise.resolve();
    const work = [];
    if (slot.traces.length) work.push(Plotly.restyle(chart, { visible: on }, slot.traces));
    const update = {};
    slot.shapes.forEach(function (i) { update["shapes[" + i + "].visible"] = on; });
    slot.annotations.forEach(function (i) { update["annotations[" + i + "].visible"] = on; });
    if (Object.keys(update).length) {
      adjusting = true;
      work.push(Plotly.relayout(chart, update).finally(function () { adjusting = false; }));
    }
    return Promise.all(work).then(function () {
      adjusting = true;
      return declutter().finally(function () { adjusting = false; });
    });
  }

  function syncLayersToUrl() {
    const params = pageParams();
    params.delete("layers");
    params.append("layers", "_");
    form.querySelectorAll("input[data-layer]").forEach(function (box) {
      if (box.checked) params.append("layers", box.value);
    });
    writeUrl(params);
  }

  if (form) {
    // The controls' GET keeps the replay bar (#radar-asof) for the same stock only: bar N of
    // another stock is another moment.
    form.addEventListener("htmx:configRequest", function (event) {
      const params = event.detail.parameters;
      if (event.detail.elt !== form || !params.asof) return;
      if (String(params.symbol || "").trim().toUpperCase() !== chart.dataset.symbol) delete params.asof;
    });
    form.addEventListener("change", function (event) {
      const control = event.target;
      if (control.matches("input[data-layer]")) {
        toggleLayer(control.value, control.checked);
        syncLayersToUrl();
      } else if (control !== symbolInput && control.name) {
        // Indicators, detector, …: the same GET the Apply button sends, through htmx.
        form.requestSubmit();
      }
    });
  }

  // Picking a stock from the type-ahead swaps the view in place (the link works without JS).
  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("#symbol-results a[href]");
    if (!link || !window.htmx || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    const url = new URL(link.href, window.location.href);
    window.htmx.ajax("GET", url.pathname + url.search, Object.assign({ source: holder }, SWAP))
      .then(function () {
        history.pushState(null, "", url.pathname + url.search);
      });
  });

  // --- zoom, pan, older history ----------------------------------------------------------
  function onRelayout(event) {
    if (adjusting || !radar) return;
    const keys = Object.keys(event || {});
    if (!keys.some(function (k) { return k.indexOf("xaxis.range") === 0 || k === "xaxis.autorange"; })) return;
    const r = currentRange();
    fitView(r[0], r[1]);
    // Panned or zoomed out to the first bar: fetch older ones (not on a double-click reset).
    const moved = keys.some(function (k) { return k.indexOf("xaxis.range") === 0; });
    const older = document.getElementById("load-older");
    if (moved && r[0] <= 0 && older && radar.asof === null && !pending) older.click();
  }

  // --- replay ---------------------------------------------------------------------------
  function replayTo(asof) {
    const params = pageParams();
    if (asof === null) params.delete("asof");
    else params.set("asof", String(asof));
    writeUrl(params);
    return swapView(params, slider);
  }

  function sliderMax() {
    return slider ? Number(slider.max) : 0;
  }

  function stepTo(value) {
    value = Math.max(0, Math.min(sliderMax(), value));
    slider.value = String(value);
    return replayTo(value >= sliderMax() ? null : value);
  }

  if (slider) {
    slider.addEventListener("input", function () {
      clearTimeout(replayTimer);
      replayTimer = setTimeout(function () { stepTo(Number(slider.value)); }, 150);
    });
    document.addEventListener("click", function (event) {
      const link = event.target.closest && event.target.closest("#replay-prev, #replay-next, #replay-live");
      if (!link) return;
      event.preventDefault();
      if (link.id === "replay-live") stepTo(sliderMax());
      else stepTo(Number(slider.value) + (link.id === "replay-prev" ? -1 : 1));
    });
    document.getElementById("replay").addEventListener("submit", function (event) {
      event.preventDefault();
      stepTo(Number(slider.value));
    });
  }

  // --- label mode -----------------------------------------------------------------------
  function setLabelMode(on) {
    labelButton.setAttribute("aria-pressed", on ? "true" : "false");
    const hint = document.getElementById("label-hint");
    if (hint) hint.hidden = !on;
    adjusting = true;
    Plotly.relayout(chart, { dragmode: on ? "select" : "pan", selectdirection: "h" })
      .finally(function () { adjusting = false; });
  }

  function onSelected(event) {
    const labelMode = labelButton && labelButton.getAttribute("aria-pressed") === "true";
    if (!labelMode || !event || !radar || radar.bars === 0) return;
    let x0;
    let x1;
    if (event.range && event.range.x) {
      x0 = Math.min(event.range.x[0], event.range.x[1]);
      x1 = Math.max(event.range.x[0], event.range.x[1]);
    } else if (event.points && event.points.length) {
      const xs = event.points.map(function (p) { return p.x; });
      x0 = Math.min.apply(null, xs);
      x1 = Math.max.apply(null, xs);
    } else {
      return;
    }
    let start = Math.max(0, Math.ceil(x0 - 0.5));
    let end = Math.min(radar.bars - 1, Math.floor(x1 + 0.5));
    if (start > end) {
      start = end = Math.max(0, Math.min(radar.bars - 1, Math.round((x0 + x1) / 2)));
    }
    adjusting = true;
    Plotly.relayout(chart, { selections: [] }).finally(function () { adjusting = false; });
    document.dispatchEvent(new CustomEvent("radar:range-selected", {
      detail: {
        symbol: chart.dataset.symbol,
        timeframe: chart.dataset.timeframe,
        start: radar.ts[start],
        end: radar.ts[end],
        startIndex: start,
        endIndex: end,
      },
    }));
  }

  if (labelButton) {
    labelButton.hidden = false;
    labelButton.addEventListener("click", function () {
      setLabelMode(labelButton.getAttribute("aria-pressed") !== "true");
    });
  }

  document.addEventListener("radar:labels-changed", function () {
    swapView(pageParams());
  });

  // --- pattern list: zoom --------------------------------------------------------------
  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("#detected-patterns a.zoom");
    if (!link) return;
    const row = link.closest("tr");
    const start = Number(row.dataset.startIndex);
    const end = Number(row.dataset.endIndex);
    if (!radar || !isFinite(start) || !isFinite(end)) return;
    event.preventDefault();
    const pad = Math.max(5, Math.floor((end - start) / 2));
    const range = [Math.max(-0.5, start - pad), Math.min(radar.bars + 1.5, end + pad)];
    adjusting = true;
    Plotly.relayout(chart, { "xaxis.range": range })
      .then(function () { adjusting = false; return fitView(range[0], range[1]); })
      .finally(function () { adjusting = false; });
    chart.scrollIntoView({ block: "nearest" });
  });

  // --- symbol type-ahead: close the suggestions on Escape or a click elsewhere ------------
  const results = document.getElementById("symbol-results");
  if (results) {
    document.addEventListener("click", function (event) {
      if (!event.target.closest(".symbol-picker")) results.innerHTML = "";
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") results.innerHTML = "";
    });
  }

  // --- fixed legend and crosshair -------------------------------------------------------
  const numberFormat = new Intl.NumberFormat("ko-KR", { maximumFractionDigits: 0 });

  function barText(i) {
    const candles = candleTrace();
    if (!candles || !candles.text || !candles.text[i]) return "";
    return candles.text[i].split("<br>")[0];
  }

  // The legend: the hovered bar's values, or the last bar's when `bar` is null.
  function showLegend(bar) {
    const candles = candleTrace();
    if (!legend || !candles || !candles.x.length) return;
    const i = bar === null ? candles.x.length - 1 : bar;
    const volume = volumeTrace();
    const before = i > 0 ? candles.close[i - 1] : radar.close_before;
    const change = before ? (candles.close[i] / before - 1) * 100 : null;
    const parts = [
      ["", barText(i)],
      [pgettext("bar", "O"), numberFormat.format(candles.open[i])],
      [pgettext("bar", "H"), numberFormat.format(candles.high[i])],
      [pgettext("bar", "L"), numberFormat.format(candles.low[i])],
      [pgettext("bar", "C"), numberFormat.format(candles.close[i])],
      [pgettext("bar", "V"), volume ? numberFormat.format(volume.y[i]) : "–"],
      ["", change === null ? "–" : (change > 0 ? "+" : "") + change.toFixed(2) + "%"],
    ];
    legend.replaceChildren.apply(legend, parts.map(function (part) {
      const span = document.createElement("span");
      if (part[0]) {
        const key = document.createElement("b");
        key.textContent = part[0] + " ";
        span.appendChild(key);
      }
      span.appendChild(document.createTextNode(part[1]));
      return span;
    }));
    legend.classList.toggle("rise", change !== null && change > 0);
    legend.classList.toggle("fall", change !== null && change < 0);
  }

  const crosshair = {};
  ["v", "h", "x", "y"].forEach(function (key) {
    const el = document.createElement("div");
    el.className = "crosshair crosshair-" + key;
    el.hidden = true;
    chart.parentNode.appendChild(el);
    crosshair[key] = el;
  });

  function hideCrosshair() {
    Object.keys(crosshair).forEach(function (key) { crosshair[key].hidden = true; });
    showLegend(null);
  }

  function onPointer(event) {
    const fl = chart._fullLayout;
    if (!fl || !radar || !fl.xaxis || !fl.yaxis) return;
    const wrap = chart.parentNode.getBoundingClientRect();
    const box = chart.getBoundingClientRect();
    const px = event.clientX - box.left - fl._size.l;
    const py = event.clientY - box.top;
    const top = fl._size.t;
    const bottom = top + fl._size.h;
    if (px < 0 || px > fl._size.w || py < top || py > bottom) {
      hideCrosshair();
      return;
    }
    const candles = candleTrace();
    const bar = Math.round(fl.xaxis.p2l(px));
    if (!candles || bar < 0 || bar >= candles.x.length) {
      hideCrosshair();
      return;
    }
    const left = box.left - wrap.left + fl._size.l;
    const x = left + fl.xaxis.l2p(bar);
    const y = box.top - wrap.top + py;
    crosshair.v.style.left = x + "px";
    crosshair.v.style.top = (box.top - wrap.top + top) + "px";
    crosshair.v.style.height = fl._size.h + "px";
    crosshair.h.style.top = y + "px";
    crosshair.h.style.left = left + "px";
    crosshair.h.style.width = fl._size.w + "px";
    crosshair.x.textContent = barText(bar);
    crosshair.x.style.left = x + "px";
    crosshair.x.style.top = (box.top - wrap.top + bottom) + "px";
    const priceTop = fl.yaxis._offset;
    const priceBottom = priceTop + fl.yaxis._length;
    crosshair.y.hidden = py < priceTop || py > priceBottom;
    if (!crosshair.y.hidden) {
      crosshair.y.textContent = numberFormat.format(fl.yaxis.p2l(py - priceTop));
      crosshair.y.style.top = y + "px";
      crosshair.y.style.left = (left + fl._size.w) + "px";
    }
    crosshair.v.hidden = crosshair.h.hidden = crosshair.x.hidden = false;
    showLegend(bar);
  }

  chart.addEventListener("mousemove", onPointer);
  chart.addEventListener("mouseleave", hideCrosshair);

  draw(readFigure(), null).then(function () {
    chart.on("plotly_relayout", onRelayout);
    chart.on("plotly_selected", onSelected);
    chart.dataset.ready = "true";
  });
})();
