// The dashboard's charts, drawn as SVG by Observable Plot, each with the figures beside it as a
// table (read by screen readers, kept in print, and what the browser tests compare).

import * as Plot from "@observablehq/plot";

// The width a chart may take in its figure, so that it fits a phone as well as a wide screen.
function widthOf(figure) {
  return Math.max(260, Math.min(720, figure.clientWidth || 360));
}

function table(rows, words) {
  const element = document.createElement("table");
  element.className = "figures";
  const head = element.createTHead().insertRow();
  for (const heading of ["", words.count]) {
    const cell = document.createElement("th");
    cell.textContent = heading;
    head.appendChild(cell);
  }
  const body = element.createTBody();
  for (const row of rows) {
    const line = body.insertRow();
    line.dataset.key = row.key;
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = row.label;
    line.appendChild(name);
    const count = line.insertCell();
    count.dataset.value = String(row.count);
    count.textContent = row.count.toLocaleString(words.locale);
  }
  return element;
}

// Horizontal bars, longest first: `rows` are `{ key, label, count }`.
export function bars(figure, rows, words) {
  const sorted = [...rows].sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
  const width = widthOf(figure);
  // Names get at most two fifths of the width, cut short with an ellipsis beyond; the table below
  // the chart has them whole.
  const longest = Math.max(0, ...sorted.map((r) => r.label.length));
  const fits = Math.max(8, Math.floor((width * 0.4 - 12) / 6));
  const short = (label) => (label.length > fits ? `${label.slice(0, fits - 1)}…` : label);
  const chart = sorted.length
    ? Plot.plot({
        width,
        height: 28 + 22 * sorted.length,
        marginLeft: 12 + 6 * Math.min(longest, fits),
        x: { label: words.count, grid: true, ticks: Math.min(5, Math.max(1, ...sorted.map((r) => r.count))), tickFormat: "d" },
        y: { label: null, domain: sorted.map((r) => r.label), tickFormat: short },
        marks: [
          Plot.barX(sorted, { x: "count", y: "label", fill: "var(--accent)", title: (r) => `${r.label}: ${r.count}` }),
          Plot.ruleX([0]),
        ],
      })
    : emptyNote(words);
  place(figure, chart, table(sorted, words));
}

// Columns per month, oldest first: `months` are `{ month: "YYYY-MM", count }`.
export function months(figure, months, words) {
  const rows = [...months].sort((a, b) => a.month.localeCompare(b.month));
  const chart = rows.length
    ? Plot.plot({
        // A column is at most about 48 pixels wide: a few months do not fill a wide screen.
        width: Math.min(widthOf(figure), Math.max(260, 60 + 48 * rows.length)),
        height: 220,
        x: { label: null, type: "band", tickRotate: rows.length > 8 ? -45 : 0 },
        y: { label: words.count, grid: true, ticks: Math.min(5, Math.max(1, ...rows.map((r) => r.count))), tickFormat: "d" },
        marginBottom: rows.length > 8 ? 50 : 30,
        marks: [
          Plot.barY(rows, { x: "month", y: "count", fill: "var(--accent)", title: (r) => `${r.month}: ${r.count}` }),
          Plot.ruleY([0]),
        ],
      })
    : emptyNote(words);
  place(figure, chart, table(rows.map((r) => ({ key: r.month, label: r.month, count: r.count })), words));
}

function emptyNote(words) {
  const note = document.createElement("p");
  note.className = "empty";
  note.textContent = words.none;
  return note;
}

function place(figure, chart, figures) {
  const caption = figure.querySelector("figcaption");
  figure.replaceChildren(...(caption ? [caption] : []), chart, figures);
}
