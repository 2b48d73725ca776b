/**
 * Plotly's own words (the modebar's tooltips) in the page's language, from the /jsi18n/
 * catalog (templates/base.html). Loaded right after the Plotly bundle, before any chart is drawn;
 * an English page keeps Plotly's words.
 */
(function () {
  "use strict";
  const language = document.documentElement.lang;
  if (!window.Plotly || !window.gettext || !language || language === "en") return;
  const gettext = window.gettext;
  window.Plotly.register({
    moduleType: "locale",
    name: language,
    dictionary: {
      "Autoscale": gettext("Autoscale"),
      "Box Select": gettext("Box Select"),
      "Double-click to zoom back out": gettext("Double-click to zoom back out"),
      "Download plot": gettext("Download plot"),
      "Download plot as a PNG": gettext("Download plot as a PNG"),
      "Pan": gettext("Pan"),
      "Reset axes": gettext("Reset axes"),
      "Zoom": gettext("Zoom"),
      "Zoom in": gettext("Zoom in"),
      "Zoom out": gettext("Zoom out"),
    },
  });
  window.Plotly.setPlotConfig({ locale: language });
})();
