/* List filters (the queue's, and any list page that includes this file):
   - Enter in a select of a `form.filters` applies the filters; they never apply on
     change, so arrowing through a select keeps focus (WCAG 3.2.2);
   - on a phone an `a[data-filters-toggle][aria-controls=<form id>]` folds and unfolds
     the form in place (without this file the link jumps to the form: CSS :target). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form.filters"), function (form) {
      form.addEventListener("keydown", function (event) {
        var target = event.target;
        if (event.key === "Enter" && target && target.tagName === "SELECT") {
          event.preventDefault();
          if (form.requestSubmit) form.requestSubmit(); else form.submit();
        }
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-filters-toggle]"), function (toggle) {
      var form = document.getElementById(toggle.getAttribute("aria-controls"));
      if (!form) return;
      toggle.setAttribute("role", "button");
      toggle.setAttribute("aria-expanded", form.classList.contains("filters-open") ? "true" : "false");
      toggle.addEventListener("click", function (event) {
        event.preventDefault();
        var open = !form.classList.contains("filters-open");
        form.classList.toggle("filters-open", open);
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
        if (open) {
          var first = form.querySelector("input, select");
          if (first) first.focus();
        }
      });
    });
  });
})();
