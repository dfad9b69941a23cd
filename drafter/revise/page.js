// drafter review page: sorting, filtering and folding. The page works without it.
(function () {
  "use strict";
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var table = document.getElementById("overview");
  var body = table.tBodies[0];
  var heads = table.tHead.rows[0].cells;
  var value = function (row, col, numeric) {
    var cell = row.cells[col];
    var raw = cell.getAttribute("data-sort");
    if (raw === null) { raw = cell.textContent.trim(); }
    return numeric ? (parseFloat(raw) || 0) : raw;
  };
  each(heads, function (th, col) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = th.textContent;
    th.textContent = "";
    th.appendChild(button);
    th.setAttribute("aria-sort", "none");
    button.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      var numeric = th.getAttribute("data-type") === "num";
      each(heads, function (other) { other.setAttribute("aria-sort", "none"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = value(a, col, numeric), y = value(b, col, numeric);
        var order = numeric ? x - y : String(x).localeCompare(String(y));
        return ascending ? order : -order;
      });
      each(rows, function (row) { body.appendChild(row); });
    });
  });
  var tools = document.getElementById("tools");
  tools.hidden = false;
  var filter = document.getElementById("filter");
  var shown = document.getElementById("shown");
  filter.addEventListener("input", function () {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var count = 0;
    each(body.rows, function (row) {
      var text = row.getAttribute("data-search");
      var keep = words.every(function (w) { return text.indexOf(w) !== -1; });
      row.hidden = !keep;
      var article = document.querySelector('article[data-anchor="' + row.getAttribute("data-anchor") + '"]');
      if (article) { article.hidden = !keep; }
      if (keep) { count += 1; }
    });
    shown.textContent = words.length ? count + " of " + body.rows.length + " drafts shown" : "";
  });
  var fold = function (open) { each(document.querySelectorAll("main details"), function (d) { d.open = open; }); };
  document.getElementById("expand").addEventListener("click", function () { fold(true); });
  document.getElementById("collapse").addEventListener("click", function () { fold(false); });
  var reveal = function () {
    var target = location.hash && document.getElementById(location.hash.slice(1));
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
  };
  window.addEventListener("hashchange", reveal);
  reveal();
}());
