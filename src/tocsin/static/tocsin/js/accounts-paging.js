/* Paging profile page: "Add a row" and per-row "Remove" in the notification-rules editor.
   Without this file the editor is a plain form with one empty row to fill in, and a rule
   is dropped by setting its method to "— none —" (the buttons stay hidden). */
(function () {
  "use strict";

  var MAX_ROWS = 20;

  function renumber(form) {
    var urgency = form.querySelector("input[name=urgency]").value;
    var rows = form.querySelectorAll("[data-rule-row]");
    Array.prototype.forEach.call(rows, function (row, index) {
      var n = index + 1;
      var select = row.querySelector("select");
      var delay = row.querySelector("input");
      var labels = row.querySelectorAll("label");
      select.id = "rule-" + urgency + "-" + n + "-method";
      delay.id = "rule-" + urgency + "-" + n + "-delay";
      labels[0].htmlFor = select.id;
      labels[0].textContent = "Method, row " + n;
      labels[1].htmlFor = delay.id;
      labels[1].textContent = "After how many minutes, row " + n;
      var hidden = row.querySelector("[data-rule-remove] .visually-hidden");
      if (hidden) hidden.textContent = " row " + n;
    });
    var add = form.querySelector("[data-rule-add]");
    if (add) add.disabled = rows.length >= MAX_ROWS;
  }

  function removeRow(form, row) {
    var body = form.querySelector("[data-rule-rows]");
    if (body.querySelectorAll("[data-rule-row]").length > 1) {
      var next = row.nextElementSibling || row.previousElementSibling;
      row.parentNode.removeChild(row);
      renumber(form);
      var focus = next && next.querySelector("select");
      if (focus) focus.focus();
    } else {
      row.querySelector("select").value = "";
      row.querySelector("input").value = "";
      row.classList.remove("has-error");
    }
  }

  function wireRow(form, row) {
    var button = row.querySelector("[data-rule-remove]");
    if (!button) return;
    button.hidden = false;
    button.addEventListener("click", function () { removeRow(form, row); });
  }

  function setup(form) {
    var body = form.querySelector("[data-rule-rows]");
    var add = form.querySelector("[data-rule-add]");
    Array.prototype.forEach.call(form.querySelectorAll("[data-rule-row]"), function (row) {
      wireRow(form, row);
    });
    if (!add || !body) return;
    add.hidden = false;
    add.addEventListener("click", function () {
      var rows = body.querySelectorAll("[data-rule-row]");
      if (rows.length >= MAX_ROWS) return;
      var copy = rows[rows.length - 1].cloneNode(true);
      copy.classList.remove("has-error");
      copy.querySelector("select").value = "";
      copy.querySelector("input").value = "";
      Array.prototype.forEach.call(copy.querySelectorAll("[aria-invalid]"), function (el) {
        el.removeAttribute("aria-invalid");
      });
      body.appendChild(copy);
      wireRow(form, copy);
      renumber(form);
      copy.querySelector("select").focus();
    });
    renumber(form);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-rules]"), setup);
  });
})();
