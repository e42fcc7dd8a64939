/* The 60-second resend countdown of the SMS code buttons (issue 16): after a code was sent, the button
   stays disabled and counts down ("59 秒后可重发"), then offers to resend. A button opts in with
   data-resend-seconds and data-resend-label (a translated text holding "{s}"); the server's own rate
   limit stays the rule, this only says when to try again. A static file: the CSP allows no inline script. */
(function () {
  "use strict";
  function countdown(button) {
    var seconds = parseInt(button.getAttribute("data-resend-seconds"), 10) || 60;
    var label = button.getAttribute("data-resend-label") || "{s}";
    var original = button.getAttribute("data-resend-original") || button.textContent;
    button.setAttribute("data-resend-original", original);
    if (button._resendTimer) { clearInterval(button._resendTimer); }
    function tick() {
      if (seconds <= 0) {
        clearInterval(button._resendTimer);
        button._resendTimer = null;
        button.disabled = false;
        button.textContent = original;
        return;
      }
      button.disabled = true;  // htmx re-enables its hx-disabled-elt after the request: keep it off
      button.textContent = label.replace("{s}", String(seconds));
      seconds -= 1;
    }
    tick();
    button._resendTimer = setInterval(tick, 1000);
  }
  document.addEventListener("htmx:afterRequest", function (event) {
    var button = event.detail && event.detail.elt;
    if (!button || !button.hasAttribute || !button.hasAttribute("data-resend-seconds")) { return; }
    var target = event.detail.target;
    var sent = event.detail.successful && target && target.querySelector(".code-status.ok");
    if (sent) { setTimeout(function () { countdown(button); }, 0); }
  });
})();
