// Privacy (ops): what the camera notice and /privacy tell people, and the DPIA summary as Markdown.

import { api, download } from "./api.js";
import { errorBox, h, toast } from "./dom.js";

export const id = "privacy";
export const title = "Privacy";
export const roles = ["ops"];

function section(s) {
  return h("section", { class: "privacy-section" }, h("h3", {}, s.title), s.paragraphs.map((p) => h("p", {}, p)),
    s.bullets.length ? h("ul", {}, s.bullets.map((b) => h("li", {}, b))) : null);
}

export async function mount(root) {
  const button = h("button", { type: "button", id: "dpia-download" }, "Download DPIA summary (Markdown)");
  button.addEventListener("click", () => download("/v1/privacy/dpia.md", "vitrine-dpia-summary.md")
    .then(() => toast("DPIA summary downloaded"), (err) => toast(err.message, "error")));
  const card = h("div", { class: "card", id: "privacy-facts" });
  root.append(h("div", { class: "card" },
    h("p", {}, "Every screen whose camera is on shows a short notice with a QR code to the public ",
      h("a", { href: "/privacy", target: "_blank", rel: "noopener" }, "/privacy"),
      " page. Both are generated from the settings in force (VITRINE_OPERATOR_NAME, VITRINE_PRIVACY_CONTACT, ",
      "VITRINE_NOTICE_LANGUAGES, VITRINE_PRIVACY_NOTICE, VITRINE_K_ANONYMITY, VITRINE_EVENT_RETENTION_DAYS)."),
    button), card);
  try {
    const facts = await api("/v1/privacy");
    card.replaceChildren(
      h("h3", {}, "Camera notice"),
      ...Object.entries(facts.notice).map(([lang, text]) => h("p", { lang, class: "notice-preview" }, h("strong", {}, `${lang}: `), text)),
      ...facts.sections.map(section));
  } catch (err) { card.replaceChildren(errorBox(err)); }
}
