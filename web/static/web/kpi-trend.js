// KPI trend lines: every element with data-kpi-trend="<id>" gets a small uPlot line chart of the JSON in the
// element <id> beside it (a hidden element whose text is the JSON: htmx drops <script> tags from what it swaps in) ({x: [epoch seconds], y: [value or null]}). Drawn on load
// and again after each htmx swap (the dashboard refreshes its panels), never twice in the same element.
(function () {
  "use strict";
  function draw(root) {
    if (typeof window.uPlot !== "function") return;
    var boxes = (root || document).querySelectorAll("[data-kpi-trend]");
    Array.prototype.forEach.call(boxes, function (box) {
      if (box.dataset.drawn) return;
      var source = document.getElementById(box.dataset.kpiTrend);
      if (!source) return;
      var data;
      try { data = JSON.parse(source.textContent); } catch (e) { return; }
      if (!data.x || data.x.length < 1) return;
      box.dataset.drawn = "1";
      if (!data.y.some(function (v) { return v !== null; })) {
        box.innerHTML = '<span class="muted">' + data.x.length + " day(s), nothing measured</span>";
        return;
      }
      box.textContent = "";
      var width = Math.max(120, box.clientWidth || 160);
      var opts = {
        width: width,
        height: 48,
        legend: { show: false },
        cursor: { show: true, points: { size: 5 }, y: false },
        select: { show: false },
        axes: [{ show: false }, { show: false }],
        scales: {
          x: { time: true },
          // pad the value range so a flat line (or a single point) sits inside the chart, not on its edge
          y: { range: function (u, min, max) {
            if (min === max) return [min - 1, max + 1];
            var pad = (max - min) * 0.15;
            return [min - pad, max + pad];
          } }
        },
        series: [
          {},
          { label: data.key, stroke: "#2563eb", width: 1.5, fill: "rgba(37,99,235,0.08)", spanGaps: false,
            points: { show: data.x.length < 10, size: 4 } }
        ]
      };
      var chart = new window.uPlot(opts, [data.x, data.y], box);
      box.title = data.x.length + " daily snapshot(s); last " +
        (data.y[data.y.length - 1] === null ? "—" : data.y[data.y.length - 1]) + " " + (data.unit || "");
      box._uplot = chart;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (event) { draw(event.target); });
  window.erpDrawTrends = draw;
})();
