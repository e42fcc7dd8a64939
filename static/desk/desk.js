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
