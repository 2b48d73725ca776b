/**
 * The review queue (/labels/queue/, templates/labeling/queue.html).
 *
 * - Draws the focused chart of the current detection (#queue-chart from the JSON in
 *   #queue-figure, built by labeling.selectors.charts.detection_figure), on load and after each
 *   htmx swap of #queue-item (the next detection after a decision).
 * - Hotkeys: a key pressed outside a form field clicks the element of #queue-item whose
 *   data-hotkey is that key (a accept, r reject, e relabel, s skip). The buttons are plain form
 *   submits, so the page works without this script.
 */
(function () {
  "use strict";

  function drawChart() {
    const chart = document.getElementById("queue-chart");
    const data = document.getElementById("queue-figure");
    if (!chart || !data || !window.Plotly || chart.dataset.ready) return;
    const figure = JSON.parse(data.textContent);
    window.Plotly.newPlot(chart, figure.data, figure.layout, {
      responsive: true,
      displaylogo: false,
      modeBarButtonsToRemove: ["lasso2d", "select2d", "autoScale2d", "toggleSpikelines"],
    }).then(function () { chart.dataset.ready = "true"; });
  }

  document.addEventListener("htmx:afterSettle", drawChart);
  drawChart();

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    const field = event.target.closest && event.target.closest("input, select, textarea, [contenteditable]");
    if (field) return;
    const item = document.getElementById("queue-item");
    if (!item || item.classList.contains("htmx-request")) return;
    const target = item.querySelector('[data-hotkey="' + event.key.toLowerCase() + '"]');
    if (!target) return;
    event.preventDefault();
    target.click();
  });
})();
