/**
 * Pattern labeling in the browser. Loaded by the label pages and by the Radar.
 *
 * On the Radar (templates/labeling/partials/_radar_panel.html present):
 *  - `radar:range-selected` (dispatched by static/js/radar.js in label mode after a drag, detail
 *    {symbol, timeframe, start, end} with ISO instants of the first/last selected bar) loads the
 *    label form, GET /labels/new/?symbol=…&timeframe=…&start=…&end=…, into #label-panel-body
 *    with htmx and shows the panel.
 *    The same drag fills the start and end of the panel's "mark as reviewed" form
 *    (#reviewed-range-form, POST /labels/review/ranges/).
 *  - Saving the form (an htmx POST) answers with the "saved" fragment and the response header
 *    `HX-Trigger: radar:labels-changed`; htmx dispatches that event on the form and it bubbles to
 *    `document`, where radar.js re-fetches the figure so the new label is drawn at once. The
 *    accept / reject / undo buttons of the detected-pattern list work the same way.
 *
 * On a label's page: draws its mini chart (#label-chart from the JSON in #label-figure).
 *
 * Everywhere: htmx does not swap 4xx responses by default; the label form answers invalid input
 * with 400 and the form carrying its field errors, so 400s coming back to a labeling form
 * (or the accept/reject buttons) are swapped in like a success.
 */
(function () {
  "use strict";

  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail.target;
    const fromLabeling = target && (target.closest(".label-form") || target.closest(".detection-actions") || target.closest(".reviewed-range-result") || target.closest(".queue-item") || target.closest("#label-panel-body"));
    if (event.detail.xhr.status === 400 && fromLabeling) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // The label page's mini chart: the figure dict built by labeling.selectors.label_figure.
  const miniChart = document.getElementById("label-chart");
  const miniFigure = document.getElementById("label-figure");
  if (miniChart && miniFigure && window.Plotly) {
    const figure = JSON.parse(miniFigure.textContent);
    window.Plotly.newPlot(miniChart, figure.data, figure.layout, {
      responsive: true,
      displaylogo: false,
      scrollZoom: true,
      modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d", "toggleSpikelines"],
    }).then(function () { miniChart.dataset.ready = "true"; });
  }

  // The panel is looked up at each use: the Radar swaps it in with the view when the symbol or
  // timeframe changes (static/js/radar.js).
  if (!document.getElementById("label-panel")) return;

  function closePanel() {
    const panel = document.getElementById("label-panel");
    panel.hidden = true;
    document.getElementById("label-panel-body").innerHTML = "";
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("#label-panel-close")) closePanel();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && event.target.closest && event.target.closest("#label-panel")) closePanel();
  });

  document.addEventListener("radar:range-selected", function (event) {
    const detail = event.detail || {};
    const panel = document.getElementById("label-panel");
    const body = document.getElementById("label-panel-body");
    if (!panel || !body) return;
    if (!detail.symbol || !detail.timeframe || !detail.start || !detail.end) return;
    // The last drag also fills the "mark as reviewed" form of the panel.
    const reviewed = document.getElementById("reviewed-range-form");
    if (reviewed) {
      reviewed.elements.start.value = detail.start;
      reviewed.elements.end.value = detail.end;
    }
    const query = new URLSearchParams({
      symbol: detail.symbol,
      timeframe: detail.timeframe,
      start: detail.start,
      end: detail.end,
    });
    panel.hidden = false;
    const request = window.htmx
      ? window.htmx.ajax("GET", panel.dataset.formUrl + "?" + query.toString(), { target: body, swap: "innerHTML" })
      : null;
    if (request && request.then) {
      request.then(function () {
        const field = body.querySelector("select[name=pattern_type]");
        if (field) field.focus();
        panel.scrollIntoView({ block: "nearest" });
      });
    }
  });
})();
