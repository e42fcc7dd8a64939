// Desk member sign-up (issue 16): the company block is shown only while the corporate kind is chosen. The
// page starts as the server rendered it (shown for corporate, or when it carries errors). The server requires it for a corporate member and refuses it for a personal one (members.forms_desk).
(function () {
  function sync(form) {
    var chosen = form.querySelector("input[name='kind']:checked");
    form.querySelectorAll("[data-shown-for-kind]").forEach(function (block) {
      block.hidden = !chosen || chosen.value !== block.getAttribute("data-shown-for-kind");
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.name === "kind" && event.target.form) { sync(event.target.form); }
  });
})();
