/* Confab loader: draws the chat launcher in the site's colour, shows an unread badge, and opens the chat
   frame from the Confab edge on demand (or preloads it, hidden, when a reply is waiting).
   Embed: <script src="https://EDGE/widget.js" data-site="SITE_ID" async></script>
   API (docs/embed.md): Confab.open(), .close(), .toggle(), .identify({user_id, name, email, signature}),
   .setLocale("de"), .reset(). The page gets a "confab:ready" event once Confab is there. */
(function (w, d) {
  var me = d.currentScript;
  if (!me || w.Confab) return;
  var site = me.getAttribute("data-site") || "";
  var edge = new URL(me.src).origin;
  var api = edge + "/api/v1/sites/" + encodeURIComponent(site);
  var key = "confab:" + site;
  var settings = { color: "#2f5bea", position: "right", locale: "auto" };
  var locale = me.getAttribute("data-locale"), identity = null;
  var panel, frame, button, badge, opened = false, ready = false, unread = 0;
  var WORDS = { en: ["Open chat", "Close chat", "unread"], de: ["Chat öffnen", "Chat schließen", "ungelesen"] };
  var BUBBLE = '<svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" ' +
    'd="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>';

  // Reads `k` from the page's localStorage, after setting it to `v` (a falsy `v` removes it) if given.
  function kept(k, v) {
    try {
      if (v !== undefined) v ? localStorage.setItem(k, v) : localStorage.removeItem(k);
      return localStorage.getItem(k);
    } catch (e) { return null; }
  }
  // The contact's token (for the unread badge), and a reset that waits until the frame has forgotten its
  // conversation (the frame may only load on a later page).
  function store(v) { return kept(key, v); }
  function flag(v) { return kept(key + ":reset", v); }
  function words() {
    var l = locale || settings.locale;
    if (l === "auto") l = (navigator.language || "en");
    return WORDS[l.slice(0, 2).toLowerCase()] || WORDS.en;
  }
  // Dark text on light brand colours, white on dark ones (the widget's rule, widget::text_color_on).
  function onColor(hex) {
    var n = parseInt(hex.slice(1), 16);
    return ((n >> 16) * 299 + (n >> 8 & 255) * 587 + (n & 255) * 114) / 1000 > 160 ? "#111827" : "#fff";
  }
  function post(message) {
    if (frame && ready) frame.contentWindow.postMessage(message, edge);
  }
  // Everything the frame should know: whether it is shown (it marks replies read only then), who the user
  // is, and the language.
  function tell() {
    if (flag()) post({ confab: "reset" });
    post({ confab: "visible", visible: opened });
    if (identity) post({ confab: "identify", user: identity });
    if (locale) post({ confab: "locale", locale: locale });
  }

  function setBadge(n) {
    unread = n;
    var t = words();
    badge.textContent = n > 9 ? "9+" : String(n);
    badge.style.display = n > 0 && !opened ? "block" : "none";
    button.setAttribute("aria-label", t[opened ? 1 : 0] + (n > 0 ? " (" + n + " " + t[2] + ")" : ""));
  }

  // The panel's whole style: on phones the chat takes the whole screen; elsewhere, a panel above the launcher.
  function place() {
    if (!panel) return;
    panel.style.cssText = "position:fixed;overflow:hidden;background:#fff;box-shadow:0 12px 40px rgba(0,0,0,.22);" +
      "z-index:2147483001;display:" + (opened ? "block;" : "none;") + (w.innerWidth < 480
        ? "inset:0"
        : "width:min(380px,calc(100vw - 24px));height:min(600px,calc(100vh - 116px));bottom:92px;" +
          "border-radius:14px;" + (settings.position === "left" ? "left" : "right") + ":20px");
  }

  function makeFrame(hidden) {
    panel = d.createElement("div");
    panel.id = "confab-panel";
    place();
    frame = d.createElement("iframe");
    frame.src = edge + "/widget/frame?site=" + encodeURIComponent(site) + "&origin=" +
      encodeURIComponent(location.origin) + (hidden ? "&hidden=1" : "");
    frame.title = "Chat";
    frame.dataset.confab = "frame";
    frame.style.cssText = "border:0;width:100%;height:100%";
    panel.appendChild(frame);
    d.body.appendChild(panel);
  }

  function setOpen(open) {
    if (open && !frame) makeFrame(false);
    opened = open;
    place();
    button.setAttribute("aria-expanded", String(open));
    button.innerHTML = open ? "\u00d7" : BUBBLE;
    button.appendChild(badge);
    setBadge(open ? 0 : unread);
    // On a phone the panel covers the launcher: the chat's own Escape (or the page's back) closes it.
    button.style.display = open && w.innerWidth < 480 ? "none" : "grid";
    if (open && frame) frame.focus();
    tell();
  }

  w.addEventListener("message", function (e) {
    if (e.origin !== edge || !frame || e.source !== frame.contentWindow || !e.data) return;
    var m = e.data;
    if (m.confab === "ready") { ready = true; tell(); }
    if (m.confab === "contact") store(m.token);
    if (m.confab === "forget") { store(null); flag(false); }
    if (m.confab === "unread") setBadge(m.count || 0);
    if (m.confab === "close") { setOpen(false); button.focus(); }
  });
  w.addEventListener("resize", place);

  function mount() {
    button = d.createElement("button");
    button.type = "button";
    button.dataset.confab = "launcher";
    button.setAttribute("aria-controls", "confab-panel");
    button.style.cssText = "position:fixed;bottom:20px;width:60px;height:60px;border-radius:50%;border:0;" +
      "font-size:26px;cursor:pointer;box-shadow:0 6px 20px rgba(0,0,0,.25);z-index:2147483000;place-items:center;" +
      (settings.position === "left" ? "left" : "right") + ":20px;background:" + settings.color + ";color:" +
      onColor(settings.color);
    badge = d.createElement("span");
    badge.dataset.confab = "badge";
    badge.style.cssText = "position:absolute;top:-2px;right:-2px;min-width:20px;height:20px;border-radius:10px;" +
      "background:#dc2626;color:#fff;font:600 12px/20px system-ui,sans-serif;text-align:center;padding:0 5px;" +
      "display:none;box-sizing:border-box";
    button.onclick = function () { setOpen(!opened); };
    d.body.appendChild(button);
    setOpen(false);
    // A returning customer: are replies waiting? Then show how many and have the chat ready.
    var token = store();
    if (token) {
      fetch(api + "/contact",
        { headers: { authorization: "Bearer " + token } })
        .then(function (r) { if (r.status === 401) store(null); return r.ok ? r.json() : null; })
        .then(function (s) {
          if (s && s.contact_token) store(s.contact_token); // renewed: it is in use
          if (s && s.unread > 0 && !opened) { setBadge(s.unread); if (!frame) makeFrame(true); }
        })
        .catch(function () {});
    }
  }

  w.Confab = {
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    toggle: function () { setOpen(!opened); },
    // user: {user_id, name?, email?, signature: hex(HMAC-SHA256(identity secret, user_id))} from your backend.
    identify: function (user) { identity = user; tell(); },
    setLocale: function (l) { locale = l; if (button) setBadge(unread); tell(); },
    // Your user signed out: this browser's conversation is forgotten.
    reset: function () { identity = null; store(null); flag(true); tell(); }
  };
  // The site's colour and corner first (so the launcher never changes its look once shown); the defaults if
  // the settings can't be read (offline, an old edge).
  function start(s) {
    if (s) settings = s;
    if (d.body) mount(); else d.addEventListener("DOMContentLoaded", mount);
  }
  fetch(api + "/widget").then(function (r) {
    // A page the site does not allow shows no chat; the console says why.
    return r.status == 403 ? r.json().then(function (e) { console.error("Confab: " + e.error.message); })
      : r.ok ? r.json().then(start) : start();
  }, function () { start(); });
  w.dispatchEvent(new Event("confab:ready"));
})(window, document);
