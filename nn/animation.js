"use strict";
{  // a block: names such as top and status stay out of the window's
const D = JSON.parse(document.getElementById("page-data").textContent);
const SIZE = 380, CW = 380, CH = 160;
const slider = document.getElementById("slider");
const status = document.getElementById("status");
const play = document.getElementById("play");

function context(canvas, w, h) {   // sharp on high-density screens
  const r = window.devicePixelRatio || 1;
  canvas.width = w * r; canvas.height = h * r;
  canvas.style.width = w + "px"; canvas.style.height = h + "px";
  const c = canvas.getContext("2d");
  c.scale(r, r);
  return c;
}

const n = D.grid.n, [x0, x1] = D.grid.x, [y0, y1] = D.grid.y;
const hx = (x1 - x0) / (n - 1) / 2, hy = (y1 - y0) / (n - 1) / 2;   // cells centred on points
const left = x0 - hx, right = x1 + hx, bottom = y0 - hy, top = y1 + hy;
const px = x => (x - left) / (right - left) * SIZE;
const py = y => (top - y) / (top - bottom) * SIZE;
const board = context(document.getElementById("boundary"), SIZE, SIZE);

const light = D.palette.map(hex => {   // 35% of the colour on white
  const rgb = [1, 3, 5].map(i => parseInt(hex.slice(i, i + 2), 16));
  return "rgb(" + rgb.map(v => Math.round(255 - 0.35 * (255 - v))).join(",") + ")";
});

function drawBoundary(frame) {
  const cell = SIZE / n;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      board.fillStyle = light[+frame.classes[j * n + i]];
      board.fillRect(i * cell, SIZE - (j + 1) * cell, cell + 0.5, cell + 0.5);   // no seams
    }
  }
  board.lineWidth = 0.6;
  board.strokeStyle = "#000";
  for (const [x, y, k] of D.points) {
    board.beginPath();
    board.arc(px(x), py(y), 3.5, 0, 2 * Math.PI);
    board.fillStyle = D.palette[k];
    board.fill();
    board.stroke();
  }
}

const label = v => String(Number(v.toPrecision(3)));
const curves = D.curves.map(curve => {
  const canvas = document.createElement("canvas");
  document.getElementById("curves").appendChild(canvas);
  const f = v => curve.log ? Math.log10(v) : v;
  const shown = curve.values.filter(v => v !== null).map(f);
  let [lo, hi] = curve.range || (shown.length ? [Math.min(...shown), Math.max(...shown)]
                                               : [0, 1]);   // no epoch yet
  if (!(hi > lo)) { lo -= 1; hi += 1; }   // a flat curve
  const unf = v => curve.log ? 10 ** v : v;
  return {curve, c: context(canvas, CW, CH), f, lo, hi, ticks: [label(unf(hi)), label(unf(lo))]};
});

function drawCurve({curve, c, f, lo, hi, ticks}, epoch) {
  const m = {l: 44, r: 10, t: 22, b: 22}, w = CW - m.l - m.r, h = CH - m.t - m.b;
  const X = e => m.l + e / Math.max(D.epochs, 1) * w;
  const Y = v => m.t + (hi - f(v)) / (hi - lo) * h;
  c.clearRect(0, 0, CW, CH);
  c.strokeStyle = "#ccc"; c.lineWidth = 1;
  c.strokeRect(m.l, m.t, w, h);
  c.fillStyle = "#222";
  c.font = "13px system-ui, sans-serif";
  c.textAlign = "left";
  c.fillText(curve.name + (curve.log ? " (log scale)" : ""), m.l, 15);
  c.font = "11px system-ui, sans-serif";
  c.fillStyle = "#555";
  c.textAlign = "right";
  c.fillText(ticks[0], m.l - 4, m.t + 9);
  c.fillText(ticks[1], m.l - 4, m.t + h);
  c.fillText("epoch " + D.epochs, m.l + w, m.t + h + 15);
  c.textAlign = "left";
  c.fillText("0", m.l, m.t + h + 15);
  // the whole run in grey, the epochs up to this frame in colour, the frame's epoch in red
  for (const [upTo, colour, width] of [[D.epochs, "#ccc", 1], [epoch, "#1f77b4", 2]]) {
    c.strokeStyle = colour; c.lineWidth = width;
    c.beginPath();
    let drawing = false;
    curve.values.slice(0, upTo).forEach((v, k) => {
      if (v === null) { drawing = false; return; }
      drawing ? c.lineTo(X(k + 1), Y(v)) : c.moveTo(X(k + 1), Y(v));
      drawing = true;
    });
    c.stroke();
  }
  c.strokeStyle = "#d62728"; c.lineWidth = 1;
  c.beginPath(); c.moveTo(X(epoch), m.t); c.lineTo(X(epoch), m.t + h); c.stroke();
}

function show(k) {
  const frame = D.frames[k];
  slider.value = k;
  status.textContent = frame.text;
  drawBoundary(frame);
  for (const curve of curves) drawCurve(curve, frame.epoch);
}

let timer = null;
function stop() { clearInterval(timer); timer = null; play.textContent = "Play"; }
play.addEventListener("click", () => {
  if (timer !== null) { stop(); return; }
  if (+slider.value === D.frames.length - 1) show(0);
  play.textContent = "Pause";
  timer = setInterval(() => {
    const k = +slider.value + 1;
    show(k);
    if (k === D.frames.length - 1) stop();
  }, 250);
});
slider.addEventListener("input", () => { stop(); show(+slider.value); });
slider.max = D.frames.length - 1;
play.disabled = D.frames.length < 2;
show(D.frames.length - 1);
}
