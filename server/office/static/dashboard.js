// Dashboard trends: one ECharts line chart per metric, one line per village, by week or month.
// Data from #chart-data (server-rendered JSON); no inline script, so a strict CSP works.
(function () {
  "use strict";
  var el = document.getElementById("chart-data");
  if (!el || !window.echarts) { return; }
  var data = JSON.parse(el.textContent);
  var charts = [];
  var grain = "week";

  function label(key) {  // "2026-11-02" -> "11-02" (week) or "2026-11" (month)
    return grain === "week" ? key.substr(5) : key.substr(0, 7);
  }

  function option(metric) {
    var t = data.trends[grain];
    var series = Object.keys(t.series).map(function (vid) {
      return { name: data.names[vid] || vid, type: "line", connectNulls: false, symbolSize: 5,
               data: t.series[vid][metric] };
    });
    return {
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", bottom: 0 },
      grid: { left: 40, right: 12, top: 12, bottom: 48 },
      xAxis: { type: "category", data: t.buckets.map(label) },
      yAxis: { type: "value", min: 0, max: metric === "patrol_rate" ? 100 : null },
      series: series
    };
  }

  function draw() {
    charts.forEach(function (c) { c.chart.setOption(option(c.metric), true); });
  }

  document.querySelectorAll(".chart[data-metric]").forEach(function (box) {
    charts.push({ chart: echarts.init(box, null, { renderer: "svg" }), metric: box.dataset.metric });
  });
  draw();
  document.querySelectorAll("#trend-grain button").forEach(function (b) {
    b.addEventListener("click", function () {
      grain = b.dataset.grain;
      document.querySelectorAll("#trend-grain button").forEach(function (x) {
        x.classList.toggle("on", x === b);
      });
      draw();
    });
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.chart.resize(); }); });
  document.body.setAttribute("data-charts", String(charts.length));
})();
