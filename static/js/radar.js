/**
 * Trading Radar: draws the server-built Plotly figure and wires the page controls.
 *
 * The figure dict comes from analysis/figures.py (embedded as <script id="radar-figure"> and
 * re-fetched from data-figure-url = /radar/figure?<same query as the page>). Its extra `radar`
 * key lists, per layer, the trace / shape / annotation indexes, so layer toggles only flip
 * `visible` (no recomputation); the choices are written back into the URL (history.replaceState).
 *
 * Hooks for other parts of the page (pattern labeling):
 *  - Label mode: the "Label mode" button (#label-mode) switches the chart to dragmode "select"
 *    on an invisible scatter trace that shares the bar-index axis (Plotly cannot box-select
 *    candlesticks). A drag picks a bar range, snapped to whole bars, and dispatches
 *      document.dispatchEvent(new CustomEvent("radar:range-selected",
 *        {detail: {symbol, timeframe, start, end}}))
 *    with `start` / `end` the ISO 8601 instants (+09:00) of the first / last selected bar.
 *  - Dispatch `document.dispatchEvent(new CustomEvent("radar:labels-changed"))` after saving,
 *    editing or deleting a label: the chart re-fetches its figure (labels included, drawn in
 *    their own style under the "labels" layer) and redraws without a page reload, keeping zoom.
 *
 * Other behaviour: y-axis fitted to the visible bars and tick labels re-thinned on every zoom or
 * pan; panning to the left edge (or "Load older") fetches 500 older bars in place; the replay
 * slider re-fetches the figure as known at that bar (?asof=); a pattern's "Zoom" link zooms the
 * chart; hovering a candle writes its KST time, O/H/L/C, volume and change into the info line.
 */
(function () {
  "use strict";

  const chart = document.getElementById("radar-chart");
  const source = document.getElementById("radar-figure");
  if (!chart || !source || !window.Plotly) return;

  const form = document.getElementById("radar-controls");
  const status = document.getElementById("replay-status");
  const readout = document.getElementById("hover-readout");
  const slider = document.getElementById("replay-bar");
  const labelButton = document.getElementById("label-mode");
  const labelHint = document.getElementById("label-hint");
  const loadOlder = document.getElementById("load-older");
  const config = {
    responsive: true,
    scrollZoom: true,
    displaylogo: false,
    modeBarButtonsToRemove: ["lasso2d", "autoScale2d", "toggleSpikelines"],
  };

  let radar = null; // the `radar` key of the figure on screen
  let adjusting = false; // our own relayout in flight
  let loading = false;
  let replayTimer = null;

  function pageParams() {
    return new URLSearchParams(window.location.search);
  }

  function writeUrl(params) {
    const query = params.toString();
    history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
  }

  function showError(message) {
    if (status) {
      status.textContent = message;
      status.classList.add("error");
    }
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
    return Plotly.relayout(chart, update).finally(function () { adjusting = false; });
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
      const r = currentRange();
      return fitView(r[0], r[1]);
    });
  }

  function figureUrl(params) {
    return chart.dataset.figureUrl + "?" + params.toString();
  }

  function fetchFigure(params) {
    return fetch(figureUrl(params), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.error || "The chart could not be loaded (" + response.status + ").");
          return body;
        });
      });
  }

  function redrawFromServer(params, rangeShift) {
    if (loading) return Promise.resolve();
    loading = true;
    const before = currentRange();
    const barsBefore = radar ? radar.bars : 0;
    return fetchFigure(params)
      .then(function (body) {
        const shift = rangeShift ? body.figure.radar.bars - barsBefore : 0;
        const keep = params.has("asof") ? null : [before[0] + shift, before[1] + shift];
        return draw(body.figure, keep).then(function () { return body; });
      })
      .catch(function (error) { showError(error.message); })
      .finally(function () { loading = false; });
  }

  // --- layers ---------------------------------------------------------------------------
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
    return Promise.all(work);
  }

  function syncLayersToUrl() {
    const params = pageParams();
    params.delete("layers");
    params.append("layers", "_");
    form.querySelectorAll("input[data-layer]").forEach(function (box) {
      if (box.checked) params.append("layers", box.value);
    });
    writeUrl(params);
    document.querySelectorAll('#replay input[name="layers"]').forEach(function (el) { el.remove(); });
  }

  if (form) {
    form.addEventListener("change", function (event) {
      const box = event.target;
      if (box.matches("input[data-layer]")) {
        toggleLayer(box.value, box.checked);
        syncLayersToUrl();
      } else if (box.matches("input[data-recompute]")) {
        form.requestSubmit();
      }
    });
  }

  // --- zoom, pan, older history ----------------------------------------------------------
  function loadOlderBars() {
    if (!loadOlder || loading) return;
    const target = new URL(loadOlder.href, window.location.href);
    const params = target.searchParams;
    redrawFromServer(params, true).then(function (body) {
      if (!body) return;
      const page = pageParams();
      page.set("bars", params.get("bars"));
      writeUrl(page);
      // Keep the new span when the controls form is submitted (indicators, Apply).
      let barsInput = form && form.querySelector('input[name="bars"]');
      if (form && !barsInput) {
        barsInput = document.createElement("input");
        barsInput.type = "hidden";
        barsInput.name = "bars";
        form.appendChild(barsInput);
      }
      if (barsInput) barsInput.value = params.get("bars");
      const stored = body.bars_stored;
      const shown = body.bars;
      if (shown >= stored) {
        loadOlder.replaceWith(document.createTextNode("(all stored bars loaded)"));
      } else {
        params.set("bars", String(shown + 500));
        loadOlder.href = "?" + params.toString();
      }
    });
  }

  if (loadOlder) {
    loadOlder.addEventListener("click", function (event) {
      event.preventDefault();
      loadOlderBars();
    });
  }

  function onRelayout(event) {
    if (adjusting || !radar) return;
    const keys = Object.keys(event || {});
    if (!keys.some(function (k) { return k.indexOf("xaxis.range") === 0 || k === "xaxis.autorange"; })) return;
    const r = currentRange();
    fitView(r[0], r[1]);
    // Panned or zoomed out to the first bar: fetch older ones (not on a double-click reset).
    const moved = keys.some(function (k) { return k.indexOf("xaxis.range") === 0; });
    if (moved && r[0] <= 0 && loadOlder && !pageParams().has("asof")) loadOlderBars();
  }

  // --- replay ---------------------------------------------------------------------------
  function replayTo(asof) {
    const params = pageParams();
    if (asof === null) params.delete("asof");
    else params.set("asof", String(asof));
    writeUrl(params);
    if (status) {
      status.classList.remove("error");
      status.textContent = asof === null
        ? "Live: drag the slider to see the chart as it was known at an earlier bar."
        : "As known at bar " + asof + ": only points and patterns confirmed by then.";
    }
    filterPatternRows(asof);
    return redrawFromServer(params, false);
  }

  // Replay: list only the patterns known at that bar (the page lists the live ones).
  function filterPatternRows(asof) {
    document.querySelectorAll("#detected-patterns tr.pattern-row").forEach(function (row) {
      row.hidden = asof !== null && Number(row.dataset.detectedIndex) > asof;
    });
  }

  function sliderMax() {
    return slider ? Number(slider.max) : 0;
  }

  if (slider) {
    slider.addEventListener("input", function () {
      clearTimeout(replayTimer);
      const value = Number(slider.value);
      replayTimer = setTimeout(function () {
        replayTo(value >= sliderMax() ? null : value);
      }, 150);
    });
    const step = function (delta) {
      return function (event) {
        event.preventDefault();
        const value = Math.max(0, Math.min(sliderMax(), Number(slider.value) + delta));
        slider.value = String(value);
        replayTo(value >= sliderMax() ? null : value);
      };
    };
    document.getElementById("replay-prev").addEventListener("click", step(-1));
    document.getElementById("replay-next").addEventListener("click", step(1));
    document.getElementById("replay-live").addEventListener("click", function (event) {
      event.preventDefault();
      slider.value = String(sliderMax());
      replayTo(null);
    });
    document.getElementById("replay").addEventListener("submit", function (event) {
      event.preventDefault();
      const value = Number(slider.value);
      replayTo(value >= sliderMax() ? null : value);
    });
  }

  // --- label mode -----------------------------------------------------------------------
  function setLabelMode(on) {
    labelButton.setAttribute("aria-pressed", on ? "true" : "false");
    if (labelHint) labelHint.hidden = !on;
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
    redrawFromServer(pageParams(), false);
  });

  // --- pattern list: zoom --------------------------------------------------------------
  document.querySelectorAll("#detected-patterns a.zoom").forEach(function (link) {
    link.addEventListener("click", function (event) {
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

  // --- hover readout --------------------------------------------------------------------
  function onHover(event) {
    if (!readout || !event.points || !event.points.length) return;
    const candles = candleTrace();
    const bar = Math.round(event.points[0].x);
    if (candles && candles.text && candles.text[bar]) {
      readout.textContent = candles.text[bar].split("<br>").join(" · ");
    }
  }

  const initial = JSON.parse(source.textContent);
  draw(initial, null).then(function () {
    chart.on("plotly_relayout", onRelayout);
    chart.on("plotly_selected", onSelected);
    chart.on("plotly_hover", onHover);
    chart.dataset.ready = "true";
  });
})();
