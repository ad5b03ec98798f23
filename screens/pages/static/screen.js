// A lead-in or mirror screen page. It reads everything through the JSON API with the screen's device
// token (an HttpOnly cookie), listens to /v1/screens/{id}/live for changes, keeps the last good answer in localStorage and
// shows it under an "offline" badge when the service cannot be reached.
const body = document.body;
const SCREEN = body.dataset.screenId;
const KIND = body.dataset.kind;
const PATH = encodeURIComponent(SCREEN);
const POLL_MS = 30000;
const TIMEOUT_MS = 5000;
const content = document.getElementById("content");
const key = (name) => `vitrine.screen.${SCREEN}.${name}`;

// The device token is an HttpOnly cookie the service set when the installer opened
// /screens/{id}?token=…; this script never sees it, and same-origin fetches carry it.

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function api(path, { method = "GET", json } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  const headers = {};
  if (json !== undefined) headers["Content-Type"] = "application/json";
  try {
    const res = await fetch(path, { method, headers, credentials: "same-origin", signal: controller.signal,
                                    body: json === undefined ? undefined : JSON.stringify(json) });
    if (!res.ok) throw new Error(`HTTP ${res.status} from ${path}`);
    return await res.json();
  } finally {
    clearTimeout(timer);
  }
}

function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  for (const child of [].concat(children)) el.append(child);
  return el;
}

// A product picture, or a quiet placeholder when there is none or it fails to load (no internet,
// a moved file): the card keeps its layout either way.
function placeholder(label) {
  return h("div", { class: "pic noimg", role: "img", "aria-label": label }, (label || "?").slice(0, 1).toUpperCase());
}
function picture(url, label) {
  if (!url) return placeholder(label);
  const img = h("img", { class: "pic", src: url, alt: label, loading: "lazy", decoding: "async" });
  img.addEventListener("error", () => img.replaceWith(placeholder(label)), { once: true });
  return img;
}

// ---- last good content, and the offline badge ----
function remember(name, value) {
  try { localStorage.setItem(key(name), JSON.stringify({ value, at: Date.now() })); } catch { /* quota */ }
}
function recall(name) {
  try { return JSON.parse(localStorage.getItem(key(name))); } catch { return null; }
}
function setOffline(since) {
  const badge = document.getElementById("offline");
  badge.hidden = since === null;
  body.classList.toggle("is-offline", since !== null);
  if (since !== null) {
    const at = new Date(since).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    badge.textContent = `offline · as of ${at}`;
  }
}

async function show(name, fetchFresh, render) {
  try {
    const value = await fetchFresh();
    remember(name, value);
    render(value);
    setOffline(null);
    return true;
  } catch (error) {
    const cached = recall(name);
    if (cached) render(cached.value);
    setOffline(cached ? cached.at : Date.now());
    console.warn("showing cached content:", error);
    return false;
  }
}

// ---- events from the page (coupon impressions), queued in localStorage until acknowledged ----
function uuid4() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
function queueEvents(events) {
  const queue = (recall("outbox")?.value || []).concat(events).slice(-500);
  remember("outbox", queue);
}
async function flushEvents() {
  const queue = recall("outbox")?.value || [];
  if (!queue.length) return;
  try {
    await api("/v1/events", { method: "POST", json: { events: queue } });
    const rest = (recall("outbox")?.value || []).filter((e) => !queue.some((q) => q.event_id === e.event_id));
    remember("outbox", rest);
  } catch { /* kept for the next flush; the service dedupes by event_id */ }
}

// ---- lead-in ----
function cellLabel(cell) {
  const [gender, age] = cell.split(":");
  const who = { female: "women", male: "men" }[gender] || "people";
  return `${who} ${(age || "").replace("-", "–")}`;
}
function renderCrowd(profile) {
  const top = Object.entries(profile || {}).sort((a, b) => b[1] - a[1]).slice(0, 3);
  document.getElementById("crowd").textContent = top.length
    ? "In front of this screen: " + top.map(([cell, share]) => `${Math.round(share * 100)}% ${cellLabel(cell)}`).join(" · ")
    : "Nobody in front of this screen right now";
}
let shownCoupons = "";
function renderCoupons(display) {
  const cards = display.coupons.map((c, i) => h("article", { class: "coupon", "data-coupon-id": c.coupon_id }, [
    picture(c.image_url, c.store_name),
    h("div", {}, [
      h("div", { class: "rank" }, `#${i + 1}`),
      h("div", { class: "discount" }, c.discount),
      h("div", { class: "title" }, c.title),
      h("div", { class: "store" }, `${c.store_name} · floor ${c.floor} · ${c.zone}`),
    ]),
    h("img", { class: "qr", src: c.qr_svg, alt: `Scan to claim: ${c.title}` }),
  ]));
  content.replaceChildren(...(cards.length ? cards : [h("p", { class: "placeholder" }, "No offers right now")]));
  renderCrowd(display.profile);
  body.dataset.renderedAt = String(Date.now());
  const ids = display.coupons.map((c) => c.coupon_id).join(",");
  if (ids !== shownCoupons) {
    shownCoupons = ids;
    queueEvents(display.coupons.map((c) => ({ event_id: uuid4(), type: "coupon_impression", ts: new Date().toISOString(),
                                              screen_id: SCREEN, coupon_id: c.coupon_id, explored: c.explored,
                                              propensity: c.propensity })));
  }
}
const refreshLeadIn = () => show("display", () => api(`/v1/screens/${PATH}/display?k=5`), renderCoupons);

// ---- mirror ----
let tryOn = recall("try_on")?.value || { sku: null };
const money = (value) => (value === null || value === undefined ? "" : `$${Number(value).toFixed(2)}`);
// The API's reason codes, in words a shopper reads at a glance.
const REASONS = {
  similar_style: "Similar style",
  often_tried_instead: "Often tried instead",
  often_tried_with: "Often tried together",
  completes_the_look: "Completes the look",
  matches_your_session: "Goes with what you tried",
  popular_with_crowd: "Popular right now",
  popular_here: "A favourite here",
  same_piece: "Same piece, other colour",
  merchandiser_pick: "Staff pick",
};
function shelf(title, cls, items) {
  return h("section", { class: `shelf ${cls}` }, [
    h("h2", {}, title),
    h("ul", {}, items.map((it) => h("li", { "data-sku": it.sku }, [
      picture(it.image_url, it.category || it.name),
      h("div", { class: "sku" }, it.name || it.sku),
      h("div", { class: "price" }, money(it.sale_price ?? it.price)),
      h("div", { class: "reason" }, REASONS[it.reason] || it.reason || ""),
    ]))),
  ]);
}
function renderMirror(rec) {
  const item = rec.item || { sku: tryOn.sku };
  const sale = item.sale_price !== null && item.sale_price !== undefined && item.sale_price < item.price;
  const pct = item.discount_pct || (sale ? Math.round((1 - item.sale_price / item.price) * 100) : 0);
  const price = sale ? [h("s", {}, money(item.price)), money(item.sale_price)] : [money(item.price)];
  content.replaceChildren(
    h("section", { class: "tried", "data-sku": item.sku }, [
      picture(item.image_url, item.category || item.name),
      h("div", { class: "name" }, item.name || item.sku),
      h("div", { class: "price" }, price.concat(pct ? [h("span", { class: "badge" }, `−${Math.round(pct)}%`)] : [])),
      h("div", { class: "stock" }, item.stock === undefined ? "" : `${item.stock} in stock`),
    ]),
    shelf("Similar", "similar", rec.similar || []),
    shelf("Goes well with", "complementary", rec.complementary || []),
  );
  body.dataset.renderedAt = String(Date.now());
}
async function refreshMirror() {
  if (!tryOn.sku) {
    content.replaceChildren(h("p", { class: "placeholder" }, "Try something on to see matching pieces"));
    return true;
  }
  const query = new URLSearchParams({ sku: tryOn.sku, k: "6" });
  if (tryOn.session_id) query.set("session_id", tryOn.session_id);
  return show("recommendations", () => api(`/v1/mirrors/${PATH}/recommendations?${query}`), renderMirror);
}

const refresh = KIND === "mirror" ? refreshMirror : refreshLeadIn;

function onLive(event, data) {
  if (event === "profile") {
    renderCrowd(data.profile);
    refresh();
  } else if (event === "try_on" && data.sku && data.event_id !== tryOn.event_id) {
    tryOn = data;
    remember("try_on", data);
    refresh();
  }
}

// Server-sent events read with fetch, so the token (a cookie) never travels in a URL.
async function listen() {
  for (;;) {
    try {
      const res = await fetch(`/v1/screens/${PATH}/live`, { credentials: "same-origin" });
      if (!res.ok || !res.body) throw new Error(`live feed: HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block);
          const data = /^data: (.*)$/m.exec(block);
          if (event && data) onLive(event[1], JSON.parse(data[1]));
        }
      }
    } catch (error) {
      console.warn(error);
      await refresh(); // shows the offline badge if the service is away
    }
    await sleep(2000);
  }
}

function cacheShell() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/screens/sw.js", { scope: "/screens/" })
    .then(() => caches.open("vitrine-screen-v1"))
    .then((cache) => cache.addAll([location.pathname, "/screens/static/screen.js", "/screens/static/screen.css"]))
    .catch((error) => console.warn("no offline start:", error));
}

refresh().then(() => flushEvents());
listen();
setInterval(async () => { await refresh(); await flushEvents(); }, POLL_MS);
setInterval(flushEvents, 5000);
cacheShell();
