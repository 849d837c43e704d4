/* The settings pages: a refused form's error summary takes the focus (a screen reader
   reads it, Tab goes on to its links); a matrix cell takes its priority's colour as soon
   as it is chosen (without this file it does so when the matrix is saved). */
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
  document.addEventListener("change", function (event) {
    var select = event.target;
    var cell = select.closest && select.closest(".matrix-cell");
    if (!cell) return;
    cell.className = cell.className.replace(/\bprio-cell-\d\b/, "prio-cell-" + select.value);
  });
})();
