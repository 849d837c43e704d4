/* Alerts and integrations pages: copy buttons, only the chosen kind's options, and the
   alerts list's selection.
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

  /* The alerts list: a "select every alert" box, and the count of those selected.
     Without this file each row's box still works and the buttons still post. */
  function setupBulk(form) {
    var all = form.querySelector("[data-select-all]");
    var count = form.querySelector("[data-bulk-count]");
    var boxes = form.querySelectorAll('input[name="alert"]:not([disabled])');
    if (!boxes.length) return;
    function update() {
      var n = 0;
      Array.prototype.forEach.call(boxes, function (box) { if (box.checked) n += 1; });
      if (count) count.textContent = n ? n + " selected" : "With the selected alerts";
      if (all) {
        all.checked = n === boxes.length;
        all.indeterminate = n > 0 && n < boxes.length;
      }
    }
    if (all) {
      all.hidden = false;
      all.addEventListener("change", function () {
        Array.prototype.forEach.call(boxes, function (box) { box.checked = all.checked; });
        update();
      });
    }
    form.addEventListener("change", function (event) {
      if (event.target && event.target.name === "alert") update();
    });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form#alert-actions"), setupBulk);
    var bulkError = document.getElementById("bulk-error");
    if (bulkError) bulkError.focus();
    Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), setupCopy);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-integration-form]"), setupKindOptions);
  });
})();
