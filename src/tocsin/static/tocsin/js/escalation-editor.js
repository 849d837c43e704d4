/* The escalation policy editor (escalation/views.py, templates/escalation/editor.html).
   Without JavaScript every button is a submit that the server answers with the page
   again (Add a level, Add a target, Remove, Move up/down), and each target shows who it
   names now as the page was drawn. Here:
   - choosing another target shows at once who it names now (each option carries it),
     including a choice made before this script ran (a slow connection, a quick hand);
   - removing a level that has targets chosen asks first;
   - a level's running total ("paged after 20 min") follows the delay fields. */
(function () {
  "use strict";

  function showNow(select) {
    var out = document.querySelector('[data-now-for="' + select.id + '"]');
    if (!out) return;
    var option = select.options[select.selectedIndex];
    out.textContent = (option && option.getAttribute("data-now")) || "";
  }

  function totals(form) {
    var elapsed = 0;
    var levels = form.querySelectorAll("[data-level]");
    levels.forEach(function (level) {
      var note = level.querySelector("[data-level-at]");
      if (!note) {
        note = document.createElement("p");
        note.className = "small muted pol-level-at";
        note.setAttribute("data-level-at", "");
        var legend = level.querySelector("legend");
        if (legend && legend.nextSibling) {
          level.insertBefore(note, legend.nextSibling);
        } else {
          level.appendChild(note);
        }
      }
      note.textContent = elapsed === 0
        ? "Paged as soon as the climb starts."
        : "Paged after " + elapsed + " min without an acknowledgement.";
      var delay = level.querySelector("input.pol-delay");
      var minutes = delay ? parseInt(delay.value, 10) : NaN;
      elapsed += isNaN(minutes) || minutes < 1 ? 0 : minutes;
    });
  }

  function enhance(form) {
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target.matches && target.matches("select[data-target-select]")) showNow(target);
    });
    form.addEventListener("input", function (event) {
      if (event.target.matches && event.target.matches("input.pol-delay")) totals(form);
    });
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !/^remove-level:/.test(button.value || "")) return;
      var level = button.closest("[data-level]");
      var chosen = level ? Array.prototype.some.call(
        level.querySelectorAll("select[data-target-select]"),
        function (s) { return s.value !== ""; }
      ) : false;
      if (chosen && !window.confirm("Remove " + button.textContent.trim().replace(/^Remove /, "") + " and its targets?")) {
        event.preventDefault();
      }
    });
    form.querySelectorAll("select[data-target-select]").forEach(showNow);
    totals(form);
  }

  function start() {
    document.querySelectorAll("form[data-policy-editor]").forEach(enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
