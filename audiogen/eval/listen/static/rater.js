// Rater page of `audiogen listen serve`: plain JS, no dependencies, works offline.
// Every sample must be played to its end before it can be rated; answers go to the server
// with fetch, one trial at a time, and a reopened link resumes at the first unfinished trial.
"use strict";

const token = decodeURIComponent(location.pathname.split("/")[2] || "");
const $ = (id) => document.getElementById(id);
let state = null;
let current = null;
let played = new Set();

function element(tag, attributes, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function audioUrl(stimulus) {
  return "/audio/" + encodeURIComponent(token) + "/" + encodeURIComponent(stimulus);
}

function showError(message) {
  $("error").textContent = message || "";
}

async function loadState() {
  const response = await fetch("/api/r/" + encodeURIComponent(token) + "/state",
                               {cache: "no-store"});
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || ("error " + response.status));
  return body;
}

function updateProgress() {
  const done = state.trials.filter((trial) => trial.done).length;
  $("progress").max = state.trials.length;
  $("progress").value = done;
  $("count").textContent = done + " of " + state.trials.length + " screens done";
  $("progress-row").hidden = false;
}

function next() {
  updateProgress();
  current = state.trials.find((trial) => !trial.done) || null;
  if (current === null) {
    $("trial").hidden = true;
    $("done").hidden = false;
    document.body.dataset.finished = "true";
    return;
  }
  render(current);
}

function render(trial) {
  played = new Set();
  document.body.dataset.trial = trial.id;
  $("attention").hidden = !trial.instruction;
  $("attention").textContent = trial.instruction || "";
  $("reference-row").hidden = !trial.reference;
  if (trial.reference) $("reference-audio").src = audioUrl(trial.reference);
  else $("reference-audio").removeAttribute("src");
  const samples = $("samples");
  const answer = $("answer");
  samples.replaceChildren();
  answer.replaceChildren();
  trial.stimuli.forEach((stimulus, index) => {
    const row = element("div", {class: "sample", "data-stimulus": stimulus});
    row.append(element("span", {class: "name"}, "Sample " + (index + 1)));
    const player = element("audio", {controls: "", preload: "auto", src: audioUrl(stimulus),
                                     "data-stimulus": stimulus, "data-played": "false"});
    player.addEventListener("ended", () => markPlayed(stimulus, row, player));
    player.addEventListener("error", () => showError("Sample " + (index + 1) +
                                                     " could not be loaded; reload the page."));
    row.append(player);
    if (state.type === "mushra") row.append(...slider(stimulus));
    samples.append(row);
  });
  if (state.type === "acr") answer.append(choices("score", labelled([5, 4, 3, 2, 1])));
  if (state.type === "cmos") {
    answer.append(choices("comparison", labelled([3, 2, 1, 0, -1, -2, -3]),
                          "Sample 2 compared to Sample 1:"));
  }
  if (state.type === "ab") {
    answer.append(choices("choice", trial.stimuli.map((stimulus, index) =>
      [stimulus, "Sample " + (index + 1)]), "Which sample do you prefer?"));
  }
  $("trial").hidden = false;
  showError("");
  refresh();
}

function labelled(values) {
  return values.map((value) => [String(value),
    (value > 0 && state.type === "cmos" ? "+" : "") + value + " \u2013 " +
    state.labels[String(value)]]);
}

function choices(name, options, legendText) {
  const fieldset = element("fieldset", {id: "choices"});
  if (legendText) fieldset.append(element("legend", {}, legendText));
  for (const [value, text] of options) {
    const label = element("label");
    const input = element("input", {type: "radio", name: name, value: value, disabled: ""});
    input.addEventListener("change", refresh);
    label.append(input, " " + text);
    fieldset.append(label);
  }
  return fieldset;
}

function slider(stimulus) {
  const input = element("input", {type: "range", min: "0", max: "100", step: "1", value: "50",
                                  disabled: "", "data-stimulus": stimulus,
                                  "aria-label": "score"});
  const output = element("output", {}, "50");
  input.addEventListener("input", () => { output.textContent = input.value; refresh(); });
  return [input, output];
}

function markPlayed(stimulus, row, player) {
  played.add(stimulus);
  row.classList.add("played");
  player.dataset.played = "true";
  refresh();
}

function refresh() {
  const all = current.stimuli.every((stimulus) => played.has(stimulus));
  if (state.type === "mushra") {
    for (const input of document.querySelectorAll("#samples input[type=range]")) {
      input.disabled = !played.has(input.dataset.stimulus);
    }
  } else {
    for (const input of document.querySelectorAll("#choices input")) input.disabled = !all;
  }
  const chosen = document.querySelector("#choices input:checked");
  const ready = all && (state.type === "mushra" || chosen !== null);
  $("submit").disabled = !ready;
  $("hint").textContent = all ? (ready ? "" : "Choose your answer.")
                              : "Play every sample to its end to enable rating.";
}

function answerBody() {
  if (state.type === "mushra") {
    const scores = {};
    for (const input of document.querySelectorAll("#samples input[type=range]")) {
      scores[input.dataset.stimulus] = Number(input.value);
    }
    return {scores: scores};
  }
  const value = document.querySelector("#choices input:checked").value;
  if (state.type === "acr") return {scores: {[current.stimuli[0]]: Number(value)}};
  if (state.type === "cmos") return {comparison: Number(value)};
  return {choice: value};
}

async function submit() {
  const button = $("submit");
  button.disabled = true;
  showError("");
  try {
    const response = await fetch("/api/r/" + encodeURIComponent(token) + "/trials/" +
                                 encodeURIComponent(current.id), {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(answerBody()), cache: "no-store"});
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail || ("error " + response.status));
    current.done = true;
    next();
  } catch (error) {
    showError("Could not save your answer: " + error.message + " (try again)");
    button.disabled = false;
  }
}

async function start() {
  try {
    state = await loadState();
  } catch (error) {
    $("instructions").textContent = "";
    showError(error.message);
    return;
  }
  document.title = state.title;
  $("title").textContent = state.title;
  $("instructions").textContent = state.instructions;
  $("submit").addEventListener("click", submit);
  next();
}

start();
