/* Calendar feeds page: the Copy button beside a new address. Without this file the
   address is a read-only text field to select and copy by hand (the button stays hidden). */
(function () {
  "use strict";

  function flash(button, text) {
    var original = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", original);
    button.textContent = text;
    window.setTimeout(function () { button.textContent = original; }, 1600);
  }

  function setup(button) {
    var field = document.querySelector(button.getAttribute("data-feed-copy"));
    if (!field) return;
    button.hidden = false;
    field.addEventListener("focus", function () { field.select(); });
    button.addEventListener("click", function () {
      field.focus();
      field.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(
          function () { flash(button, "Copied"); },
          function () { flash(button, "Press Ctrl+C"); }
        );
        return;
      }
      var done = false;
      try { done = document.execCommand("copy"); } catch (e) { done = false; }
      flash(button, done ? "Copied" : "Press Ctrl+C");
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-feed-copy]"), setup);
  });
})();
