// nhiaudit HTML report: filter and sort the findings table, show the reason of a graph edge on click.
// Inline, allowed by its hash in the page's Content-Security-Policy; it reads only the page itself and
// writes estate text with textContent, never as markup.
(function () {
  "use strict";
  var doc = document;
  var each = function (list, fn) { Array.prototype.forEach.call(list, fn); };
  var activate = function (el, fn) {
    el.addEventListener("click", fn);
    el.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); fn(); }
    });
  };

  function sortKey(cell) {
    var value = cell.getAttribute("data-sort");
    if (value === null) { value = cell.textContent; }
    value = value.trim();
    return value !== "" && !isNaN(value) ? Number(value) : value.toLowerCase();
  }

  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") { return a - b; }
    a = String(a); b = String(b);
    return a < b ? -1 : (a > b ? 1 : 0);
  }

  function findings(table) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var selects = Array.prototype.slice.call(doc.querySelectorAll("select[data-key]"));
    var text = doc.getElementById("f-text");
    var count = doc.getElementById("f-count");
    var texts = rows.map(function (row) {
      return Array.prototype.map.call(row.querySelectorAll(".q"), function (el) { return el.textContent; })
        .join(" ").toLowerCase();
    });
    function apply() {
      var query = text.value.trim().toLowerCase();
      var shown = 0;
      rows.forEach(function (row, i) {
        var ok = selects.every(function (s) {
          return s.value === "" || row.getAttribute("data-" + s.getAttribute("data-key")) === s.value;
        }) && (query === "" || texts[i].indexOf(query) !== -1);
        row.hidden = !ok;
        if (ok) { shown += 1; }
      });
      count.textContent = shown + " of " + rows.length + " findings shown";
    }
    selects.forEach(function (s) { s.addEventListener("change", apply); });
    text.addEventListener("input", apply);
    doc.getElementById("f-reset").addEventListener("click", function () {
      selects.forEach(function (s) { s.value = ""; });
      text.value = "";
      apply();
    });
    each(doc.querySelectorAll("[data-filter]"), function (el) {
      activate(el, function () {
        selects.forEach(function (s) { s.value = ""; });
        text.value = "";
        doc.getElementById("f-" + el.getAttribute("data-filter")).value = el.getAttribute("data-value");
        apply();
        doc.getElementById("findings").scrollIntoView();
      });
    });
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    headers.forEach(function (th, column) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var keyed = rows.map(function (row, i) { return [sortKey(row.cells[column]), i, row]; });
        keyed.sort(function (a, b) {
          var order = compare(a[0], b[0]);
          return (ascending ? order : -order) || a[1] - b[1];
        });
        keyed.forEach(function (item) { body.appendChild(item[2]); });
      });
    });
    apply();
  }

  function graphs() {
    each(doc.querySelectorAll("svg.graph .edge"), function (edge) {
      activate(edge, function () {
        var section = edge.closest("section.integration");
        var panel = section.querySelector(".hop-reason");
        each(section.querySelectorAll(".edge.selected"), function (other) { other.classList.remove("selected"); });
        edge.classList.add("selected");
        var head = doc.createElement("p");
        head.className = "hop-head";
        head.textContent = edge.getAttribute("data-from") + " \u2192 " + edge.getAttribute("data-to") +
          " (" + edge.getAttribute("data-kind") + ")";
        var reason = doc.createElement("p");
        reason.className = "reason";
        reason.textContent = edge.getAttribute("data-reason");
        panel.replaceChildren(head, reason);
      });
    });
  }

  var table = doc.getElementById("findings-table");
  if (table) { findings(table); }
  graphs();
}());
