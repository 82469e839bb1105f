// structurer review: save each change at once, swap in the re-checked record pane, keyboard
// first (`?` lists the keys): f selects the next open finding, Enter edits its field, a accepts
// it with a reason, r marks the form reviewed, j goes to the next form.
"use strict";
(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
  const T = JSON.parse($("#texts").textContent);
  const typing = (el) => el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA");
  const plain = (e) => !(e.ctrlKey || e.metaKey || e.altKey);
  const reviewerKey = "structurer.reviewer";
  const reasonKey = "structurer.reason";

  function toast(text, bad = false) {
    const t = $("#toast");
    t.textContent = text;
    t.title = text;
    t.className = "show" + (bad ? " bad" : "");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => (t.className = ""), bad ? 6000 : 1800);
  }

  // ---- the keyboard help (`?`) ----
  const help = $("#help");
  const toggleHelp = () => (help.open ? help.close() : help.showModal());
  $("#help-button").addEventListener("click", toggleHelp);
  document.addEventListener("keydown", (e) => {
    if (e.key === "?" && !typing(e.target) && !e.ctrlKey && !e.metaKey) {
      toggleHelp();
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  });

  // ---- reviewer name (kept in this browser) ----
  const who = $("#who");
  const name = localStorage.getItem(reviewerKey);
  if (name) $("span", who).textContent = name;
  who.addEventListener("click", () => {
    const next = prompt(T.reviewer_prompt, localStorage.getItem(reviewerKey) || "");
    if (next !== null) {
      localStorage.setItem(reviewerKey, next.trim());
      $("span", who).textContent = next.trim() || who.dataset.default;
    }
  });

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
      if (!plain(e) || typing(e.target) || help.open) return;
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
  let current = null; // the selected finding: {index, code}

  function highlight(el) {
    $$("td.hl", source).forEach((td) => td.classList.remove("hl"));
    const cell = { line: el?.dataset.line, col: el?.dataset.col };
    document.dispatchEvent(new CustomEvent("review:cell", { detail: cell })); // pages.js boxes it
    if (!el || !el.dataset.line) return;
    const td = $(`td[data-line="${el.dataset.line}"][data-col="${el.dataset.col}"]`, source);
    if (!td) return;
    td.classList.add("hl");
    td.scrollIntoView({ block: "center", inline: "nearest", behavior: "smooth" });
  }

  // ---- findings: select, edit, accept ----
  const openFindings = () => $$(".finding[data-open]", pane);
  const fieldOf = (el) => {
    const holder = el.closest(".field, .cell") || el.closest(".ind");
    return holder ? $("[data-path]", holder) : null;
  };
  const currentEl = () => current &&
    $(`.finding[data-index="${current.index}"][data-code="${CSS.escape(current.code)}"]`, pane);

  function select(el, scroll = true) {
    $$(".finding.current", pane).forEach((x) => x.classList.remove("current"));
    $$(".selected", pane).forEach((x) => x.classList.remove("selected"));
    current = el ? { index: el.dataset.index, code: el.dataset.code } : null;
    if (!el) return;
    el.classList.add("current");
    const input = fieldOf(el);
    if (input) {
      input.parentElement.classList.add("selected");
      highlight(input);
    }
    if (scroll) el.scrollIntoView({ block: "nearest" });
  }

  function step(dir) {
    const all = openFindings();
    if (!all.length) {
      select(null);
      toast(T.no_more);
      return;
    }
    const at = all.indexOf(currentEl());
    select(all[at < 0 ? (dir > 0 ? 0 : all.length - 1) : (at + dir + all.length) % all.length]);
  }

  function edit() {
    const el = currentEl() || openFindings()[0];
    const input = el && fieldOf(el);
    if (!input) return;
    input.focus();
    input.select();
  }

  function openReason(el) {
    if (!el || !el.hasAttribute("data-open")) return;
    select(el);
    const open = $("form.reason input", el);
    if (open) return open.focus();
    const form = document.createElement("form");
    form.className = "reason";
    const input = document.createElement("input");
    input.placeholder = T.reason_placeholder;
    input.setAttribute("aria-label", T.reason_placeholder);
    input.value = localStorage.getItem(reasonKey) || T.reason_default;
    const ok = document.createElement("button");
    ok.type = "submit";
    ok.className = "primary";
    ok.textContent = T.accept;
    form.append(input, ok);
    el.append(form);
    input.focus();
    input.select();
    input.addEventListener("keydown", (e) => {
      e.stopPropagation(); // the page's keys do not act while a reason is typed
      if (e.key === "Escape") {
        e.preventDefault();
        form.remove();
      }
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const reason = input.value.trim();
      if (!reason) return input.focus();
      localStorage.setItem(reasonKey, reason);
      post(`/form/${number}/accept`, { index: el.dataset.index, code: el.dataset.code, reason })
        .then((ok) => ok && toast(T.accepted_toast));
    });
  }

  // ---- saving ----
  function swap(html) {
    const active = document.activeElement;
    const path = typing(active) && pane.contains(active) ? active.dataset.path : null;
    const typed = path ? active.value : null;
    const dirty = path && typed !== active.dataset.old;
    const range = path ? [active.selectionStart, active.selectionEnd] : null;
    const top = $(".record-body", pane)?.scrollTop || 0;
    pane.innerHTML = html;
    const body = $(".record-body", pane);
    if (body) body.scrollTop = top;
    const again = currentEl();
    if (again && again.hasAttribute("data-open")) select(again, false);
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
    let message = T.save_failed.replace("{status}", resp.status);
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
    if (ok) toast(T.saved);
  }

  // ---- what the checks say as the reviewer types (nothing saved) ----
  async function live(el) {
    const value = el.value;
    const resp = await fetch(`/form/${number}/preview`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ path: el.dataset.path, new: value }),
      credentials: "same-origin",
    });
    if (!el.isConnected || el.value !== value) return; // typed on, or saved meanwhile
    let box = el.parentElement.querySelector(":scope > .live");
    if (!box) {
      box = document.createElement("p");
      el.after(box);
    }
    const data = await resp.json().catch(() => ({}));
    const found = data.findings || [];
    box.className = resp.ok && !found.length ? "live" : "live bad";
    box.textContent = !resp.ok ? data.error || T.save_failed.replace("{status}", resp.status)
      : found.length ? `${T.live_after} ${found.map((f) => f.text).join("；")}` : T.live_ok;
  }

  pane.addEventListener("input", (e) => {
    if (!e.target.dataset.path) return;
    clearTimeout(live.timer);
    live.timer = setTimeout(() => live(e.target), 200);
  });
  pane.addEventListener("focusin", (e) => { if (e.target.dataset.path) highlight(e.target); });
  pane.addEventListener("change", (e) => {
    const el = e.target;
    if (el.dataset.path && el.value !== el.dataset.old) save(el);
  });
  pane.addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (!b) return;
    const head = $(".pane-head", pane);
    const finding = b.closest(".finding");
    if (b.dataset.action === "review") {
      post(`/form/${number}/review`, { reviewed: b.dataset.value === "true" }).then((ok) => ok && toast(
        b.dataset.value === "true" ? T.marked : T.unmarked));
    } else if (b.dataset.action === "accept") {
      openReason(finding);
    } else if (b.dataset.action === "withdraw") {
      post(`/form/${number}/accept`, { index: finding.dataset.index, code: finding.dataset.code, reason: null })
        .then((ok) => ok && toast(T.withdrawn));
    } else {
      post(`/form/${number}/indicators`, {
        op: b.dataset.action, index: b.dataset.index ?? null, to: b.dataset.to ?? null,
        seen: head.dataset.count,
      });
    }
  });
  source.addEventListener("click", (e) => {
    // clicking a source cell finds the field read from it
    const td = e.target.closest("td[data-line]");
    if (!td) return;
    const el = $(`[data-line="${td.dataset.line}"][data-col="${td.dataset.col}"]`, pane);
    if (el) { el.focus(); el.scrollIntoView({ block: "center" }); }
  });

  document.addEventListener("keydown", (e) => {
    if (help.open) return;
    if (typing(e.target)) {
      if (!e.target.dataset.path) return;
      if (e.key === "Escape") e.target.blur();
      else if (e.key === "Enter" && (e.target.tagName === "INPUT" || e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        e.target.blur(); // leaving the field saves it
      }
      return;
    }
    if (!plain(e) || (e.key === "Enter" && e.target.closest("button, a, summary"))) return;
    const head = $(".pane-head", pane);
    const go = (n) => n && (location.href = "/form/" + n);
    if (e.key === "j" || e.key === "n") go(head.dataset.next);
    else if (e.key === "k" || e.key === "p") go(head.dataset.prev);
    else if (e.key === "u") location.href = "/";
    else if (e.key === "r") $('button[data-action="review"]', pane)?.click();
    else if (e.key === "f") step(1);
    else if (e.key === "F") step(-1);
    else if (e.key === "e" || e.key === "Enter") edit();
    else if (e.key === "a") openReason(currentEl() || openFindings()[0]);
    else if (e.key === "Escape") select(null);
    else return;
    e.preventDefault();
  });
})();
