// The naturalness study: one photo at a time, "real" or "colourised", with a progress bar.
"use strict";
const $ = (id) => document.getElementById(id);
const study = document.body.dataset.study;
const storageKey = `tinct-study-${study}`;
let session = sessionStorage.getItem(storageKey);
let item = null;
let shownAt = 0;

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").classList.toggle("error", Boolean(isError));
}

function progress(answered, total) {
  $("progress").max = Math.max(total, 1);
  $("progress").value = answered;
  $("count").textContent = `${answered} / ${total}`;
}

async function call(path, options = {}) {
  const response = await fetch(`/study/${study}${path}`, {
    ...options,
    headers: { "Content-Type": "application/json", "X-Study-Session": session || "", ...(options.headers || {}) },
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ? body.error.message : `error ${response.status}`);
  return body;
}

function enable(on) {
  $("real").disabled = !on;
  $("colourised").disabled = !on;
}

async function next() {
  const state = await call("/next");
  progress(state.answered, state.total);
  if (!state.item) {
    $("item").hidden = true;
    $("done").hidden = false;
    setStatus("Finished.");
    return;
  }
  item = state.item;
  enable(false);
  $("item").hidden = false;
  $("photo").onload = () => { shownAt = performance.now(); enable(true); $("real").focus(); };
  $("photo").src = state.image;
}

async function answer(value) {
  if (!item || $("real").disabled) return;
  enable(false);
  const responseMs = Math.max(0, Math.round(performance.now() - shownAt));
  try {
    await call("/answers", { method: "POST", body: JSON.stringify({ item, answer: value, response_ms: responseMs }) });
    await next();
  } catch (error) {
    setStatus(error.message, true);
    enable(true);
  }
}

async function start() {
  $("start").hidden = true;
  try {
    if (!session) {
      const started = await call("/session", { method: "POST" });
      session = started.session;
      sessionStorage.setItem(storageKey, session);
    }
    await next();
  } catch (error) {
    setStatus(error.message, true);
    $("start").hidden = false;
  }
}

$("start").addEventListener("click", start);
$("real").addEventListener("click", () => answer("real"));
$("colourised").addEventListener("click", () => answer("colourised"));
document.addEventListener("keydown", (e) => {
  if (e.key === "r" || e.key === "R") answer("real");
  if (e.key === "c" || e.key === "C") answer("colourised");
});
if (session) start();
