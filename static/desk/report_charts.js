// Charts of the desk reports, drawn from the JSON each page embeds with json_script (no inline
// script, so the Content-Security-Policy needs no 'unsafe-inline' for scripts).
(function () {
  "use strict";

  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  // Complaint handling report (service desk): on-time rates per store.
  var compliance = data("compliance-data");
  var complianceEl = document.getElementById("compliance-chart");
  if (compliance && complianceEl) {
    if (!window.echarts || !compliance.labels.length) {
      complianceEl.hidden = true;
    } else {
      echarts.init(complianceEl).setOption({
        tooltip: {trigger: "axis"}, legend: {},
        xAxis: {type: "category", data: compliance.labels},
        yAxis: {type: "value", max: 100, axisLabel: {formatter: "{value}%"}},
        series: compliance.series.map(function (s) { return {name: s.name, type: "bar", data: s.data}; })
      });
    }
  }

  // Survey report (care): CSI per dimension, store and month.
  var csi = data("csi-data");
  function bar(id, rows) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) return;
    echarts.init(el).setOption({
      tooltip: {}, grid: {left: 40, right: 10, bottom: 60},
      xAxis: {type: "category", data: rows.map(function (r) { return r[0]; }), axisLabel: {rotate: 30}},
      yAxis: {type: "value", min: 0, max: 100, axisLabel: {formatter: "{value}%"}},
      series: [{type: "bar", data: rows.map(function (r) { return r[1]; }), label: {show: true, position: "top"}}]
    });
  }
  if (csi) {
    bar("chart-dimensions", csi.dimensions);
    bar("chart-stores", csi.stores);
    bar("chart-periods", csi.periods);
  }
})();
