// Push notifications to this browser. Use from a page:
//
//   <button type="button" id="enable-push" hidden>{% translate "Notify me on this device" %}</button>
//   <script type="module">
//     import { enablePush } from "{% static 'webapp/push.js' %}";
//     enablePush(document.getElementById("enable-push"));
//   </script>
//
// The button shows only where push works. Its data-state says how things stand, for the
// page to style or explain: "off", "on", "denied" (blocked in the browser's settings),
// "unavailable" (the server has no key) or "error".

const API = "/api/v1/push";

export function pushSupported() {
  return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
}

function csrfToken() {
  const cookie = document.cookie.split("; ").find((part) => part.startsWith("csrftoken="));
  return cookie ? decodeURIComponent(cookie.slice("csrftoken=".length)) : "";
}

function keyBytes(base64url) {
  const base64 = (base64url + "=".repeat((4 - (base64url.length % 4)) % 4))
    .replace(/-/g, "+")
    .replace(/_/g, "/");
  return Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
}

function sameKey(buffer, base64url) {
  if (!buffer) return false;
  const have = new Uint8Array(buffer);
  const want = keyBytes(base64url);
  return have.length === want.length && have.every((byte, i) => byte === want[i]);
}

async function api(method, path, body) {
  const response = await fetch(API + path, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    const error = new Error(`${method} ${path}: ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return response.status === 204 ? null : response.json();
}

async function workerRegistration() {
  await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  // Subscribing needs an active worker, not just a registered one.
  return navigator.serviceWorker.ready;
}

async function subscribe() {
  const registration = await workerRegistration();
  const { public_key: publicKey } = await api("GET", "/key");
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription.options.applicationServerKey, publicKey)) {
    // The server's key changed: the old subscription can no longer be used.
    await subscription.unsubscribe();
    subscription = null;
  }
  if (!subscription) {
    subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(publicKey),
    });
  }
  // Sent every time: after another person logs in on this browser, it moves to them.
  await api("POST", "/subscriptions", subscription.toJSON());
  return subscription;
}

export async function disablePush() {
  if (!pushSupported()) return;
  const registration = await navigator.serviceWorker.getRegistration("/");
  const subscription = registration && (await registration.pushManager.getSubscription());
  if (!subscription) return;
  await api("DELETE", "/subscriptions", { endpoint: subscription.endpoint });
  await subscription.unsubscribe();
}

function show(button, state) {
  button.dataset.state = state;
  button.hidden = state === "unavailable" || state === "denied";
  button.disabled = state === "on";
}

// Wires `button` to turn push on. The permission prompt appears only when it is
// clicked: browsers ignore (or hold against the site) a prompt nobody asked for.
export function enablePush(button) {
  if (!pushSupported()) {
    show(button, "unavailable");
    return;
  }
  if (Notification.permission === "denied") {
    show(button, "denied");
    return;
  }
  if (Notification.permission === "granted") {
    // Allowed before: bring the server up to date quietly, no prompt.
    subscribe().then(
      () => show(button, "on"),
      (error) => show(button, error.status === 404 ? "unavailable" : "off"),
    );
  } else {
    show(button, "off");
  }
  button.addEventListener("click", async () => {
    button.disabled = true;
    // Asked first, before anything else is awaited, so the click still counts as the
    // person's own gesture (Safari insists).
    const permission = await Notification.requestPermission();
    if (permission !== "granted") {
      show(button, permission === "denied" ? "denied" : "off");
      return;
    }
    try {
      await subscribe();
      show(button, "on");
    } catch (error) {
      show(button, error.status === 404 ? "unavailable" : "error");
    }
  });
}
