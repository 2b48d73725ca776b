/**
 * Pattern statistics: draws the server-built Plotly figures (analysis/stats_figures.py), each
 * embedded as <script type="application/json" id="…"> and named by a chart's data-figure.
 */
(function () {
  "use strict";
  if (!window.Plotly) return;
  document.querySelectorAll(".stats-chart[data-figure]").forEach(function (chart) {
    const source = document.getElementById(chart.dataset.figure);
    if (!source) return;
    const figure = JSON.parse(source.textContent);
    window.Plotly.newPlot(chart, figure.data, figure.layout, {
      responsive: true,
      displaylogo: false,
    });
  });
})();
