// Outfit compatibility (ops): the merchandiser's category table beside the one learned from baskets, and the merge in force.

import { api } from "./api.js";
import { errorBox, h, table } from "./dom.js";

export const id = "compatibility";
export const title = "Outfit compatibility";
export const roles = ["ops"];

const fmt = (x) => (x === undefined ? "–" : Number(x).toFixed(2));

export function rows(body) {
  const pairs = new Set();
  for (const t of [body.table, body.learned, body.in_force]) {
    for (const [c, row] of Object.entries(t || {})) for (const o of Object.keys(row)) pairs.add(`${c}\u0000${o}`);
  }
  return [...pairs].sort().map((key) => {
    const [c, o] = key.split("\u0000");
    const mine = body.table[c]?.[o];
    const learned = body.learned[c]?.[o];
    const support = body.learned_support[c]?.[o];
    const source = mine !== undefined ? (learned !== undefined ? "merchandiser (overrides learned)" : "merchandiser") : "learned";
    return [c, o, fmt(mine), learned === undefined ? "–" : `${fmt(learned)} (${support} baskets)`, fmt(body.in_force[c]?.[o]), source];
  });
}

export async function mount(root) {
  let body;
  try {
    body = await api("/v1/mirror/compatibility");
  } catch (err) {
    root.append(errorBox(err));
    return;
  }
  const learnedCount = Object.values(body.learned).reduce((n, row) => n + Object.keys(row).length, 0);
  root.append(h("div", { class: "card" },
    h("h3", {}, "Which categories complete an outfit"),
    h("p", { id: "compat-summary" },
      `Merchandiser's table: version ${body.version}${body.updated_by ? `, by ${body.updated_by}` : ""}. ` +
      (learnedCount ? `${learnedCount} pairs learned from co-purchases and co-try-ons by the last mirror training; ` +
        "the merchandiser's entries override them (0 switches a pair off)." : "Nothing learned yet: run `vitrine train mirror`.")),
    table("Category pairs: merchandiser, learned, in force", ["Category", "Goes with", "Merchandiser", "Learned", "In force", "From"],
      rows(body), { id: "compat-table" })));
}
