// Sign-in, navigation by role and hash routing. Each page module exports { id, title, roles, mount }.

import { api, token } from "./api.js";
import { disposeWithin } from "./charts.js";
import { h } from "./dom.js";
import * as uploads from "./uploads.js";
import * as weights from "./weights.js";
import * as audience from "./audience.js";
import * as coupons from "./coupons.js";
import * as screens from "./screens.js";
import * as proof from "./proof.js";
import * as privacy from "./privacy.js";
import * as compat from "./compat.js";

const PAGES = [uploads, weights, audience, coupons, proof, screens, compat, privacy];
const $ = (id) => document.getElementById(id);
let me = null;

const allowed = (page) => me && (me.role === "admin" || page.roles.includes(me.role));

function showLogin(message = "") {
  me = null;
  $("login").hidden = false;
  $("nav").hidden = true;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  disposeWithin($("page"));
  $("page").replaceChildren();
  $("login-error").textContent = message;
  $("token").focus();
}

function buildNav() {
  const nav = $("nav");
  nav.replaceChildren(...PAGES.filter(allowed).map((page) =>
    h("a", { href: `#${page.id}`, id: `nav-${page.id}`, "data-page": page.id }, page.title)));
  nav.hidden = false;
}

async function route() {
  if (!me) return;
  const pages = PAGES.filter(allowed);
  const wanted = window.location.hash.slice(1);
  const page = pages.find((p) => p.id === wanted) || pages[0];
  for (const link of $("nav").querySelectorAll("a")) {
    link.toggleAttribute("aria-current", link.dataset.page === page?.id);
    if (link.dataset.page === page?.id) link.setAttribute("aria-current", "page");
  }
  const root = $("page");
  disposeWithin(root);
  if (!page) {
    root.replaceChildren(h("p", { class: "card" }, `The ${me.role} role has no console pages.`));
    return;
  }
  document.title = `${page.title} · Vitrine console`;
  const container = h("div", { class: "page", id: `page-${page.id}` }, h("h2", {}, page.title));
  root.replaceChildren(container);
  await page.mount(container, { me });
}

async function signIn(value) {
  token.set(value);
  try {
    me = await api("/v1/me");
  } catch (err) {
    token.clear();
    showLogin(err.status === 401 ? "That token is not valid or has been revoked." : err.message);
    return;
  }
  $("login").hidden = true;
  $("sign-out").hidden = false;
  const scope = me.role === "merchandiser" ? ` · stores ${me.store_ids.join(", ")}` : "";
  $("who").textContent = `Signed in as ${me.role}${scope}`;
  buildNav();
  await route();
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  signIn($("token").value.trim());
});
$("sign-out").addEventListener("click", () => { token.clear(); showLogin(); });
window.addEventListener("hashchange", route);
window.addEventListener("vitrine:unauthorized", () => { if (me) { token.clear(); showLogin("Your session ended; sign in again."); } });

if (token.get()) signIn(token.get()); else showLogin();
