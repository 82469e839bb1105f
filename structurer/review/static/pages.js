// structurer review: box the selected field's cell on the page image beside the grid.
"use strict";
(() => {
  const view = document.querySelector("section.pages");
  const grid = document.querySelector("section.source");
  if (!view || !grid) return;

  function clear() {
    view.querySelectorAll(".cellbox").forEach((b) => b.remove());
  }

  // the grid cell at (line, col) carries its page and its box in % of that page's region
  function show(line, col) {
    clear();
    if (!line) return;
    const td = grid.querySelector(`td[data-line="${line}"][data-col="${col}"][data-box]`);
    if (!td) return;
    const sheet = view.querySelector(`figure[data-page="${td.dataset.page}"] .sheet`);
    if (!sheet) return;
    const [left, top, width, height] = td.dataset.box.split(",");
    const box = document.createElement("div");
    box.className = "cellbox";
    Object.assign(box.style, { left: `${left}%`, top: `${top}%`, width: `${width}%`, height: `${height}%` });
    sheet.appendChild(box);
    box.scrollIntoView({ block: "center", inline: "nearest", behavior: "smooth" });
  }

  // review.js says which cell the selected field (or finding) was read from
  document.addEventListener("review:cell", (e) => show(e.detail.line, e.detail.col));
  grid.addEventListener("click", (e) => {
    const td = e.target.closest("td[data-line]");
    if (td) show(td.dataset.line, td.dataset.col);
  });
})();
