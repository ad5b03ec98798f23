// Proof of play: per lead-in screen and coupon, the showings, the crowd present when shown (faces,
// attention share) and the claims scanned there; values under k arrive as null and read "suppressed".

import { api, download } from "./api.js";
import { errorBox, h, num, pct, select, table, toast } from "./dom.js";

export const id = "proof";
export const title = "Proof of play";
export const roles = ["ops", "merchandiser"];

const PERIODS = [[1, "last 24 hours"], [7, "last 7 days"], [14, "last 14 days"], [28, "last 28 days"]];
const when = (iso) => (iso ? new Date(iso).toLocaleString([], { dateStyle: "short", timeStyle: "short" }) : "–");
const share = (x) => (x === null || x === undefined ? "suppressed" : pct(x));

const SHOWN_ROWS = 100;

function rows(report) {
  return report.rows.map((r) => [r.screen_id, h("span", { title: r.coupon_id }, r.title), r.store_id, num(r.impressions),
    num(r.impressions_with_audience), num(r.faces), r.faces_per_impression ?? "–", share(r.attention_share),
    num(r.claims), r.claims === null ? "–" : pct(r.claim_rate), when(r.last_shown)]);
}

export async function mount(root) {
  const note = h("p", { id: "proof-note" });
  const list = h("div", { id: "proof-list" });
  const button = h("button", { type: "button", id: "proof-csv" }, "Download CSV");
  const card = h("div", { class: "card" },
    h("div", { class: "controls" }, ...select("proof-days", "Period", PERIODS, 7), button), note);
  root.append(card, h("div", { class: "card" }, list));
  const days = () => card.querySelector("#proof-days").value;
  button.addEventListener("click", () => download(`/v1/analytics/proof-of-play.csv?days=${days()}`, `proof-of-play-${days()}d.csv`)
    .then(() => toast("CSV downloaded"), (err) => toast(err.message, "error")));
  async function load() {
    try {
      // The server sends the most shown pairs and totals over all of them.
      const report = await api("/v1/analytics/proof-of-play", { query: { days: days(), limit: SHOWN_ROWS } });
      const k = report.window.k;
      note.textContent = `${num(report.impressions)} showings on ${report.screens} screens. ` +
        `The audience of a showing is the crowd the screen's camera saw within ${report.crowd_window_s} s before it; ` +
        `faces and claims under ${k} are suppressed (and so are cells a published total would reveal).`;
      const more = report.pairs > report.rows.length ? ` (the ${report.rows.length} most shown of ${report.pairs}; the CSV has all)` : "";
      list.replaceChildren(table(`Showings per screen and coupon${more}`,
        ["Screen", "Coupon", "Store", "Showings", "With audience", "Faces", "Faces / showing", "Attention", "Claims",
          "Claim rate", "Last shown"], rows(report), { id: "proof-table", class: "compact" }));
    } catch (err) { list.replaceChildren(errorBox(err)); }
  }
  card.querySelector("#proof-days").addEventListener("change", load);
  await load();
}
