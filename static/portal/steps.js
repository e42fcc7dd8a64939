/* Forms in short steps on the phone (issue 16): a survey one question per screen, the sign-up in two steps.
   A form opts in with data-steps and marks its parts with data-step; this script shows one part at a time
   with a progress bar, 上一步 / 下一步 buttons, and the submit button only on the last part. "Next" checks
   the part's required answers first. The form stays one form, so every answer is kept while the member
   moves back and forth, and the server still checks it all on submit; a part holding a server error opens
   first. With data-keep="<key>" the answers also survive a reload (sessionStorage, cleared on submit).
   Without JavaScript every part shows at once. A static file: the CSP allows no inline script. */
(function () {
  "use strict";

  function text(form, name, fallback) { return form.getAttribute(name) || fallback; }

  function answered(step) {
    var missing = null;
    var groups = {};
    step.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (missing || el.disabled || !el.required) { return; }
      if (el.type === "radio" || el.type === "checkbox") {
        if (groups[el.name]) { return; }
        groups[el.name] = true;
        var any = step.querySelector('input[name="' + el.name + '"]:checked');
        if (!any) { missing = el; }
      } else if (!el.value.trim()) {
        missing = el;
      }
    });
    return missing;
  }

  function keep(form, key) {
    var values = {};
    new FormData(form).forEach(function (value, name) {
      if (name === "csrfmiddlewaretoken" || typeof value !== "string") { return; }
      (values[name] = values[name] || []).push(value);
    });
    try { sessionStorage.setItem(key, JSON.stringify(values)); } catch (e) { /* private mode: not kept */ }
  }

  function restore(form, key) {
    var values;
    try { values = JSON.parse(sessionStorage.getItem(key) || "null"); } catch (e) { values = null; }
    if (!values) { return; }
    Object.keys(values).forEach(function (name) {
      form.querySelectorAll('[name="' + name + '"]').forEach(function (el) {
        if (el.type === "hidden") { return; }
        if (el.type === "radio" || el.type === "checkbox") {
          el.checked = values[name].indexOf(el.value) !== -1;
        } else if (!el.value) {
          el.value = values[name][0];
        }
      });
    });
  }

  function setUp(form) {
    var steps = Array.prototype.slice.call(form.querySelectorAll("[data-step]"));
    if (steps.length < 2) { return; }
    var submit = form.querySelector("[data-step-submit]");
    var key = form.getAttribute("data-keep");
    var hasErrors = !!form.querySelector(".has-error, .errors, p.error");
    if (key && !hasErrors) { restore(form, key); }
    form.classList.add("stepped");

    var progress = document.createElement("div");
    progress.className = "step-progress";
    progress.innerHTML = '<div class="step-bar"><span></span></div><p class="step-count" aria-live="polite"></p>';
    steps[0].parentNode.insertBefore(progress, steps[0]);
    var bar = progress.querySelector(".step-bar span");
    var count = progress.querySelector(".step-count");

    var nav = document.createElement("div");
    nav.className = "step-nav";
    var back = document.createElement("button");
    back.type = "button"; back.className = "secondary step-back";
    back.textContent = text(form, "data-back-label", "Back");
    var next = document.createElement("button");
    next.type = "button"; next.className = "primary step-next";
    next.textContent = text(form, "data-next-label", "Next");
    var hint = document.createElement("p");
    hint.className = "error step-hint"; hint.setAttribute("role", "alert"); hint.hidden = true;
    nav.appendChild(back); nav.appendChild(next);
    // The submit button joins the row on the last part, beside 上一步 (the screenshots showed them stacked).
    if (submit) { submit.parentNode.insertBefore(nav, submit); nav.appendChild(submit); }
    else { form.appendChild(nav); }
    nav.parentNode.insertBefore(hint, nav);

    var current = 0;
    steps.forEach(function (step, i) { if (hasErrors && current === 0 && step.querySelector(".has-error, .errors, p.error")) { current = i; } });

    function show(index, scroll) {
      current = Math.max(0, Math.min(steps.length - 1, index));
      steps.forEach(function (step, i) { step.hidden = i !== current; });
      var last = current === steps.length - 1;
      back.hidden = current === 0;
      next.hidden = last;
      if (submit) { submit.hidden = !last; }
      hint.hidden = true;
      hint.style.visibility = "";
      bar.style.width = Math.round(((current + 1) / steps.length) * 100) + "%";
      count.textContent = text(form, "data-step-label", "{n} / {total}")
        .replace("{n}", String(current + 1)).replace("{total}", String(steps.length));
      form.setAttribute("data-current-step", String(current + 1));
      if (scroll) { progress.scrollIntoView({ block: "start", behavior: "instant" }); }
    }

    next.addEventListener("click", function () {
      var missing = answered(steps[current]);
      if (missing) {
        hint.textContent = text(form, "data-required-label", "Please answer this first.");
        hint.hidden = false;
        hint.style.visibility = "";
        if (missing.focus) { missing.focus(); }
        return;
      }
      show(current + 1, true);
    });
    back.addEventListener("click", function () { show(current - 1, true); });
    form.addEventListener("keydown", function (event) {
      var tag = event.target && event.target.tagName;
      if (event.key === "Enter" && tag === "INPUT" && current < steps.length - 1) {
        event.preventDefault();
        next.click();
      }
    });
    // Answered: the reminder fades but keeps its room until the step changes; removing it here moved the next
    // button up between mousedown and mouseup (the blur's change event), and the tap was lost.
    form.addEventListener("change", function () { if (!answered(steps[current])) { hint.style.visibility = "hidden"; } });
    if (key) {
      form.addEventListener("change", function () { keep(form, key); });
      form.addEventListener("input", function () { keep(form, key); });
      form.addEventListener("submit", function () { try { sessionStorage.removeItem(key); } catch (e) { /* ignore */ } });
    }
    show(current, false);
  }

  function init() { document.querySelectorAll("form[data-steps]").forEach(setUp); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
