// tinct web page: upload, colourise through /v1/colourise, compare with a slider.
"use strict";
const $ = (id) => document.getElementById(id);
let file = null;
let models = [];
let results = []; // object URLs of the current colourisations
let shown = 0;

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").classList.toggle("error", Boolean(isError));
}

function currentModel() {
  return models.find((m) => m.name === $("model").value);
}

function updateOptions() {
  const model = currentModel();
  $("temperature-box").hidden = !(model && model.supports_temperature);
  $("samples-box").hidden = !(model && model.supports_sampling);
}

async function loadModels() {
  const response = await fetch("/v1/models");
  models = await response.json();
  for (const model of models) {
    const option = document.createElement("option");
    option.value = model.name;
    option.textContent = model.name;
    option.title = model.description;
    $("model").append(option);
  }
  updateOptions();
}

function pick(selected) {
  if (!selected) return;
  file = selected;
  $("before").src = URL.createObjectURL(file);
  $("go").disabled = false;
  setStatus(`${file.name} ready.`);
}

function show(index) {
  shown = index;
  $("after").src = results[index];
  $("download").href = results[index];
  $("download").hidden = false;
  for (const [i, button] of [...$("samples-list").children].entries()) {
    button.setAttribute("aria-pressed", String(i === index));
  }
}

function clip() {
  const share = Number($("slider").value);
  $("after-clip").style.clipPath = `inset(0 ${100 - share}% 0 0)`;
}

async function colourise(seed) {
  const body = new FormData();
  body.append("image", file);
  body.append("model", $("model").value);
  body.append("saturation", $("saturation").value);
  body.append("format", "png");
  const model = currentModel();
  if (model && model.supports_temperature) body.append("temperature", $("temperature").value);
  if (seed !== undefined) body.append("seed", String(seed));
  const response = await fetch("/v1/colourise", { method: "POST", body });
  if (!response.ok) {
    let message = `error ${response.status}`;
    try { message = (await response.json()).error.message; } catch (e) { /* not JSON */ }
    throw new Error(message);
  }
  return URL.createObjectURL(await response.blob());
}

async function submit(event) {
  event.preventDefault();
  if (!file) return;
  const model = currentModel();
  const count = model && model.supports_sampling ? Math.max(1, Math.min(8, Number($("samples").value) || 1)) : 1;
  $("go").disabled = true;
  setStatus("Colourising…");
  try {
    for (const url of results) URL.revokeObjectURL(url);
    results = [];
    $("samples-list").replaceChildren();
    const base = Math.floor(Math.random() * 1e9);
    for (let i = 0; i < count; i++) {
      results.push(await colourise(count > 1 ? base + i : undefined));
      if (count > 1) {
        const button = document.createElement("button");
        button.type = "button";
        button.setAttribute("aria-label", `Sample ${i + 1}`);
        const img = document.createElement("img");
        img.src = results[i];
        img.alt = "";
        button.append(img);
        button.addEventListener("click", () => show(i));
        $("samples-list").append(button);
      }
    }
    const stem = file.name.replace(/\.[^.]*$/, "") || "photo";
    $("download").download = `${stem}_colour.png`;
    $("result").hidden = false;
    show(0);
    clip();
    setStatus(count > 1 ? `Done: ${count} samples.` : "Done.");
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    $("go").disabled = false;
  }
}

$("file").addEventListener("change", (e) => pick(e.target.files[0]));
$("drop").addEventListener("dragover", (e) => { e.preventDefault(); $("drop").classList.add("over"); });
$("drop").addEventListener("dragleave", () => $("drop").classList.remove("over"));
$("drop").addEventListener("drop", (e) => {
  e.preventDefault();
  $("drop").classList.remove("over");
  pick(e.dataTransfer.files[0]);
});
$("model").addEventListener("change", updateOptions);
$("saturation").addEventListener("input", () => { $("saturation-value").textContent = Number($("saturation").value).toFixed(1); });
$("temperature").addEventListener("input", () => { $("temperature-value").textContent = Number($("temperature").value).toFixed(2); });
$("slider").addEventListener("input", clip);
$("form").addEventListener("submit", submit);
loadModels().catch((e) => setStatus(`Cannot list the models: ${e.message}`, true));
