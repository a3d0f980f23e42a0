// Hashtrail web UI: small enhancements over pages that work without
// JavaScript. Endless scroll over the "Older events" link, a "N new events"
// pill for live updates, search suggestions for qualifiers, and selects that
// apply on change. No dependencies; served from /ui/static/ under a CSP that
// allows scripts from the UI's own origin only.
(function () {
  "use strict";

  // Selects marked data-autosubmit submit their form on change.
  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (sel) {
      sel.addEventListener("change", function () {
        if (sel.form) sel.form.requestSubmit ? sel.form.requestSubmit() : sel.form.submit();
      });
    });
  }

  // Read-only fields marked data-select select their text on focus (a new
  // key's secret, to copy).
  function selectOnFocus() {
    document.querySelectorAll("input[data-select]").forEach(function (el) {
      el.addEventListener("focus", function () { el.select(); });
    });
  }

  // Endless scroll: when the "Older events" link comes into view, fetch
  // its page's rows (partial=1) and append them; the link stays a plain link
  // for keyboard users and when fetching fails.
  function endlessScroll() {
    var list = document.querySelector("[data-rows]");
    if (!list || !("IntersectionObserver" in window)) return;
    var busy = false;
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) loadOlder(entry.target);
      });
    }, { rootMargin: "600px 0px" });

    function watch() {
      var link = document.querySelector("#pager a[data-older]");
      if (link) observer.observe(link);
    }

    function loadOlder(link) {
      if (busy) return;
      busy = true;
      observer.unobserve(link);
      var url = new URL(link.href, location.href);
      url.searchParams.set("partial", "1");
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (res) {
          if (!res.ok) throw new Error("HTTP " + res.status);
          return res.text();
        })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var rows = doc.querySelector("[data-rows]");
          if (rows) Array.prototype.slice.call(rows.children).forEach(function (row) {
            list.appendChild(document.adoptNode(row));
          });
          var pager = document.getElementById("pager");
          var next = doc.getElementById("pager");
          if (pager && next) pager.replaceWith(document.adoptNode(next));
          busy = false;
          watch();
        })
        .catch(function () {
          busy = false; // the link still works when followed
        });
    }
    watch();
  }

  // Live updates: poll how many newer events match the feed's filters and
  // offer them in a pill; clicking it reloads the first page.
  function liveUpdates() {
    var box = document.querySelector("[data-live]");
    if (!box) return;
    var top = box.getAttribute("data-top-seq");
    var base = box.getAttribute("data-live");
    var pill = null;
    var timer = null;
    var interval = 10000;

    function show(count, more) {
      if (count <= 0) return;
      if (!pill) {
        pill = document.createElement("button");
        pill.type = "button";
        pill.className = "live-pill";
        pill.addEventListener("click", function () { location.reload(); });
        box.appendChild(pill);
      }
      var n = more ? count + "+" : String(count);
      pill.textContent = n + (count === 1 && !more ? " new event" : " new events") + " · show";
    }

    function poll() {
      timer = null;
      if (document.hidden) return;
      var url = new URL(base, location.href);
      url.searchParams.set("after", top);
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (res) { return res.ok ? res.json() : null; })
        .then(function (body) {
          if (body) show(body.count, body.more);
          schedule();
        })
        .catch(schedule);
    }

    function schedule() {
      if (timer === null && !document.hidden) timer = setTimeout(poll, interval);
    }

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) schedule();
    });
    schedule();
  }

  // Search suggestions: the datalist of qualifiers completes the word being
  // typed, keeping the words before it.
  function suggestions() {
    var input = document.querySelector("input[data-suggest]");
    if (!input || !input.list) return;
    var list = input.list;
    var all = Array.prototype.map.call(list.options, function (o) { return o.value; });

    function update() {
      var v = input.value;
      var cut = v.lastIndexOf(" ") + 1;
      var head = v.slice(0, cut);
      var word = v.slice(cut);
      var neg = word.charAt(0) === "-" ? "-" : "";
      var w = word.slice(neg.length).toLowerCase();
      var matches = all.filter(function (s) {
        var bare = s.charAt(0) === "-" ? s.slice(1) : s;
        return w === "" ? bare.indexOf(":") === bare.length - 1 || bare.indexOf(".") === bare.length - 1 || s.length < 24
          : bare.toLowerCase().indexOf(w) === 0 && bare.toLowerCase() !== w;
      }).slice(0, 30);
      list.replaceChildren.apply(list, matches.map(function (s) {
        var o = document.createElement("option");
        o.value = head + (s.charAt(0) === "-" ? s : neg + s);
        return o;
      }));
    }
    input.addEventListener("input", update);
    update();

    // "/" focuses the search box, as on GitHub.
    document.addEventListener("keydown", function (e) {
      var t = e.target;
      var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
      if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        input.focus();
      }
    });
  }

  // Keep relative times fresh on long-open pages.
  function refreshTimes() {
    function ago(t) {
      var s = (Date.now() - t) / 1000;
      if (s < 0) return "in the future";
      if (s < 60) return "just now";
      var n, unit;
      if (s < 3600) { n = Math.floor(s / 60); unit = "minute"; }
      else if (s < 86400) { n = Math.floor(s / 3600); unit = "hour"; }
      else if (s < 86400 * 60) { n = Math.floor(s / 86400); unit = "day"; }
      else { n = Math.floor(s / 2592000); unit = "month"; }
      return n + " " + unit + (n === 1 ? "" : "s") + " ago";
    }
    setInterval(function () {
      document.querySelectorAll(".ev-time time[datetime]").forEach(function (el) {
        var t = Date.parse(el.getAttribute("datetime"));
        if (!isNaN(t)) el.textContent = ago(t);
      });
    }, 60000);
  }

  // j and k move between the events of a list, Enter opens one (the
  // focused link), as in mail and code review tools.
  function keyboardNav() {
    document.addEventListener("keydown", function (e) {
      if (e.key !== "j" && e.key !== "k") return;
      var t = e.target;
      if (e.ctrlKey || e.metaKey || e.altKey || (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable))) return;
      var links = Array.prototype.slice.call(document.querySelectorAll("[data-rows] .ev-action, [data-rows] td:first-child a"));
      if (!links.length) return;
      var i = links.indexOf(document.activeElement);
      i = e.key === "j" ? Math.min(i + 1, links.length - 1) : Math.max(i - 1, 0);
      e.preventDefault();
      links[i].focus();
      var row = links[i].closest("li, tr");
      if (row && row.scrollIntoView) row.scrollIntoView({ block: "nearest" });
    });
  }

  // Forms marked data-confirm ask before doing something hard to undo
  // (revoking a key, lifting a hold). Without JavaScript they submit.
  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
      });
    });
  }

  function start() {
    keyboardNav();
    confirmForms();
    autosubmit();
    selectOnFocus();
    endlessScroll();
    liveUpdates();
    suggestions();
    refreshTimes();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
