/**
 * Pattern labeling in the browser. Loaded by the label pages and by the Radar.
 *
 * On the Radar (templates/labeling/partials/_radar_panel.html present):
 *  - `radar:range-selected` (dispatched by static/js/radar.js in label mode after a drag, detail
 *    {symbol, timeframe, start, end} with ISO instants of the first/last selected bar) loads the
 *    label form, GET /labels/new/?symbol=…&timeframe=…&start=…&end=…, into #label-panel-body
 *    with htmx and shows the panel. The same drag fills the start and end of the panel's
 *    "mark as reviewed" form (#reviewed-range-form, POST /labels/review/ranges/).
 *  - Saving the form (an htmx POST) answers with the "saved" fragment and the response header
 *    `HX-Trigger: radar:labels-changed`; htmx dispatches that event on the form and it bubbles to
 *    `document`, where radar.js re-fetches the figure so the new label is drawn at once. The
 *    accept / reject / undo buttons of the detected-pattern list work the same way.
 *  - Key points on the chart: the form's role buttons (one per role of the chosen pattern type,
 *    from labeling.models.KEY_POINT_ROLES via the form's #label-form-keys JSON) arm a role; a
 *    click on a bar of the Radar puts that role on the bar's High or Low (as the role implies)
 *    and writes the "ROLE DATE PRICE" line into the key-points textarea, which stays what is
 *    posted and validated by the server. The points are drawn as circles after the figure's own
 *    shapes (the bar index ↔ instant list comes from radar.js's `radar:drawn`); dragging one to
 *    another bar, or clicking another bar with its role armed, moves it (snapped to that bar).
 *
 * Hotkeys, wherever a label form is shown (the Radar's panel, /labels/new/, the edit page):
 * number keys pick the pattern type, Q W E R T the 1st … 5th key-point role, Enter saves, Esc
 * drops the armed role or else cancels (closes the panel / follows the form's Cancel link), `?`
 * opens the list. Keys typed into a text field stay text (only Esc acts there).
 *
 * On a label's page: draws its mini chart (#label-chart from the JSON in #label-figure).
 *
 * Everywhere: htmx does not swap 4xx responses by default; the label form answers invalid input
 * with 400 and the form carrying its field errors, so 400s coming back to a labeling form
 * (or the accept/reject buttons) are swapped in like a success.
 */
(function () {
  "use strict";

  const gettext = window.gettext || function (text) { return text; };
  const format = window.interpolate || function (text, args) {
    let i = 0;
    return text.replace(/%s/g, function () { return String(args[i++]); });
  };

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
  function panelParts() {
    return [document.getElementById("label-panel"), document.getElementById("label-panel-body")];
  }

  // --- the active form -------------------------------------------------------------------
  function activeForm() {
    const [panel, body] = panelParts();
    if (panel && body) return panel.hidden ? null : body.querySelector("form.label-form");
    return document.querySelector("form.label-form");
  }

  function formKeys(form) {
    const data = form && form.querySelector("script[id=label-form-keys]");
    return data ? JSON.parse(data.textContent) : null;
  }

  function roleTable(form) {
    const keys = formKeys(form);
    const select = form.querySelector("select[name=pattern_type]");
    return (keys && select && keys.roles[select.value]) || [];
  }

  function anchorOf(form, role) {
    const row = roleTable(form).find(function (r) { return r[0] === role; });
    return row ? row[1] : null;
  }

  // --- key points on the chart ------------------------------------------------------------
  const DRAFT = "keypoint-draft";
  const DRAFT_COLOR = "#7e22ce";
  let chart = null; // the Radar's Plotly chart
  let barTs = []; // ISO instants of its bars: bar index i ↔ barTs[i]
  let armed = null; // the role waiting for a click
  let draftRoles = {}; // shape index → role of the circles drawn now

  function intraday(form) {
    const keys = formKeys(form);
    const timeframe = form.querySelector("[name=timeframe]");
    return Boolean(keys && timeframe && keys.intraday.indexOf(timeframe.value) >= 0);
  }

  // The instant as the form writes it: the KST date of a daily bar, date and time intraday.
  function barText(form, index) {
    return intraday(form) ? barTs[index].slice(0, 16) : barTs[index].slice(0, 10);
  }

  function barOfText(form, text) {
    const key = text.replace(" ", "T").slice(0, intraday(form) ? 16 : 10);
    const width = key.length;
    for (let i = 0; i < barTs.length; i++) {
      if (barTs[i].slice(0, width) === key) return i;
    }
    return -1;
  }

  function candles() {
    return chart && chart.data ? chart.data.find(function (trace) { return trace.type === "candlestick"; }) : null;
  }

  function keyPointLines(form) {
    const area = form.querySelector("textarea[name=key_points]");
    return area.value.split("\n").filter(function (line) { return line.trim(); }).map(function (line) {
      const parts = line.trim().split(/\s+/);
      return { role: parts[0], when: parts[1] || "", price: parts[2] || "", line: line.trim() };
    });
  }

  // Writes `role` on bar `index` (its High or Low) into the textarea, the table's roles first.
  function placePoint(form, role, index) {
    const bars = candles();
    if (!bars || index < 0 || index >= barTs.length) return;
    const price = anchorOf(form, role) === "low" ? bars.low[index] : bars.high[index];
    const lines = keyPointLines(form).filter(function (p) { return p.role !== role; });
    lines.push({ role: role, line: role + " " + barText(form, index) + " " + String(price) });
    const order = roleTable(form).map(function (r) { return r[0]; });
    const rank = function (p) {
      const at = order.indexOf(p.role);
      return at < 0 ? order.length : at;
    };
    lines.sort(function (a, b) { return rank(a) - rank(b); });
    form.querySelector("textarea[name=key_points]").value = lines.map(function (p) { return p.line; }).join("\n");
  }

  function draftShapes(form) {
    const shapes = [];
    const roles = [];
    if (form) {
      keyPointLines(form).forEach(function (p) {
        const index = barOfText(form, p.when);
        const price = Number(String(p.price).replace(/,/g, ""));
        if (index < 0 || !isFinite(price)) return;
        const low = anchorOf(form, p.role) === "low";
        roles.push(p.role);
        shapes.push({
          type: "circle",
          name: DRAFT,
          editable: true,
          xref: "x",
          yref: "y",
          xsizemode: "pixel",
          ysizemode: "pixel",
          xanchor: index,
          yanchor: price,
          x0: -7,
          x1: 7,
          y0: -7,
          y1: 7,
          // Plotly lets an editable shape be grabbed inside only when its fill is over 50 % opaque.
          fillcolor: "rgba(126,34,206,0.6)",
          line: { color: DRAFT_COLOR, width: 2 },
          label: {
            text: p.role,
            textposition: low ? "bottom center" : "top center",
            font: { color: DRAFT_COLOR, size: 12 },
          },
        });
      });
    }
    return { shapes: shapes, roles: roles };
  }

  function drawPoints() {
    if (!chart || !chart.layout || !window.Plotly) return Promise.resolve();
    const form = activeForm();
    const base = (chart.layout.shapes || []).filter(function (s) { return s.name !== DRAFT; });
    const draft = draftShapes(form && formKeys(form) ? form : null);
    if (!draft.shapes.length && base.length === (chart.layout.shapes || []).length) {
      draftRoles = {};
      return Promise.resolve();
    }
    draftRoles = {};
    draft.roles.forEach(function (role, i) { draftRoles[base.length + i] = role; });
    return window.Plotly.relayout(chart, { shapes: base.concat(draft.shapes) }).then(function () {
      chart.dataset.keyPoints = String(draft.shapes.length);
    });
  }

  function renderRoles(form) {
    const picker = form.querySelector(".key-point-picker");
    if (!picker) return;
    const roles = roleTable(form);
    const keys = formKeys(form);
    picker.hidden = !chart || roles.length === 0;
    const holder = picker.querySelector(".key-point-roles");
    holder.innerHTML = "";
    const placed = keyPointLines(form).map(function (p) { return p.role; });
    roles.forEach(function (row, i) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "small key-point-role" + (placed.indexOf(row[0]) >= 0 ? " placed" : "");
      button.dataset.role = row[0];
      button.setAttribute("aria-pressed", armed === row[0] ? "true" : "false");
      button.title = row[1] === "low" ? gettext("Snaps to the bar's Low") : gettext("Snaps to the bar's High");
      const key = document.createElement("kbd");
      key.textContent = (keys.roleKeys[i] || "").toUpperCase();
      button.appendChild(key);
      button.appendChild(document.createTextNode(" " + row[0] + (row[1] === "low" ? " ▼" : " ▲")));
      button.addEventListener("click", function () { arm(form, armed === row[0] ? null : row[0]); });
      holder.appendChild(button);
    });
    const status = picker.querySelector(".key-point-status");
    status.textContent = armed
      ? format(gettext("Click the bar of %s (its %s)."), [armed, anchorOf(form, armed) === "low" ? gettext("Low") : gettext("High")])
      : "";
  }

  function arm(form, role) {
    armed = role;
    renderRoles(form);
  }

  function nextUnplaced(form) {
    const placed = keyPointLines(form).map(function (p) { return p.role; });
    const row = roleTable(form).find(function (r) { return placed.indexOf(r[0]) < 0; });
    return row ? row[0] : null;
  }

  function onChartClick(event) {
    const form = activeForm();
    if (!form || !armed || !event || !event.points || !event.points.length) return;
    // The bar under the mouse: Plotly's hovered point may be a neighbour when bars are thin.
    const index = event.event && chart._fullLayout
      ? barUnder(event.event)
      : Math.max(0, Math.min(barTs.length - 1, Math.round(event.points[0].x)));
    placePoint(form, armed, index);
    armed = nextUnplaced(form);
    renderRoles(form);
    drawPoints();
  }

  // Dragging a circle: Plotly would only move a shape freely (or after a click making it the
  // "active" shape), so the drag is ours: press on a circle, move, release over a bar; the role
  // goes to that bar's High or Low. `editable` only makes Plotly let the circles take the mouse.
  let dragging = null; // {role, shape index, bar under the mouse}

  function barUnder(event) {
    const axis = chart._fullLayout.xaxis;
    const box = chart.getBoundingClientRect();
    const x = axis.p2l(event.clientX - box.left - axis._offset);
    return Math.max(0, Math.min(barTs.length - 1, Math.round(x)));
  }

  function draftPath(event) {
    const path = event.target.closest && event.target.closest(".shapelayer path[data-index]");
    return path && draftRoles[path.getAttribute("data-index")] ? path : null;
  }

  function onPress(event) {
    const path = draftPath(event);
    if (!path || !activeForm()) return;
    event.preventDefault();
    event.stopPropagation();
    const index = path.getAttribute("data-index");
    dragging = { role: draftRoles[index], shape: Number(index), bar: null };
    chart.classList.add("dragging-key-point");
  }

  function onMove(event) {
    if (!dragging) return;
    event.preventDefault();
    const bar = barUnder(event);
    const bars = candles();
    if (bar === dragging.bar || !bars) return;
    dragging.bar = bar;
    const low = anchorOf(activeForm(), dragging.role) === "low";
    const update = {};
    update["shapes[" + dragging.shape + "].xanchor"] = bar;
    update["shapes[" + dragging.shape + "].yanchor"] = low ? bars.low[bar] : bars.high[bar];
    window.Plotly.relayout(chart, update);
  }

  function onRelease(event) {
    if (!dragging) return;
    const form = activeForm();
    const role = dragging.role;
    dragging = null;
    chart.classList.remove("dragging-key-point");
    if (!form) return;
    placePoint(form, role, barUnder(event));
    renderRoles(form);
    drawPoints();
  }

  // Keep Plotly's own click on an editable shape (which would make it "active") off our circles.
  function onShapeClick(event) {
    if (draftPath(event)) event.stopPropagation();
  }

  function useChart(element, ts) {
    if (!element || !ts) return;
    barTs = ts;
    if (chart !== element) {
      chart = element;
      chart.on("plotly_click", onChartClick);
      chart.addEventListener("mousedown", onPress, true);
      chart.addEventListener("click", onShapeClick, true);
      document.addEventListener("mousemove", onMove);
      document.addEventListener("mouseup", onRelease);
    }
    const form = activeForm();
    if (form) renderRoles(form);
    drawPoints();
  }

  document.addEventListener("radar:drawn", function (event) {
    useChart(event.detail.chart, event.detail.ts);
  });
  const radarChart = document.getElementById("radar-chart");
  if (radarChart && radarChart.radarTs) useChart(radarChart, radarChart.radarTs);

  // A form shown (page load, the panel filled, a 400 swapped in): its roles and points.
  function formShown() {
    const form = activeForm();
    armed = null;
    if (form) renderRoles(form);
    drawPoints();
  }

  document.addEventListener("change", function (event) {
    const form = event.target.closest && event.target.closest("form.label-form");
    if (!form || form !== activeForm()) return;
    if (event.target.name === "pattern_type") armed = null;
    if (["pattern_type", "timeframe"].indexOf(event.target.name) >= 0) {
      renderRoles(form);
      drawPoints();
    }
  });
  document.addEventListener("input", function (event) {
    const form = event.target.closest && event.target.closest("form.label-form");
    if (form && event.target.name === "key_points" && form === activeForm()) {
      renderRoles(form);
      drawPoints();
    }
  });
  document.addEventListener("htmx:afterSettle", formShown);
  document.addEventListener("click", function (event) {
    const opener = event.target.closest && event.target.closest(".hotkeys-open");
    if (opener) {
      const dialog = opener.closest("form").querySelector("dialog.label-hotkeys");
      if (dialog) dialog.showModal();
    }
    const closer = event.target.closest && event.target.closest(".hotkeys-close");
    if (closer) closer.closest("dialog").close();
    if (event.target.closest && event.target.closest("#label-panel-close")) closePanel();
    const cancel = event.target.closest && event.target.closest("form.label-form a.cancel");
    const body = panelParts()[1];
    if (cancel && body && body.contains(cancel)) {
      event.preventDefault();
      closePanel();
    }
  });

  // --- hotkeys ----------------------------------------------------------------------------
  function cancelForm(form) {
    const body = panelParts()[1];
    if (body && body.contains(form)) {
      closePanel();
      return;
    }
    const link = form.querySelector("a.cancel");
    if (link) window.location.assign(link.href);
  }

  const TEXT_FIELDS = "textarea, input:not([type=checkbox]):not([type=radio]):not([type=submit]):not([type=button]), [contenteditable]";

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    const form = activeForm();
    if (!form) {
      const panel = panelParts()[0];
      if (event.key === "Escape" && panel && !panel.hidden) closePanel();
      return;
    }
    const keys = formKeys(form);
    const dialog = form.querySelector("dialog.label-hotkeys");
    if (!keys || (dialog && dialog.open)) return; // the open list closes itself on Esc
    const target = event.target;
    if (event.key === "Escape") {
      event.preventDefault();
      if (armed) arm(form, null);
      else cancelForm(form);
      return;
    }
    if (target.matches && target.matches(TEXT_FIELDS)) return;
    if (event.key === "?") {
      event.preventDefault();
      if (dialog) dialog.showModal();
      return;
    }
    if (event.key === "Enter") {
      if (target.matches && target.matches("button, a")) return;
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    if (keys.patternKeys[event.key]) {
      event.preventDefault();
      const select = form.querySelector("select[name=pattern_type]");
      select.value = keys.patternKeys[event.key];
      select.dispatchEvent(new Event("change", { bubbles: true }));
      return;
    }
    const at = keys.roleKeys.indexOf(event.key.toLowerCase());
    if (at >= 0) {
      const row = roleTable(form)[at];
      if (row) {
        event.preventDefault();
        arm(form, row[0]);
      }
    }
  });

  // --- the Radar's panel -------------------------------------------------------------------
  function closePanel() {
    const [panel, body] = panelParts();
    if (!panel || !body) return;
    panel.hidden = true;
    body.innerHTML = "";
    armed = null;
    drawPoints();
  }

  formShown();

  document.addEventListener("radar:range-selected", function (event) {
    const detail = event.detail || {};
    if (!detail.symbol || !detail.timeframe || !detail.start || !detail.end) return;
    const [panel, body] = panelParts();
    if (!panel || !body) return;
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
