// The escalate form's hand-off note (issue 11): when the receiving team changes and the
// note is still a template (nothing written yet), it becomes that team's template. The
// page works without this: the note then starts as the incident's team's template.
(function () {
  "use strict";
  function start() {
    var data = document.getElementById("handoff-templates");
    var note = document.querySelector("textarea[data-handoff-note]");
    var team = document.getElementById("escalate_team");
    if (!data || !note || !team) return;
    var templates = JSON.parse(data.textContent || "{}");
    var squash = function (s) { return s.split(/\s+/).join(" ").trim(); };
    var untouched = function () {
      var now = squash(note.value);
      if (!now) return true;
      return Object.keys(templates).some(function (k) { return squash(templates[k]) === now; });
    };
    team.addEventListener("change", function () {
      if (!untouched()) return;
      var text = templates[team.value] || templates[""];
      if (typeof text === "string") note.value = text;
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
