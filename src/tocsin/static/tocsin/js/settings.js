/* The priority matrix page: a cell takes its priority's colour as soon as it is chosen
   (without this file it does so when the matrix is saved). */
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var select = event.target;
    var cell = select.closest && select.closest(".matrix-cell");
    if (!cell) return;
    cell.className = cell.className.replace(/\bprio-cell-\d\b/, "prio-cell-" + select.value);
  });
})();
