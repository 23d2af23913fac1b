// Vigil's banner for the owner's own site:
//   <script src="https://status.example.com/embed.js" async></script>
// While an incident or a maintenance is under way it shows a banner at the foot of the page,
// linking to it; otherwise nothing. No dependencies. It reads the status page's public JSON
// through CORS (the host page's CSP needs this origin in script-src and connect-src), builds
// its elements with the DOM and styles them through CSSOM, which a strict style-src allows, and
// puts names in as text, never as markup. A visitor may dismiss it; it stays dismissed until
// the incident has news.
(function () {
  var me = document.currentScript;
  if (!me || !me.src) return;
  var base = me.src.replace(/\/embed\.js(\?.*)?$/, "");
  var root = document.documentElement;
  var done = function (what) {
    root.setAttribute("data-vigil-embed", what);
  };
  var css = function (el, rules) {
    for (var k in rules) el.style[k] = rules[k];
    return el;
  };
  var words = function (s) {
    s = String(s || "").replace(/_/g, " ");
    return s.charAt(0).toUpperCase() + s.slice(1);
  };
  // Revalidated each time (a 304 when nothing changed): the page's five-second freshness is
  // for caches in between, and a banner should not lag behind the incident it announces.
  fetch(base + "/api/v2/summary.json", { credentials: "omit", cache: "no-cache" })
    .then(function (r) {
      return r.ok ? r.json() : null;
    })
    .then(function (s) {
      if (!s) return done("unavailable");
      var open = (s.incidents || []).concat(
        (s.scheduled_maintenances || []).filter(function (m) {
          return m.status === "in_progress" || m.status === "verifying";
        })
      );
      if (!open.length) return done("quiet");
      var i = open[0];
      var seen = i.id + "@" + i.updated_at;
      var key = "vigil-embed-dismissed:" + base;
      try {
        if (localStorage.getItem(key) === seen) return done("dismissed");
      } catch (e) {}
      var bar = css(document.createElement("div"), {
        position: "fixed", left: "0", right: "0", bottom: "0", zIndex: "2147483647",
        display: "flex", gap: "1em", alignItems: "center", justifyContent: "center",
        padding: "0.75em 1em", background: "#1b1e23", color: "#ffffff",
        font: "14px/1.4 system-ui, sans-serif", boxShadow: "0 -2px 8px rgba(0,0,0,.25)",
      });
      bar.setAttribute("role", "status");
      bar.setAttribute("data-vigil-banner", "");
      var state = css(document.createElement("strong"), { whiteSpace: "nowrap" });
      state.textContent = words(i.status) + ":";
      var link = css(document.createElement("a"), { color: "#ffffff", textDecoration: "underline" });
      link.href = base + "/incidents/" + encodeURIComponent(i.id);
      link.target = "_blank";
      link.rel = "noopener";
      link.textContent = i.name;
      var close = css(document.createElement("button"), {
        background: "transparent", color: "#ffffff", border: "1px solid #ffffff",
        borderRadius: "4px", cursor: "pointer", font: "inherit", padding: "0 0.5em",
        minWidth: "24px", minHeight: "24px",
      });
      close.type = "button";
      close.textContent = "\u00d7";
      close.setAttribute("aria-label", "Dismiss");
      close.addEventListener("click", function () {
        bar.remove();
        try {
          localStorage.setItem(key, seen);
        } catch (e) {}
      });
      bar.appendChild(state);
      bar.appendChild(link);
      bar.appendChild(close);
      document.body.appendChild(bar);
      done("shown");
    })
    .catch(function () {
      done("unavailable");
    });
})();
