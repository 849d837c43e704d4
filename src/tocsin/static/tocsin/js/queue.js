/* The queue's filters: Enter in a select applies them (they never apply on change, so
   arrowing through a select keeps focus, WCAG 3.2.2); on a phone the "Filters" button
   folds and unfolds them in place (without this file it jumps to them via #queue-filters). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("queue-filters");
    var toggle = document.querySelector("[data-filters-toggle]");
    if (!form) return;
    form.addEventListener("keydown", function (event) {
      var target = event.target;
      if (event.key === "Enter" && target && target.tagName === "SELECT") {
        event.preventDefault();
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      }
    });
    if (!toggle) return;
    var open = form.classList.contains("filters-open");
    toggle.setAttribute("role", "button");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    toggle.addEventListener("click", function (event) {
      event.preventDefault();
      open = !form.classList.contains("filters-open");
      form.classList.toggle("filters-open", open);
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) {
        var first = form.querySelector("input, select");
        if (first) first.focus();
      }
    });
  });
})();
