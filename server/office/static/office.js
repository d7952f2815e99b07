// Every office page: label the cells of each table with their column header (data-label),
// so that on a phone the CSS can show a row as a card of "header: value" lines.
(function () {
  "use strict";
  function stackTables() {
    document.querySelectorAll("table.grid").forEach(function (t) {
      var heads = Array.prototype.map.call(t.querySelectorAll("thead th"), function (th) {
        return th.textContent.replace(/[▲▼]/g, "").trim();
      });
      if (!heads.length) { return; }
      t.querySelectorAll("tbody tr").forEach(function (tr) {
        var i = 0;
        Array.prototype.forEach.call(tr.children, function (td) {
          if (!td.hasAttribute("data-label") && td.colSpan === 1 && heads[i]) {
            td.setAttribute("data-label", heads[i]);
          }
          i += td.colSpan || 1;
        });
      });
      t.classList.add("labelled");
    });
  }
  window.stackTables = stackTables;
  // <select data-nav="/office/villages/{v}/..."> goes to the chosen value (no inline handler,
  // so a strict Content-Security-Policy can work)
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t && t.matches && t.matches("select[data-nav]")) {
      location.href = t.getAttribute("data-nav").replace("{v}", encodeURIComponent(t.value));
    }
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", stackTables);
  } else { stackTables(); }
})();
