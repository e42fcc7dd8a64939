// Draws every <div data-chart="ID"> from the JSON the page embeds with json_script (id ID):
// {kind: "line" | "bar" | "pie" | "heatmap" | "sankey", categories: [...], series: [{name, data, axis?, type?}],
//  stack?, horizontal?; heatmap: rows, row_keys, column_keys; sankey: links [{source, target, value}]}
// Figures are written in 万 / 亿 on Chinese pages (issue 16). A heatmap cell opens the link of the
// page's table cell with the same data-cell="row:column" (the drill-down to its members).
(function () {
  "use strict";

  var chinese = (document.documentElement.lang || "").indexOf("zh") === 0;

  function compact(value) {
    if (value === null || value === undefined || value === "") { return "—"; }
    var n = Number(value), a = Math.abs(n);
    if (isNaN(n)) { return String(value); }
    if (chinese) {
      if (a >= 1e8) { return (n / 1e8).toFixed(1) + "亿"; }
      if (a >= 1e4) { return (n / 1e4).toFixed(1) + "万"; }
    } else {
      if (a >= 1e6) { return (n / 1e6).toFixed(1) + "M"; }
      if (a >= 1e4) { return (n / 1e3).toFixed(1) + "k"; }
    }
    return n.toLocaleString(chinese ? "zh-CN" : "en", {maximumFractionDigits: 2});
  }

  function heatmap(spec) {
    var data = (spec.series[0] || {data: []}).data;
    var top = data.reduce(function (m, d) { return Math.max(m, d[2]); }, 0) || 1;
    return {
      tooltip: {position: "top", formatter: function (p) {
        return spec.rows[p.value[1]] + " · " + spec.categories[p.value[0]] + "<br>" + compact(p.value[2]);
      }},
      grid: {left: 90, right: 20, top: 10, bottom: 80},
      xAxis: {type: "category", data: spec.categories, splitArea: {show: true}},
      yAxis: {type: "category", data: spec.rows, inverse: true, splitArea: {show: true}},
      visualMap: {min: 0, max: top, calculable: true, orient: "horizontal", left: "center", bottom: 0,
                  itemHeight: 120, inRange: {color: ["#f8fafc", "#fde68a", "#f97316", "#b91c1c"]},
                  formatter: function (v) { return compact(Math.round(v)); }},
      series: [{name: spec.series[0] && spec.series[0].name, type: "heatmap", data: data,
                label: {show: true, formatter: function (p) { return compact(p.value[2]); }},
                emphasis: {itemStyle: {shadowBlur: 8, shadowColor: "rgba(0,0,0,.3)"}}, cursor: "pointer"}]
    };
  }

  function sankey(spec) {
    return {
      tooltip: {trigger: "item", formatter: function (p) {
        return p.dataType === "edge" ? p.data.source + " → " + p.data.target + "：" + compact(p.data.value)
                                     : p.name + "：" + compact(p.value);
      }},
      series: [{type: "sankey", left: 10, right: 130, top: 10, bottom: 10, nodeGap: 14, draggable: false,
                layoutIterations: 64,
                emphasis: {focus: "adjacency"}, lineStyle: {color: "gradient", curveness: 0.5, opacity: 0.35},
                label: {fontSize: 11},
                data: spec.categories.map(function (c) { return {name: c}; }), links: spec.links}]
    };
  }

  function option(spec) {
    if (spec.kind === "heatmap") { return heatmap(spec); }
    if (spec.kind === "sankey") { return sankey(spec); }
    if (spec.kind === "pie") {
      var s = spec.series[0] || {data: []};
      return {
        tooltip: {trigger: "item", valueFormatter: compact},
        legend: {bottom: 0, type: "scroll"},
        series: [{type: "pie", name: s.name, radius: ["35%", "65%"],
                  data: spec.categories.map(function (c, i) { return {name: c, value: s.data[i]}; })}]
      };
    }
    var twoAxes = spec.series.some(function (s) { return s.axis === 1; });
    var category = {type: "category", data: spec.categories};
    var values = [{type: "value", axisLabel: {formatter: compact}}];
    if (twoAxes) { values.push({type: "value", splitLine: {show: false}, axisLabel: {formatter: compact}}); }
    return {
      tooltip: {trigger: "axis", valueFormatter: compact},
      legend: {top: 0, type: "scroll"},
      grid: {left: spec.horizontal ? 120 : 60, right: twoAxes ? 60 : 20, top: 30, bottom: 30},
      xAxis: spec.horizontal ? values[0] : category,
      yAxis: spec.horizontal ? category : values,
      series: spec.series.map(function (s) {
        return {name: s.name, type: s.type || spec.kind, data: s.data, yAxisIndex: s.axis || 0,
                stack: spec.stack ? "total" : undefined, smooth: (s.type || spec.kind) === "line",
                emphasis: spec.stack ? {focus: "series"} : undefined};
      })
    };
  }

  function drillDown(spec, params) {
    if (spec.kind !== "heatmap" || !params.value) { return; }
    var key = spec.row_keys[params.value[1]] + ":" + spec.column_keys[params.value[0]];
    var link = document.querySelector('a[data-cell="' + key + '"]');
    if (link) { window.location.href = link.href; }
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
      chart.on("click", function (params) { drillDown(spec, params); });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
