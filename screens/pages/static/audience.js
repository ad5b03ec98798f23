// Audience analytics: a store's visitors as gender × age heat maps per daypart (k-anonymous),
// mall traffic by hour and day (ops), and where lead-in screens sent people.

import { api, tzOffsetMin } from "./api.js";
import { barOption, draw, heatmapOption, sankeyHeight, sankeyOption } from "./charts.js";
import { errorBox, h, num, select, table } from "./dom.js";

export const id = "audience";
export const title = "Audience";
export const roles = ["ops", "merchandiser"];

const DAYS = [[7, "last 7 days"], [28, "last 28 days"], [92, "last 92 days"]];
const SLICES = [["all", "whole day"], ["morning", "morning"], ["afternoon", "afternoon"], ["evening", "evening"]];

function sliceTable(slice) {
  return h("details", {}, h("summary", {}, "Show as a table"),
    table(`Visits by cell (${slice.daypart})`, ["Cell", "Visits"],
      slice.cells.map((c) => [c.cell, c.suppressed ? "suppressed" : String(c.visits)]), { class: "compact" }));
}

async function storeSection(root, me) {
  const stores = await api("/v1/stores");
  const chart = h("div", { class: "chart", id: "audience-heatmap", role: "img", "aria-label": "visitors by gender and age" });
  const info = h("p", { id: "audience-info" });
  const extra = h("div");
  const card = h("div", { class: "card" },
    h("div", { class: "controls" },
      ...select("audience-store", "Store", stores.map((s) => [s.id, `${s.id} · ${s.name}`])),
      ...select("audience-daypart", "Daypart", SLICES),
      ...select("audience-days", "Period", DAYS, 28)),
    info, chart, extra);
  root.append(card);
  if (!stores.length) { info.textContent = "No store is visible to this token."; return; }
  async function load() {
    const store = card.querySelector("#audience-store").value;
    try {
      const data = await api(`/v1/analytics/stores/${encodeURIComponent(store)}/audience`,
        { query: { days: card.querySelector("#audience-days").value, tz_offset_min: tzOffsetMin() } });
      const wanted = card.querySelector("#audience-daypart").value;
      const slice = wanted === "all" ? data.all_day : data.dayparts.find((d) => d.daypart === wanted);
      const k = data.window.k;
      const total = slice.total === null
        ? `${slice.published_visits} visits in published cells (the total is withheld: it would reveal suppressed cells)`
        : `${slice.total} visits`;
      info.textContent = slice.suppressed
        ? `Fewer than ${k} visits in this slice: every cell is suppressed.`
        : `${total}. Cells with fewer than ${k} visits are shown as suppressed.`;
      draw(chart, heatmapOption(slice, data.genders, data.age_buckets, k));
      extra.replaceChildren(sliceTable(slice));
    } catch (err) { extra.replaceChildren(errorBox(err)); }
  }
  for (const sel of ["#audience-store", "#audience-daypart", "#audience-days"]) card.querySelector(sel).addEventListener("change", load);
  await load();
}

async function trafficSection(root) {
  const hours = h("div", { class: "chart short", id: "traffic-hours", role: "img", "aria-label": "visits by hour of day" });
  const days = h("div", { class: "chart short", id: "traffic-days", role: "img", "aria-label": "visits by day" });
  const note = h("p");
  root.append(h("div", { class: "card" }, h("h3", {}, "Mall traffic"), note, h("div", { class: "grid2" }, hours, days)));
  try {
    const t = await api("/v1/analytics/traffic", { query: { days: 7, tz_offset_min: tzOffsetMin() } });
    note.textContent = `Store visits over the last 7 days: ${num(t.total)}. Hours or days with fewer than ${t.window.k} visits are suppressed (grey).`;
    draw(hours, barOption(t.by_hour.map((x) => `${x.hour}:00`), [{ name: "visits per hour of day",
      data: t.by_hour.map((x) => (x.suppressed ? { value: 0, itemStyle: { color: "#d4d4d8" } } : x.visits)) }]));
    draw(days, barOption(t.by_day.map((x) => x.date.slice(5)), [{ name: "visits per day",
      data: t.by_day.map((x) => (x.suppressed ? { value: 0, itemStyle: { color: "#d4d4d8" } } : x.visits)) }]));
  } catch (err) { note.replaceWith(errorBox(err)); }
}

async function flowSection(root) {
  const chart = h("div", { class: "chart tall", id: "flow-sankey", role: "img", "aria-label": "claims from screens to stores" });
  const note = h("p", { id: "flow-note" });
  const list = h("div");
  root.append(h("div", { class: "card" }, h("h3", {}, "Where lead-in screens send people"),
    h("p", {}, "Coupons claimed at each lead-in screen, by the store that issued them (last 7 days)."), note, chart, list));
  try {
    const [flow, pairs] = await Promise.all([api("/v1/analytics/flow/chart", { query: { days: 7 } }),
      api("/v1/analytics/flow", { query: { days: 7 } })]);
    const k = flow.window.k;
    note.textContent = `Every band rests on at least ${k} claims: ${flow.merged_links} screen → store pairs under ${k} ` +
      `are merged into "other"${flow.withheld_links ? `; ${flow.withheld_links} screens' remainders stay under ${k} and are left out` : ""}.`;
    if (flow.links.length) {
      chart.style.height = `${sankeyHeight(flow)}px`;
      draw(chart, sankeyOption(flow));
    }
    else chart.replaceChildren(h("p", {}, `No screen → store flow reaches ${k} claims yet, even merged.`));
    list.replaceChildren(h("details", {}, h("summary", {}, "Show every pair as a table"),
      table("Screen → store", ["Screen", "Store", "Coupon showings", "Claims"],
        pairs.links.map((l) => [l.screen_id, l.store_id, String(l.impressions), num(l.claims)]), { id: "flow-table", class: "compact" })));
  } catch (err) { list.replaceChildren(errorBox(err)); }
}

export async function mount(root, { me }) {
  await storeSection(root, me);
  if (me.role !== "merchandiser") await trafficSection(root);
  await flowSection(root);
}
