// Desk pages: let htmx swap 403 fragments (e.g. a refused reveal) instead of dropping them.
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail.xhr.status === 403) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
