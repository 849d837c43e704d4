/* Alerts and integrations pages: copy buttons, and only the chosen kind's options.
   Every page works without this file (all option groups are then shown). */
(function () {
  "use strict";

  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function flash(button, text) {
    var original = button.getAttribute("data-label") || button.textContent;
    button.setAttribute("data-label", original);
    button.textContent = text;
    window.setTimeout(function () { button.textContent = original; }, 1600);
  }

  function setupCopy(button) {
    button.addEventListener("click", function () {
      var target = document.querySelector(button.getAttribute("data-copy"));
      if (!target) return;
      var text = target.textContent;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { flash(button, "Copied"); },
          function () { selectText(target); flash(button, "Press Ctrl+C"); }
        );
      } else {
        selectText(target);
        var done = false;
        try { done = document.execCommand("copy"); } catch (e) { done = false; }
        flash(button, done ? "Copied" : "Press Ctrl+C");
      }
    });
  }

  function setupKindOptions(form) {
    var groups = form.querySelectorAll("[data-kind-options]");
    function update() {
      var chosen = form.querySelector('input[name="kind"]:checked');
      var kind = chosen ? chosen.value : "";
      Array.prototype.forEach.call(groups, function (group) {
        var kinds = group.getAttribute("data-kind-options").split(" ");
        var show = kinds.indexOf(kind) !== -1;
        group.hidden = !show;
        Array.prototype.forEach.call(group.querySelectorAll("input, select, textarea"), function (el) {
          el.disabled = !show;
        });
      });
    }
    form.addEventListener("change", function (event) {
      if (event.target && event.target.name === "kind") update();
    });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), setupCopy);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-integration-form]"), setupKindOptions);
  });
})();
