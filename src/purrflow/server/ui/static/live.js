// Live sessions: the sessions page inserts new rows and updates states, a session's page appends its log
// lines and refreshes its state and journal when it moves on — all from server-sent events, no polling.
// Without this script the pages are complete as rendered; a reload shows what changed.
"use strict";

// A state badge as the `state_badge` macro renders it.
function stateBadge(state) {
  const badge = document.createElement("span");
  badge.className = "badge state-" + state.toLowerCase().replace(/ /g, "-");
  badge.textContent = state;
  return badge;
}

function cell(label, content) {
  const td = document.createElement("td");
  td.dataset.label = label;
  if (typeof content === "string") td.textContent = content; else td.append(content);
  return td;
}

function code(text) {
  const element = document.createElement("code");
  element.textContent = text;
  return element;
}

// One row of the sessions table, built like the server's (text only: nothing from the event is HTML).
function sessionRow(session) {
  const row = document.createElement("tr");
  row.dataset.sessionId = session.id;
  const link = document.createElement("a");
  link.href = session.url;
  link.append(code(session.id));
  const created = document.createElement("time");
  created.dateTime = session.created_at;
  created.title = session.created_at;
  created.textContent = session.created_ago;
  const state = cell("State", stateBadge(session.state));
  state.className = "state";
  row.append(cell("Session", link), cell("Project", session.project), cell("Trigger", session.trigger),
    cell("Entry point", code(session.entrypoint)), state, cell("Created", created));
  return row;
}

function liveSessions(table) {
  const body = table.tBodies[0];
  const status = document.getElementById("live-status");
  const source = new EventSource(table.dataset.liveSessions);
  source.addEventListener("session", (message) => {
    const session = JSON.parse(message.data);
    const row = body.querySelector(`tr[data-session-id="${CSS.escape(session.id)}"]`);
    if (row) {
      const state = row.querySelector("td.state");
      state.replaceChildren(stateBadge(session.state));
      row.dataset.state = session.state;
    } else if (session.matches) {
      body.prepend(sessionRow(session));
      const empty = document.getElementById("no-sessions");
      if (empty) empty.remove();
      if (status) status.textContent = `New session ${session.id} (${session.state}).`;
    }
  });
  source.addEventListener("error", (message) => {
    if (message.data) {  // the server's own `error` event: the login ended
      source.close();
      if (status) status.textContent = JSON.parse(message.data).error.message;
    }
  });
}

// Has a person started on this form (typed, ticked, chosen, or is the focus in it)?
function inUse(form) {
  if (form.contains(document.activeElement)) return true;
  return [...form.elements].some((field) => {
    if (field.type === "checkbox" || field.type === "radio") return field.checked !== field.defaultChecked;
    if (field.tagName === "SELECT") return [...field.options].some((option) => option.selected !== option.defaultSelected);
    return "defaultValue" in field && field.value !== field.defaultValue;
  });
}

// Re-read the session's page and swap in its facts and journal (keeping the log as it streams). A form a
// person is filling in (a prompt's answer, a stop reason) is kept as it is, focus included, wherever the
// fresh page still has it: a refresh never wipes what someone typed.
async function refreshSession(live) {
  const response = await fetch(window.location.pathname + window.location.search, { headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  const next = fresh.getElementById("session-live");
  if (!next) return;
  live.dataset.state = next.dataset.state;
  if (!next.dataset.changes && live.changes) live.changes.close();  // it has ended: nothing more to hear
  const focused = document.activeElement;
  const kept = [...live.querySelectorAll("form[action]")].filter(inUse);
  live.replaceChildren(...next.children);
  for (const form of kept) {
    const twin = [...live.querySelectorAll("form[action]")].find((f) => f.getAttribute("action") === form.getAttribute("action"));
    if (twin) twin.replaceWith(form);
  }
  if (focused instanceof HTMLElement && live.contains(focused)) focused.focus();
  setUpCopyButtons(live);  // app.js's enhancements, for the new content
  setUpConfirmations(live);
}

function liveLog(log, live) {
  const empty = document.getElementById("log-empty");
  const source = new EventSource(log.dataset.stream);
  source.addEventListener("log", (message) => {
    const line = JSON.parse(message.data);
    if (log.querySelector(`[data-seq="${line.seq}"]`)) return;
    const element = document.createElement("div");
    element.className = "line stream-" + line.stream;
    element.dataset.seq = line.seq;
    element.textContent = line.text;
    log.append(element);
    if (empty) empty.hidden = true;
    log.scrollTop = log.scrollHeight;
  });
  source.addEventListener("end", () => {
    source.close();
    if (live) refreshSession(live);
  });
  source.addEventListener("error", (message) => {
    if (message.data) source.close();
  });
}

function liveSession(live) {
  const source = new EventSource(live.dataset.changes);
  live.changes = source;
  source.addEventListener("session", (message) => {
    const session = JSON.parse(message.data);
    if (session.id === live.dataset.sessionId) refreshSession(live);  // it moved on: new state, steps
  });
  source.addEventListener("error", (message) => {
    if (message.data) source.close();
  });
  window.addEventListener("pagehide", () => source.close());
}

document.addEventListener("DOMContentLoaded", () => {
  const table = document.querySelector("table[data-live-sessions]");
  if (table) liveSessions(table);
  const live = document.getElementById("session-live");
  const log = document.querySelector("#session-log[data-stream]");
  if (log) liveLog(log, live);
  if (live && live.dataset.changes) liveSession(live);
});
