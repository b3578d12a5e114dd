// Samby's page script: live messages over the websocket (with reconnect and replay),
// refreshing the parts of a page that change, one request per tap on a form's button, and
// sharing an on-duty driver's position.
// Everything here is an enhancement: every page works without it.
(() => {
  "use strict";
  const body = document.body;

  if ("serviceWorker" in navigator) {
    // Installable app and the offline page; push subscriptions reuse this worker.
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {});
  }

  // --- Messages shown for a while at the bottom ----------------------------------------
  const toasts = document.querySelector("[data-toasts]");
  function toast(text, href) {
    if (!toasts) return;
    const item = document.createElement("p");
    item.className = "toast";
    if (href) {
      const link = document.createElement("a");
      link.href = href;
      link.textContent = text;
      item.append(link);
    } else {
      item.textContent = text;
    }
    toasts.append(item);
    setTimeout(() => item.remove(), 10000);
  }

  function bumpUnread() {
    document.querySelectorAll("[data-unread]").forEach((badge) => {
      const count = Number(badge.dataset.count || 0) + 1;
      badge.dataset.count = String(count);
      badge.firstChild.nodeValue = String(count);
    });
  }

  // --- Parts of the page that follow live events ---------------------------------------
  // The server renders them; we fetch the page again and swap the marked regions, so
  // texts and rules stay in one place.
  let refreshTimer = null;
  function refreshLive() {
    const regions = document.querySelectorAll("[data-live-region]");
    if (!regions.length) return;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      try {
        const response = await fetch(location.href, { credentials: "same-origin" });
        if (!response.ok) return;
        const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
        regions.forEach((region) => {
          const name = region.dataset.liveRegion;
          const next = fresh.querySelector(`[data-live-region="${name}"]`);
          if (next && next.innerHTML !== region.innerHTML) region.innerHTML = next.innerHTML;
        });
        document.dispatchEvent(new CustomEvent("samby:refreshed"));
      } catch {
        // Offline: the next event or reconnect refreshes again.
      }
    }, 150);
  }

  // --- The websocket -------------------------------------------------------------------
  const connection = document.querySelector("[data-connection]");
  function showConnection(text) {
    if (!connection) return;
    connection.hidden = !text;
    connection.textContent = text || "";
  }

  function handle(message) {
    if (message.type === "pong") return;
    if (message.type === "notification") {
      if (seen.has(message.id)) return;
      remember(message.id);
      since = Math.max(since, message.id);
      if (!message.read) bumpUnread();
      // The server gives the address of message 0 (webapp:notification-open).
      const open = body.dataset.open && body.dataset.open.replace("/0/", `/${message.id}/`);
      toast(message.body ? `${message.title}: ${message.body}` : message.title, open);
    }
    document.dispatchEvent(new CustomEvent("samby:message", { detail: message }));
    // Positions move markers in place; anything else refreshes the page's live regions.
    if (message.type !== "driver.position" && message.type !== "board.driver") refreshLive();
  }

  // Ids are given when a notification is stored, not when it is committed: one can arrive
  // after a higher id, and a reconnect's replay brings the recent ones at or below
  // `since` again. So the page remembers the ids it has shown (the last 1,000), starting
  // with those the server rendered it with, and asks for what came after the highest.
  const seen = new Set();
  function remember(id) {
    seen.add(id);
    if (seen.size > 1000) seen.delete(seen.values().next().value);
  }
  (body.dataset.seen || "").split(" ").filter(Boolean).forEach((id) => remember(Number(id)));
  let since = Number(body.dataset.since || 0);
  let socket = null;
  let attempt = 0;
  let pinger = null;
  let answered = true;

  function connect() {
    if (!body.dataset.live || (socket && socket.readyState <= WebSocket.OPEN)) return;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(`${scheme}${location.host}${body.dataset.live}?since=${since}`);
    socket.addEventListener("open", () => {
      attempt = 0;
      answered = true;
      body.dataset.liveState = "open";
      showConnection("");
      pinger = setInterval(() => {
        // No pong since the last ping: the socket is dead though nobody closed it.
        if (!answered) return socket.close();
        answered = false;
        socket.send(JSON.stringify({ type: "ping" }));
      }, 25000);
    });
    socket.addEventListener("message", (event) => {
      answered = true;
      try {
        handle(JSON.parse(event.data));
      } catch {
        // Not for us.
      }
    });
    socket.addEventListener("close", (event) => {
      clearInterval(pinger);
      body.dataset.liveState = "closed";
      socket = null;
      if (event.code === 4401) return; // signed out
      showConnection(connection && connection.dataset.lost);
      // Back off 1, 2, 4 … 30 s, with jitter so a village's phones do not return at once.
      const wait = Math.min(30000, 1000 * 2 ** attempt++) + Math.random() * 500;
      setTimeout(connect, wait);
    });
  }
  window.addEventListener("online", () => { attempt = 0; connect(); });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") connect();
  });
  connect();

  // --- Forms: one tap, one request -----------------------------------------------------
  // A quick second tap on a button sent the form twice. Once a form is on its way its
  // buttons are disabled: after the event, because the browser leaves a disabled
  // button's name and value out of what it sends. They come back when the page is shown
  // again from the back-forward cache, or after a while when no new page came (a slow
  // network: the person may try again).
  const unlock = (button) => {
    button.disabled = false;
    button.removeAttribute("aria-disabled");
    delete button.dataset.sending;
  };
  document.addEventListener("submit", (event) => {
    const form = event.target;
    setTimeout(() => {
      // Read once every listener has had its turn: one may send the form itself.
      if (event.defaultPrevented || form.target === "_blank") return;
      const buttons = form.querySelectorAll(
        "button:not([type]), button[type=submit], input[type=submit]",
      );
      buttons.forEach((button) => {
        button.disabled = true;
        button.setAttribute("aria-disabled", "true");
        button.dataset.sending = "";
      });
      setTimeout(() => buttons.forEach(unlock), 15000);
    });
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) document.querySelectorAll("[data-sending]").forEach(unlock);
  });

  // --- On duty: share the position ---------------------------------------------------
  const duty = document.querySelector("form[data-duty='on']");
  if (duty && "geolocation" in navigator) {
    const status = document.querySelector("[data-position-status]");
    const interval = Number(duty.dataset.interval || 15) * 1000;
    let lastSent = 0;
    const say = (text) => { if (status) { status.hidden = false; status.textContent = text; } };
    navigator.geolocation.watchPosition(
      async (where) => {
        if (Date.now() - lastSent < interval) return;
        lastSent = Date.now();
        const form = new FormData();
        form.append("csrfmiddlewaretoken", duty.querySelector("[name=csrfmiddlewaretoken]").value);
        form.append("association", duty.querySelector("[name=association]").value);
        form.append("lon", where.coords.longitude.toFixed(6));
        form.append("lat", where.coords.latitude.toFixed(6));
        try {
          const response = await fetch(duty.dataset.positionUrl, { method: "POST", body: form, credentials: "same-origin" });
          say(response.ok ? duty.dataset.shared || "" : duty.dataset.notShared || "");
        } catch {
          say(duty.dataset.notShared || "");
        }
      },
      () => say(duty.dataset.noPosition || ""),
      { enableHighAccuracy: true, maximumAge: 10000 },
    );
  }
})();
