// Coupon analytics: per store and coupon, impressions, claims, claim rate and trend, audience cells,
// exploration share (measured from the screens' `explored` flags, beside the configured weight) and
// pacing against caps.

import { api, tzOffsetMin } from "./api.js";
import { barOption, draw, lineOption } from "./charts.js";
import { errorBox, h, num, pct, select, table } from "./dom.js";

export const id = "coupons";
export const title = "Coupons";
export const roles = ["ops", "merchandiser"];

function meter(value, max, label) {
  if (max === null || max === undefined) return h("span", {}, `${value} (no cap)`);
  return h("span", { class: "meter" }, h("meter", { min: 0, max, value, "aria-label": label }), ` ${value} / ${max}`);
}

function cellChart(el, cells, k) {
  const shown = cells.filter((c) => !c.suppressed);
  const hidden = cells.filter((c) => c.suppressed).map((c) => c.cell);
  draw(el, barOption(shown.map((c) => c.cell), [
    { name: "claim rate", data: shown.map((c) => c.claim_rate ?? 0) }], { yName: "claim rate" }));
  return hidden.length ? `Suppressed (fewer than ${k} faces): ${hidden.join(", ")}.` : "";
}

// Measured share of explored impressions; only impressions whose screen sent the flag count.
function explored(x, long = false) {
  if (!x || !x.flagged_impressions) return long ? "not measured (no screen reported it)" : "–";
  const n = num(x.flagged_impressions);
  return long ? `measured ${pct(x.share)} of ${n} flagged impressions` : `${pct(x.share)} of ${n}`;
}

function couponRows(coupons, onPick) {
  return coupons.map((c) => [
    h("button", { type: "button", class: "link", onclick: () => onPick(c) }, c.coupon_id),
    c.title, String(c.impressions), String(c.claims), pct(c.claim_rate), explored(c.exploration),
    meter(c.pacing.claims_today, c.pacing.daily_cap, "claims today against the daily cap"),
    meter(c.pacing.claims_in_validity, c.pacing.total_stock, "claims against the stock"),
    h("span", { class: `badge ${c.pacing.status}` }, c.pacing.status.replace("_", " "))]);
}

async function summary(root) {
  const chart = h("div", { class: "chart short", id: "coupon-summary-chart", role: "img", "aria-label": "claim rate per store" });
  root.append(h("div", { class: "card" }, h("h3", {}, "Stores compared (last 7 days)"), chart));
  const data = await api("/v1/analytics/coupons", { query: { days: 7 } });
  draw(chart, barOption(data.stores.map((s) => s.store_id), [
    { name: "impressions", data: data.stores.map((s) => s.impressions) },
    { name: "claims", data: data.stores.map((s) => s.claims) }]));
}

export async function mount(root) {
  const stores = await api("/v1/stores");
  const head = h("p", { id: "coupon-totals" });
  const trend = h("div", { class: "chart short", id: "coupon-trend", role: "img", "aria-label": "impressions and claims per day" });
  const cells = h("div", { class: "chart short", id: "coupon-cells", role: "img", "aria-label": "claim rate by audience cell" });
  const cellsTitle = h("h3", {}, "Claim rate by audience cell: all coupons");
  const cellsNote = h("p", { class: "note" });
  const list = h("div", { id: "coupon-list" });
  const card = h("div", { class: "card" }, h("div", { class: "controls" },
    ...select("coupon-store", "Store", stores.map((s) => [s.id, `${s.id} · ${s.name}`])),
    ...select("coupon-days", "Period", [[7, "last 7 days"], [14, "last 14 days"], [28, "last 28 days"]], 14)), head);
  root.append(card, h("div", { class: "grid2" }, h("div", { class: "card" }, h("h3", {}, "Trend"), trend),
    h("div", { class: "card" }, cellsTitle, cells, cellsNote)), h("div", { class: "card" }, list));
  if (!stores.length) { head.textContent = "No store is visible to this token."; return; }

  async function load() {
    const store = card.querySelector("#coupon-store").value;
    try {
      const data = await api(`/v1/analytics/stores/${encodeURIComponent(store)}/coupons`,
        { query: { days: card.querySelector("#coupon-days").value, tz_offset_min: tzOffsetMin() } });
      const t = data.totals;
      head.textContent = `${num(t.impressions)} impressions, ${num(t.claims)} claims, claim rate ${pct(t.claim_rate)}; ` +
        `exploration ${explored(t.exploration, true)}, configured ${pct(data.exploration_share)} of lead-in slots.`;
      draw(trend, lineOption(t.trend.map((d) => d.date), [
        { name: "impressions", data: t.trend.map((d) => d.impressions) },
        { name: "claims", data: t.trend.map((d) => d.claims) },
        { name: "claim rate", yAxisIndex: 1, data: t.trend.map((d) => (d.impressions ? d.claims / d.impressions : null)) }],
      "claim rate"));
      const pick = (c) => {
        cellsTitle.textContent = `Claim rate by audience cell: ${c ? c.title : "all coupons"}`;
        cellsNote.textContent = cellChart(cells, c ? c.by_cell : t.by_cell, data.window.k);
      };
      pick(null);
      list.replaceChildren(table("Coupons (pick one for its audience cells)",
        ["Coupon", "Title", "Impressions", "Claims", "Claim rate", "Explored (measured)", "Today vs daily cap",
          "Claims vs stock", "Pacing"],
        couponRows(data.coupons, pick), { id: "coupon-table" }));
    } catch (err) { list.replaceChildren(errorBox(err)); }
  }
  for (const sel of ["#coupon-store", "#coupon-days"]) card.querySelector(sel).addEventListener("change", load);
  await load();
  await summary(root).catch((err) => root.append(errorBox(err)));
}
