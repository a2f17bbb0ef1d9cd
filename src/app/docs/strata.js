// strata docs: the search box. The index (tables and columns) is window.STRATA_INDEX, written
// by `strata docs` into assets/search-index.js; links are relative to the site's root.
(function () {
  var input = document.getElementById("search");
  var list = document.getElementById("results");
  if (!input || !list || !window.STRATA_INDEX) return;
  var root = document.body.getAttribute("data-root") || "";
  function score(entry, q) {
    var name = entry.n.toLowerCase();
    var i = name.indexOf(q);
    if (i < 0) return (entry.d || "").toLowerCase().indexOf(q) >= 0 ? 3 : -1;
    if (i === 0 || name.charAt(i - 1) === ".") return entry.k === "table" ? 0 : 1;
    return 2;
  }
  function show() {
    var q = input.value.trim().toLowerCase();
    list.innerHTML = "";
    if (!q) return;
    var hits = [];
    window.STRATA_INDEX.forEach(function (e) {
      var s = score(e, q);
      if (s >= 0) hits.push([s, e]);
    });
    hits.sort(function (a, b) { return a[0] - b[0] || (a[1].n < b[1].n ? -1 : 1); });
    hits.slice(0, 30).forEach(function (h) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = root + h[1].u;
      var name = document.createElement("span");
      name.className = "name";
      name.textContent = h[1].n;
      a.appendChild(name);
      var k = document.createElement("span");
      k.className = "kind";
      k.textContent = h[1].k + (h[1].d ? " — " + h[1].d.slice(0, 70) : "");
      a.appendChild(k);
      li.appendChild(a);
      list.appendChild(li);
    });
  }
  input.addEventListener("input", show);
  input.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") {
      var first = list.querySelector("a");
      if (first) window.location.href = first.href;
    } else if (ev.key === "Escape") {
      input.value = "";
      show();
    }
  });
})();
