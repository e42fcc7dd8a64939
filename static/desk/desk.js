// Desk pages: let htmx swap 403 fragments (e.g. a refused reveal) instead of dropping them.
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail.xhr.status === 403) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
// "Go back" links (error pages) without a javascript: URL, which the Content-Security-Policy refuses.
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("[data-history-back]");
  if (link) {
    event.preventDefault();
    history.back();
  }
});
// Result toasts (base.html): stay until the clerk closes them.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-dismiss='toast']");
  if (button) {
    var toast = button.closest(".toast");
    if (toast) { toast.remove(); }
  }
});
// The member search box: "/" focuses it from anywhere on a desk page (a scanner then types the QR and Enter).
document.addEventListener("keydown", function (event) {
  var box = document.getElementById("quick-search-q");
  var tag = (event.target.tagName || "").toLowerCase();
  if (box && event.key === "/" && tag !== "input" && tag !== "textarea" && tag !== "select") {
    event.preventDefault();
    box.focus();
  }
});
