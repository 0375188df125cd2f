/* Confab loader: draws the chat launcher and opens the chat frame from the Confab edge on demand.
   Embed: <script src="https://EDGE/widget.js" data-site="SITE_ID" async></script>
   API: window.Confab.open(), window.Confab.close(), window.Confab.toggle() */
(function (w, d) {
  var me = d.currentScript;
  if (!me || w.Confab) return;
  var site = me.getAttribute("data-site") || "";
  var edge = new URL(me.src).origin;
  var right = me.getAttribute("data-position") !== "left";
  var panel, frame, button, opened = false;
  var BUBBLE = '<svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true"><path fill="currentColor" ' +
    'd="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>';

  function css(el, rules) { for (var k in rules) el.style[k] = rules[k]; }

  function setOpen(open) {
    if (open && !frame) {
      panel = d.createElement("div");
      css(panel, { position: "fixed", bottom: "92px", width: "min(380px, calc(100vw - 24px))",
        height: "min(600px, calc(100vh - 116px))", borderRadius: "14px", overflow: "hidden",
        boxShadow: "0 12px 40px rgba(0,0,0,.22)", zIndex: "2147483000", background: "#fff" });
      panel.style[right ? "right" : "left"] = "20px";
      frame = d.createElement("iframe");
      frame.src = edge + "/widget/frame?site=" + encodeURIComponent(site);
      frame.title = "Chat";
      frame.setAttribute("data-confab", "frame");
      css(frame, { border: "0", width: "100%", height: "100%" });
      panel.appendChild(frame);
      d.body.appendChild(panel);
    }
    opened = open;
    if (panel) panel.style.display = open ? "block" : "none";
    button.setAttribute("aria-expanded", String(open));
    button.setAttribute("aria-label", open ? "Close chat" : "Open chat");
    // An inline icon: emoji fonts are not everywhere. Constant markup, never data.
    button.innerHTML = open ? "\u00d7" : BUBBLE;
  }

  function mount() {
    button = d.createElement("button");
    button.type = "button";
    button.setAttribute("data-confab", "launcher");
    css(button, { position: "fixed", bottom: "20px", width: "60px", height: "60px", borderRadius: "50%",
      border: "0", background: "#2f5bea", color: "#fff", fontSize: "26px", cursor: "pointer",
      boxShadow: "0 6px 20px rgba(0,0,0,.25)", zIndex: "2147483000", display: "grid", placeItems: "center" });
    button.style[right ? "right" : "left"] = "20px";
    button.onclick = function () { setOpen(!opened); };
    d.body.appendChild(button);
    setOpen(false);
  }

  w.Confab = {
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    toggle: function () { setOpen(!opened); }
  };
  if (d.body) mount(); else d.addEventListener("DOMContentLoaded", mount);
})(window, document);
