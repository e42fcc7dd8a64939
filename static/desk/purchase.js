// Desk purchase form (补录消费, issue 16): add and remove Django formset rows as needed, and keep the
// running total of the lines; the points preview beside the form is an htmx fragment (purchase.html).
(function () {
  function formsetOf(el) { return el.closest("[data-formset]"); }
  function totalInput(fs) { return fs.querySelector("input[name$='-TOTAL_FORMS']"); }

  function runningTotal() {
    var out = document.querySelector("[data-running-total]");
    if (!out) { return; }
    var cents = 0;
    document.querySelectorAll("#purchase-lines [data-formset-row] input[data-line-amount]").forEach(function (input) {
      var value = parseFloat(input.value);
      if (!isNaN(value) && value > 0) { cents += Math.round(value * 100); }
    });
    out.textContent = (cents / 100).toFixed(2);
  }

  function changed() {
    runningTotal();
    document.body.dispatchEvent(new Event("formset-changed"));
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest && event.target.closest("[data-formset-add]");
    if (add) {
      var fs = formsetOf(add);
      var total = totalInput(fs);
      var max = parseInt(fs.querySelector("input[name$='-MAX_NUM_FORMS']").value, 10);
      var index = parseInt(total.value, 10);
      if (index >= max) { return; }
      var html = fs.querySelector("template[data-formset-template]").innerHTML.replace(/__prefix__/g, String(index));
      var rows = fs.querySelector("[data-formset-rows]");
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var first = rows.lastElementChild.querySelector("select, input");
      if (first) { first.focus(); }
      changed();
      return;
    }
    var remove = event.target.closest && event.target.closest("[data-formset-remove]");
    if (remove) {
      // An emptied row is ignored by the form; it is hidden, not removed, so the row numbers stay dense.
      var row = remove.closest("[data-formset-row]");
      row.querySelectorAll("input, select").forEach(function (el) { el.value = ""; });
      row.hidden = true;
      changed();
    }
  });
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("input[data-line-amount]")) { runningTotal(); }
  });
  document.addEventListener("DOMContentLoaded", runningTotal);
})();
