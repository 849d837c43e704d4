/* File inputs (data-upload-check): a chosen file the server would refuse (type or size) is
   taken out of the choice at once and named; the other files stay chosen. The server
   checks every file again; without this script it names the refused file itself. */
(function () {
  "use strict";

  function accepted(file, tokens) {
    var name = (file.name || "").toLowerCase();
    var type = (file.type || "").toLowerCase();
    for (var i = 0; i < tokens.length; i++) {
      var token = tokens[i];
      if (!token) continue;
      if (token.charAt(0) === ".") {
        if (name.slice(-token.length) === token) return true;
      } else if (token.slice(-2) === "/*") {
        if (type && type.indexOf(token.slice(0, -1)) === 0) return true;
      } else if (type === token) {
        return true;
      }
    }
    return false;
  }

  function megabytes(bytes) {
    return Math.floor(bytes / (1024 * 1024)) + " MB";
  }

  function noteFor(input) {
    var id = input.id + "_uploadnote";
    var note = document.getElementById(id);
    if (!note) {
      note = document.createElement("p");
      note.id = id;
      note.className = "upload-note";
      note.setAttribute("role", "status");
      input.insertAdjacentElement("afterend", note);
      var described = input.getAttribute("aria-describedby");
      input.setAttribute("aria-describedby", described ? described + " " + id : id);
    }
    return note;
  }

  function check(input) {
    var tokens = (input.getAttribute("accept") || "").toLowerCase().split(",");
    var limit = parseInt(input.getAttribute("data-max-bytes"), 10) || 0;
    var kept = [];
    var refused = [];
    for (var i = 0; i < input.files.length; i++) {
      var file = input.files[i];
      if (limit && file.size > limit) {
        refused.push(file.name + " (larger than " + megabytes(limit) + ")");
      } else if (file.size === 0) {
        refused.push(file.name + " (empty)");
      } else if (!accepted(file, tokens)) {
        refused.push(file.name + " (this type of file is not accepted)");
      } else {
        kept.push(file);
      }
    }
    var note = noteFor(input);
    if (!refused.length) {
      note.textContent = "";
      note.classList.remove("upload-note-refused");
      return;
    }
    if (typeof DataTransfer === "function") {
      var transfer = new DataTransfer();
      kept.forEach(function (file) { transfer.items.add(file); });
      input.files = transfer.files;
    }
    var names = kept.map(function (file) { return file.name; });
    note.textContent = "Not added: " + refused.join(", ") + ". " +
      (names.length ? "Kept: " + names.join(", ") + "." : "No file is chosen now.");
    note.classList.add("upload-note-refused");
  }

  function init() {
    var inputs = document.querySelectorAll("input[type=file][data-upload-check]");
    for (var i = 0; i < inputs.length; i++) {
      inputs[i].addEventListener("change", function (event) { check(event.target); });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
