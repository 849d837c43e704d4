/* The shared error summary (templates/tocsin/_error_summary.html): it takes focus when
   the page loads, and its links open the panel (<details>) that holds the field, scroll
   it into view and focus the field. Without JavaScript the links are plain anchors and
   the server has already opened the panel. */
(function () {
  "use strict";

  function reveal(element) {
    for (var node = element; node; node = node.parentElement) {
      if (node.tagName === "DETAILS" && !node.open) node.open = true;
    }
  }

  function focusable(element) {
    return element.matches("input, select, textarea, button, summary, a[href]") ||
      element.tabIndex >= 0;
  }

  function goTo(id) {
    var target = document.getElementById(id);
    if (!target) return false;
    reveal(target);
    target.scrollIntoView({ block: "center" });
    if (!focusable(target)) target.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: true });
    return true;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary) return;
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      if (!link) return;
      if (goTo(decodeURIComponent(link.getAttribute("href").slice(1)))) event.preventDefault();
    });
  });
})();
