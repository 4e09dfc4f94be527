/* The printable survey poster of a circle (满意度调查海报). */
(function () {
  "use strict";
  document.getElementById("poster-print").addEventListener("click", function () { window.print(); });
  document.body.dataset.ready = "1";
})();
