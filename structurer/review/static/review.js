// structurer review: save each change at once, swap in the re-checked record pane, keyboard moves.
"use strict";
(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const typing = (el) => el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA");
  const reviewerKey = "structurer.reviewer";

  function toast(text, bad = false) {
    const t = $("#toast");
    t.textContent = text;
    t.className = "show" + (bad ? " bad" : "");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => (t.className = ""), bad ? 6000 : 1800);
  }

  // ---- reviewer name (kept in this browser) ----
  const who = $("#who");
  if (who) {
    const name = localStorage.getItem(reviewerKey);
    if (name) $("span", who).textContent = name;
    who.addEventListener("click", () => {
      const next = prompt("Your name, recorded with each correction:", localStorage.getItem(reviewerKey) || "");
      if (next !== null) {
        localStorage.setItem(reviewerKey, next.trim());
        $("span", who).textContent = next.trim() || who.dataset.default;
      }
    });
  }

  // ---- list page ----
  const list = $("main.list");
  if (list) {
    const rows = $$("tr.row", list);
    let sel = -1;
    const select = (i) => {
      if (!rows.length) return;
      sel = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach((r, k) => r.classList.toggle("sel", k === sel));
      rows[sel].scrollIntoView({ block: "nearest" });
    };
    rows.forEach((r) => r.addEventListener("click", (e) => {
      if (e.target.tagName !== "A") location.href = r.dataset.href;
    }));
    document.addEventListener("keydown", (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
      if (e.key === "j" || e.key === "ArrowDown") select(sel + 1);
      else if (e.key === "k" || e.key === "ArrowUp") select(sel - 1);
      else if (e.key === "Enter" && sel >= 0) location.href = rows[sel].dataset.href;
      else if (e.key === "n" && list.dataset.first) location.href = "/form/" + list.dataset.first;
      else return;
      e.preventDefault();
    });
    return;
  }

  // ---- form page ----
  const main = $("main.split");
  if (!main) return;
  const number = main.dataset.number;
  const pane = $("#record-pane");
  const source = $("section.source");

  function highlight(el) {
    $$("td.hl", source).forEach((td) => td.classList.remove("hl"));
    if (!el || !el.dataset.line) return;
    const td = $(`td[data-line="${el.dataset.line}"][data-col="${el.dataset.col}"]`, source);
    if (!td) return;
    td.classList.add("hl");
    td.scrollIntoView({ block: "center", inline: "nearest", behavior: "smooth" });
  }

  function swap(html) {
    const active = document.activeElement;
    const path = typing(active) && pane.contains(active) ? active.dataset.path : null;
    const typed = path ? active.value : null;
    const dirty = path && typed !== active.dataset.old;
    const range = path ? [active.selectionStart, active.selectionEnd] : null;
    pane.innerHTML = html;
    if (!path) return;
    const el = $(`[data-path="${CSS.escape(path)}"]`, pane);
    if (!el) return;
    if (dirty) el.value = typed; // keep what the reviewer is typing in the next field
    el.focus({ preventScroll: true });
    try { el.setSelectionRange(range[0], range[1]); } catch (_) { /* not a text field */ }
  }

  async function post(url, body) {
    body.reviewer = localStorage.getItem(reviewerKey) || "";
    const resp = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    if (resp.ok) {
      swap(await resp.text());
      return true;
    }
    let message = `save failed (${resp.status})`;
    try { message = (await resp.json()).error || message; } catch (_) { /* not JSON */ }
    toast(message, true);
    if (resp.status === 409) await refresh();
    return false;
  }

  async function refresh() {
    const resp = await fetch(`/form/${number}/pane`, { credentials: "same-origin" });
    if (resp.ok) swap(await resp.text());
  }

  async function save(el) {
    el.classList.add("saving");
    const ok = await post(`/form/${number}/edit`, { path: el.dataset.path, old: el.dataset.old, new: el.value });
    const now = $(`[data-path="${CSS.escape(el.dataset.path)}"]`, pane);
    if (now) {
      now.classList.remove("saving");
      if (ok) { now.classList.add("saved"); setTimeout(() => now.classList.remove("saved"), 700); }
    }
    if (ok) toast("saved");
  }

  pane.addEventListener("focusin", (e) => { if (e.target.dataset.path) highlight(e.target); });
  pane.addEventListener("change", (e) => {
    const el = e.target;
    if (el.dataset.path && el.value !== el.dataset.old) save(el);
  });
  pane.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (!b) return;
    const head = $(".pane-head", pane);
    if (b.dataset.action === "review") {
      post(`/form/${number}/review`, { reviewed: b.dataset.value === "true" }).then((ok) => ok && toast(
        b.dataset.value === "true" ? "marked reviewed" : "no longer marked reviewed"));
      return;
    }
    post(`/form/${number}/indicators`, {
      op: b.dataset.action, index: b.dataset.index ?? null, to: b.dataset.to ?? null,
      seen: head.dataset.count,
    });
  });
  source.addEventListener("click", (e) => {
    // clicking a source cell finds the field read from it
    const td = e.target.closest("td[data-line]");
    if (!td) return;
    const el = $(`[data-line="${td.dataset.line}"][data-col="${td.dataset.col}"]`, pane);
    if (el) { el.focus(); el.scrollIntoView({ block: "center" }); }
  });

  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (typing(e.target)) {
      if (e.key === "Escape") e.target.blur();
      else if (e.key === "Enter" && e.target.tagName === "INPUT") e.target.blur();
      return;
    }
    const head = $(".pane-head", pane);
    const go = (n) => n && (location.href = "/form/" + n);
    if (e.key === "j" || e.key === "n") go(head.dataset.next);
    else if (e.key === "k" || e.key === "p") go(head.dataset.prev);
    else if (e.key === "u") location.href = "/";
    else if (e.key === "r") $('button[data-action="review"]', pane)?.click();
    else return;
    e.preventDefault();
  });
})();
