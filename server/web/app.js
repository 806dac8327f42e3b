// The page at /: sends the picture as multipart/form-data to POST /v1/classify and shows the ranked scores.
"use strict";

const $ = (id) => document.getElementById(id);
let picture = null;

function authHeaders() {
  const key = $("api-key").value.trim();
  sessionStorage.setItem("hailo-clip-key", key);
  return key ? { Authorization: "Bearer " + key } : {};
}

function say(text, isError) {
  $("message").textContent = text;
  $("message").classList.toggle("error", Boolean(isError));
}

async function loadStatus() {
  try {
    const health = await (await fetch("/health")).json();
    $("service-status").textContent =
      `${health.status}: model ${health.model} on ${health.backend}, ${health.embedding_dimension}-d embeddings`;
    $("service-status").dataset.backend = health.backend;
  } catch (e) {
    $("service-status").textContent = "The service does not answer: " + e;
  }
}

async function loadPromptSets() {
  const select = $("prompt-set");
  const response = await fetch("/v1/prompt-sets", { headers: authHeaders() });
  if (!response.ok) return;  // 401 until a key is typed; the prompts still work
  const keep = select.value;
  select.length = 1;
  for (const set of (await response.json()).prompt_sets) {
    const option = document.createElement("option");
    option.value = set.name;
    option.textContent = `${set.name} (${set.prompts.length} labels)`;
    select.append(option);
  }
  select.value = keep;
}

function usePicture(file) {
  if (!file) return;
  picture = file;
  const preview = $("preview");
  preview.src = URL.createObjectURL(file);
  preview.alt = "The chosen picture: " + file.name;
  preview.hidden = false;
  $("drop-text").textContent = "Picture: " + file.name + " (drop or choose another to change)";
}

function showResults(body, elapsedMs) {
  const list = $("results");
  list.replaceChildren();
  for (const c of body.classifications) {
    const item = document.createElement("li");
    const percent = (100 * c.score).toFixed(1);
    item.setAttribute("aria-label", `${c.text}: ${percent} percent`);
    const row = document.createElement("div");
    row.className = "bar-row";
    const text = document.createElement("span");
    text.className = "label";
    text.textContent = c.text;
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = percent + " %";
    row.append(text, score);
    const bar = document.createElement("div");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = percent + "%";
    bar.append(fill);
    item.append(row, bar);
    list.append(item);
  }
  const backend = $("service-status").dataset.backend || "?";
  $("timing").textContent =
    `Backend ${backend}; the service took ${body.inference_time_ms} ms, the round trip ${elapsedMs.toFixed(0)} ms.`;
}

async function classify(event) {
  event.preventDefault();
  if (!picture) return say("Choose a picture first.", true);
  const form = new FormData();
  form.append("image", picture, picture.name);
  const set = $("prompt-set").value;
  if (set) {
    form.append("prompt_set", set);
  } else {
    const prompts = $("prompts").value.split("\n").map((p) => p.trim()).filter(Boolean);
    if (!prompts.length) return say("Type at least one prompt.", true);
    prompts.forEach((p) => form.append("prompts", p));
  }
  form.append("top_k", $("top-k").value || "5");
  $("classify").disabled = true;
  say("Classifying…");
  const started = performance.now();
  try {
    const response = await fetch("/v1/classify", { method: "POST", body: form, headers: authHeaders() });
    const body = await response.json();
    if (!response.ok) return say(`Error ${response.status}: ${body.error}`, true);
    showResults(body, performance.now() - started);
    say("Done.");
  } catch (e) {
    say("The request failed: " + e, true);
  } finally {
    $("classify").disabled = false;
  }
}

function wireDropZone() {
  // The native file input is the keyboard path (Tab to it, Enter or Space opens the chooser); dropping is extra.
  const zone = $("drop-zone");
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("dragging");
    usePicture(e.dataTransfer.files[0]);
  });
  $("image-input").addEventListener("change", (e) => usePicture(e.target.files[0]));
}

$("api-key").value = sessionStorage.getItem("hailo-clip-key") || "";
$("api-key").addEventListener("change", loadPromptSets);
$("classify-form").addEventListener("submit", classify);
wireDropZone();
loadStatus();
loadPromptSets();
