// Client-side search over search/index.json: no server, no external requests.
// Matching folds case and accents, so "vucic" finds "Vučić"; every word typed must match.
(function () {
  "use strict";
  var form = document.querySelector(".search-form");
  if (!form) return;
  var input = document.getElementById("search-input");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  var base = form.getAttribute("data-base");
  var records = null;
  var LABELS = { claim: "Claim", speaker: "Speaker", event: "Event", source: "Source" };
  var MAX = 50;

  function fold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").replace(/đ/g, "dj").replace(/Đ/g, "Dj").toLowerCase();
  }

  function load() {
    if (records) return Promise.resolve(records);
    return fetch(form.getAttribute("data-index"))
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        records = data.records.map(function (r) {
          return { kind: r[0], url: r[1], title: r[2], detail: r[3], hay: fold(r[2] + " " + r[3] + " " + r[4]) };
        });
        return records;
      });
  }

  function render(query, found) {
    list.textContent = "";
    found.slice(0, MAX).forEach(function (r) {
      var li = document.createElement("li");
      var card = document.createElement("article");
      card.className = "card";
      var kind = document.createElement("p");
      kind.className = "card-meta";
      kind.textContent = LABELS[r.kind] + " · " + r.detail;
      var title = document.createElement("p");
      title.className = "card-quote";
      var a = document.createElement("a");
      a.href = base + r.url;
      a.textContent = r.kind === "claim" ? "“" + r.title + "”" : r.title;
      title.appendChild(a);
      card.appendChild(title);
      card.appendChild(kind);
      li.appendChild(card);
      list.appendChild(li);
    });
    var n = found.length;
    status.textContent = query ? n + (n === 1 ? " result" : " results") + " for “" + query + "”" +
      (n > MAX ? " (showing the first " + MAX + ")" : "") : "";
  }

  function run() {
    var query = input.value.trim();
    var words = fold(query).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    if (!words.length) { render("", []); return; }
    load().then(function (all) {
      render(query, all.filter(function (r) {
        return words.every(function (w) { return r.hay.indexOf(w) !== -1; });
      }));
    }).catch(function () { status.textContent = "The search index could not be loaded."; });
  }

  var timer = null;
  input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 120); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var url = new URL(window.location.href);
    url.searchParams.set("q", input.value);
    history.replaceState(null, "", url);
    run();
  });
  var initial = new URLSearchParams(window.location.search).get("q");
  if (initial) { input.value = initial; run(); }
})();
