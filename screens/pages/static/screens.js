// Screens (ops): kind, location, heartbeat, health, the current crowd as cells, and what each shows now.

import { api } from "./api.js";
import { barOption, draw } from "./charts.js";
import { errorBox, h, table } from "./dom.js";

export const id = "screens";
export const title = "Screens";
export const roles = ["ops"];

const REFRESH_MS = 10_000;

function ago(iso) {
  if (!iso) return "never";
  const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  return s < 90 ? `${s} s ago` : s < 5400 ? `${Math.round(s / 60)} min ago` : new Date(iso).toLocaleString();
}

const profileChips = (profile) => Object.keys(profile).length
  ? h("span", { class: "chips" }, Object.entries(profile).map(([cell, share]) =>
    h("span", { class: "chip" }, `${cell} ${(share * 100).toFixed(0)}%`)))
  : "nobody";

const showing = (items) => items.length
  ? h("ul", { class: "plain" }, items.slice(0, 5).map((s) => h("li", {}, s.sku ? `item ${s.sku}` : `${s.title || s.coupon_id} (${s.store_id || "?"})`)))
  : "–";

export async function mount(root) {
  const chart = h("div", { class: "chart short", id: "screens-faces", role: "img", "aria-label": "faces in front of each screen" });
  const list = h("div", { id: "screens-list" });
  root.append(h("div", { class: "card" }, list), h("div", { class: "card" }, h("h3", {}, "Faces in front of each screen now"), chart));
  async function load() {
    if (!root.isConnected) return;
    try {
      const [screens, registered] = await Promise.all([api("/v1/analytics/screens"), api("/v1/screens")]);
      const camera = Object.fromEntries(registered.map((s) => [s.id, s.camera]));
      list.replaceChildren(table(`Screens (refreshed ${new Date().toLocaleTimeString()})`,
        ["Screen", "Kind", "Location", "Camera", "Last heartbeat", "Health", "Crowd now", "Showing now"],
        screens.map((s) => [s.id, s.kind.replace("_", "-"), [s.store_id && `store ${s.store_id}`, s.zone].filter(Boolean).join(" · ") || "–",
          camera[s.id] === false ? "off" : s.kind === "entrance_camera" ? "on" : "on · notice shown",
          ago(s.last_seen), h("span", { class: `badge ${s.stale ? "stale" : "ok"}` }, s.stale ? "stale" : "healthy"),
          profileChips(s.profile), showing(s.showing)]), { id: "screens-table" }));
      draw(chart, barOption(screens.map((s) => s.id), [{ name: "faces", data: screens.map((s) => s.faces) }]));
    } catch (err) { list.replaceChildren(errorBox(err)); return; }
    setTimeout(load, REFRESH_MS);
  }
  await load();
}
