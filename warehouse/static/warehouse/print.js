// The Print button of printed documents (no inline handler: the pages' Content-Security-Policy forbids them).
document.addEventListener("click", function (event) {
  if (event.target.closest && event.target.closest("[data-print]")) window.print();
});
