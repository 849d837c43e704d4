/* The settings pages: a refused form's error summary takes the focus (a screen reader
   reads it, Tab goes on to its links); a matrix cell takes its priority's colour as soon
   as it is chosen (without this file it does so when the matrix is saved). */
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
  function colour(select) {
    var cell = select.closest && select.closest(".matrix-cell");
    if (!cell) return;
    cell.className = cell.className.replace(/\bprio-cell-\d*(?=\s|$)/, "prio-cell-" + select.value);
  }
  document.addEventListener("change", function (event) {
    colour(event.target);
  });
  /* a browser that restores the form (back, reload) restores the choices, not the colours */
  var selects = document.querySelectorAll(".matrix-cell select");
  for (var i = 0; i < selects.length; i++) colour(selects[i]);
})();
