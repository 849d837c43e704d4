/* The schedule editor (oncall/editor_views.py, templates/oncall/editor.html).
   Without JavaScript every button is a submit that the server answers with the page
   again: Preview, Add layer, Move up/down, Add a window, Add to the list. Here:
   - the preview follows the fields: a short pause after a change, the form is POSTed
     (CSRF token included, it is one of the form's fields) to the preview endpoint,
     which answers an HTML fragment and writes nothing;
   - "Daily" and "Weekly" buttons fill a layer's every + unit;
   - "Add to the list" appends the picked person to the layer's list without a reload. */
(function () {
  "use strict";

  var DELAY = 700;

  function enhance(form) {
    var url = form.getAttribute("data-preview-url");
    var body = document.querySelector("[data-preview-body]");
    var timer = null;
    var latest = 0;

    function refresh() {
      if (!url || !body) return;
      var data = new FormData(form);
      data.set("action", "preview");
      var mine = ++latest;
      body.setAttribute("aria-busy", "true");
      fetch(url, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (response) {
          // 200: the shifts; 422: what to fix. Anything else (signed out, a stale CSRF
          // token) is not a fragment: say so and leave the Preview button to it.
          if (response.status !== 200 && response.status !== 422) {
            throw new Error("status " + response.status);
          }
          return response.text();
        })
        .then(function (html) {
          if (mine !== latest) return;
          body.innerHTML = html;
          body.removeAttribute("aria-busy");
        })
        .catch(function () {
          if (mine !== latest) return;
          body.removeAttribute("aria-busy");
          var note = document.createElement("p");
          note.className = "muted";
          note.textContent = "The preview could not update by itself; press Preview.";
          body.replaceChildren(note);
        });
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, DELAY);
    }

    form.addEventListener("input", later);
    form.addEventListener("change", later);

    // An every-day window has no days to tick and ends the same day or the next.
    function showDays(kind) {
      var box = kind.closest(".editor-window");
      if (!box) return;
      var daily = kind.value === "daily";
      Array.prototype.forEach.call(
        box.querySelectorAll(".field-checks, [data-end-day]"),
        function (part) { part.hidden = daily && !part.querySelector(".errorlist"); }
      );
    }
    Array.prototype.forEach.call(form.querySelectorAll("select[name$='-kind']"), showDays);
    form.addEventListener("change", function (event) {
      if (event.target.matches && event.target.matches("select[name$='-kind']")) {
        showDays(event.target);
      }
    });

    Array.prototype.forEach.call(form.querySelectorAll("[data-presets]"), function (holder) {
      var i = holder.getAttribute("data-presets");
      var every = form.querySelector("[name='layer-" + i + "-every']");
      var unit = form.querySelector("[name='layer-" + i + "-unit']");
      if (!every || !unit) return;
      holder.textContent = "";
      holder.classList.add("btn-row");
      [["Daily", "days"], ["Weekly", "weeks"]].forEach(function (preset) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "btn btn-sm btn-ghost";
        button.textContent = preset[0];
        var hidden = document.createElement("span");
        hidden.className = "visually-hidden";
        hidden.textContent = " rotation for layer " + (Number(i) + 1);
        button.appendChild(hidden);
        button.addEventListener("click", function () {
          every.value = "1";
          unit.value = preset[1];
          later();
        });
        holder.appendChild(button);
      });
    });

    form.addEventListener("click", function (event) {
      var button = event.target.closest("[data-add-person]");
      if (!button) return;
      var i = button.getAttribute("data-add-person");
      var select = form.querySelector("[name='layer-" + i + "-add_user']");
      var list = form.querySelector("[name='layer-" + i + "-users']");
      if (!select || !list) return;
      event.preventDefault();
      if (!select.value) return;
      var text = list.value.replace(/\s+$/, "");
      list.value = text ? text + "\n" + select.value : select.value;
      later();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-layer-editor]"), enhance);
  });

  // The Preview button lands on #editor-preview; when the page came back with errors
  // instead, the error summary (focused by error-summary.js) is the place to be.
  window.addEventListener("load", function () {
    var summary = document.querySelector("[data-error-summary]");
    if (!summary || !document.querySelector("[data-layer-editor]")) return;
    if (window.location.hash === "#editor-preview") {
      summary.scrollIntoView({ block: "start" });
      if (document.activeElement !== summary) summary.focus({ preventScroll: true });
    }
  });
})();
