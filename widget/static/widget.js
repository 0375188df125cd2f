/* Confab loader: draws the chat launcher, shows an unread badge, and opens the chat frame from the Confab
   edge on demand (or preloads it, hidden, when a reply is waiting).
   Embed: <script src="https://EDGE/widget.js" data-site="SITE_ID" async></script>
   API: window.Confab.open(), window.Confab.close(), window.Confab.toggle() */
(function (w, d) {
  var me = d.currentScript;
  if (!me || w.Confab) return;
  var site = me.getAttribute("data-site") || "";
  var edge = new URL(me.src).origin;
  var right = me.getAttribute("data-position") !== "left";
  var key = "confab:" + site;
  var panel, frame, button, badge, opened = false;
  var BUBBLE = '<svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" ' +
    'd="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>';

  function css(el, rules) { for (var k in rules) el.style[k] = rules[k]; }
  function store(v) { try { v ? localStorage.setItem(key, v) : localStorage.removeItem(key); } catch (e) {} }
  function stored() { try { return localStorage.getItem(key); } catch (e) { return null; } }

  // Tells the frame whether it is shown: it marks replies read only when the customer can see them.
  function tell() {
    if (frame && frame.contentWindow)
      frame.contentWindow.postMessage(JSON.stringify({ type: "confab:visible", visible: opened }), edge);
  }

  function setBadge(n) {
    badge.textContent = n > 9 ? "9+" : String(n);
    badge.style.display = n > 0 && !opened ? "block" : "none";
    button.setAttribute("aria-label", (opened ? "Close chat" : "Open chat") + (n > 0 ? " (" + n + " unread)" : ""));
  }

  function makeFrame(hidden) {
    panel = d.createElement("div");
    css(panel, { position: "fixed", bottom: "92px", width: "min(380px, calc(100vw - 24px))",
      height: "min(600px, calc(100vh - 116px))", borderRadius: "14px", overflow: "hidden", display: "none",
      boxShadow: "0 12px 40px rgba(0,0,0,.22)", zIndex: "2147483000", background: "#fff" });
    panel.style[right ? "right" : "left"] = "20px";
    frame = d.createElement("iframe");
    frame.src = edge + "/widget/frame?site=" + encodeURIComponent(site) + "&origin=" +
      encodeURIComponent(location.origin) + (hidden ? "&hidden=1" : "");
    frame.title = "Chat";
    frame.setAttribute("data-confab", "frame");
    css(frame, { border: "0", width: "100%", height: "100%" });
    panel.appendChild(frame);
    d.body.appendChild(panel);
  }

  function setOpen(open) {
    if (open && !frame) makeFrame(false);
    opened = open;
    if (panel) panel.style.display = open ? "block" : "none";
    button.setAttribute("aria-expanded", String(open));
    button.innerHTML = open ? "\u00d7" : BUBBLE;
    button.appendChild(badge);
    if (open) setBadge(0);
    tell();
  }

  w.addEventListener("message", function (e) {
    if (e.origin !== edge || !frame || e.source !== frame.contentWindow) return;
    var m;
    try { m = JSON.parse(e.data); } catch (x) { return; }
    if (m.type === "confab:contact") { store(m.token); tell(); }
    if (m.type === "confab:unread") setBadge(m.count || 0);
  });

  function mount() {
    button = d.createElement("button");
    button.type = "button";
    button.setAttribute("data-confab", "launcher");
    css(button, { position: "fixed", bottom: "20px", width: "60px", height: "60px", borderRadius: "50%",
      border: "0", background: "#2f5bea", color: "#fff", fontSize: "26px", cursor: "pointer",
      boxShadow: "0 6px 20px rgba(0,0,0,.25)", zIndex: "2147483000", display: "grid", placeItems: "center" });
    button.style[right ? "right" : "left"] = "20px";
    badge = d.createElement("span");
    badge.setAttribute("data-confab", "badge");
    css(badge, { position: "absolute", top: "-2px", right: "-2px", minWidth: "20px", height: "20px",
      borderRadius: "10px", background: "#dc2626", color: "#fff", font: "600 12px/20px system-ui, sans-serif",
      textAlign: "center", padding: "0 5px", display: "none", boxSizing: "border-box" });
    button.onclick = function () { setOpen(!opened); };
    d.body.appendChild(button);
    setOpen(false);
    // A returning customer: are replies waiting? Then show how many and have the chat ready.
    var token = stored();
    if (token && w.fetch) {
      fetch(edge + "/api/v1/sites/" + encodeURIComponent(site) + "/contact",
        { headers: { authorization: "Bearer " + token } })
        .then(function (r) { if (r.status === 401) store(null); return r.ok ? r.json() : null; })
        .then(function (s) {
          if (s && s.unread > 0 && !opened) { setBadge(s.unread); if (!frame) makeFrame(true); }
        })
        .catch(function () {});
    }
  }

  w.Confab = {
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    toggle: function () { setOpen(!opened); }
  };
  if (d.body) mount(); else d.addEventListener("DOMContentLoaded", mount);
})(window, document);
