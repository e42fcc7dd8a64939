// Draws every <div data-chart="ID"> from the JSON the page embeds with json_script (id ID):
// {kind: "line" | "bar" | "pie", categories: [...], series: [{name, data, axis?, type?}], stack?, horizontal?}
(function () {
  "use strict";

  function option(spec) {
    if (spec.kind === "pie") {
      var s = spec.series[0] || {data: []};
      return {
        tooltip: {trigger: "item"},
        legend: {bottom: 0, type: "scroll"},
        series: [{type: "pie", name: s.name, radius: ["35%", "65%"],
                  data: spec.categories.map(function (c, i) { return {name: c, value: s.data[i]}; })}]
      };
    }
    var twoAxes = spec.series.some(function (s) { return s.axis === 1; });
    var category = {type: "category", data: spec.categories};
    var values = [{type: "value"}];
    if (twoAxes) { values.push({type: "value", splitLine: {show: false}}); }
    return {
      tooltip: {trigger: "axis"},
      legend: {top: 0, type: "scroll"},
      grid: {left: spec.horizontal ? 120 : 50, right: twoAxes ? 50 : 20, top: 30, bottom: 30},
      xAxis: spec.horizontal ? values[0] : category,
      yAxis: spec.horizontal ? category : values,
      series: spec.series.map(function (s) {
        return {name: s.name, type: s.type || spec.kind, data: s.data, yAxisIndex: s.axis || 0,
                stack: spec.stack ? "total" : undefined, smooth: (s.type || spec.kind) === "line"};
      })
    };
  }

  function draw() {
    if (!window.echarts) { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      if (!spec.categories.length) {
        el.classList.add("muted");
        el.style.height = "auto";
        el.textContent = el.getAttribute("data-empty") || "—";
        return;
      }
      var chart = window.echarts.init(el);
      chart.setOption(option(spec));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
