// The sandbox dashboard's live log: the sandbox feed's frames, newest first, each shown by the
// label the platform gives it (words, never wire names), written with textContent only (never as
// HTML), at most MAX_ROWS kept. The browser's EventSource reconnects by itself with the last
// frame's id, so nothing is lost or shown twice; when the platform refuses the stream (the
// session ended: signed out or expired), the log says so instead of waiting for ever.
"use strict";

(function () {
  const MAX_ROWS = 200;
  const log = document.getElementById("live-log");
  const state = document.getElementById("live-state");
  if (!log || !window.EventSource) {
    return;
  }

  const BADGES = { push: "Push", email: "Email", sms: "SMS", webhook: "Webhook" };
  const KINDS = (log.dataset.kinds || "").split(",").filter((kind) => kind in BADGES);

  // A time as the pages write it: 2026-11-01 10:00:00 UTC.
  function utc(at) {
    const time = new Date(at);
    if (!at || Number.isNaN(time.getTime())) {
      return "";
    }
    const iso = time.toISOString();
    return iso.slice(0, 10) + " " + iso.slice(11, 19) + " UTC";
  }

  function row(item) {
    const li = document.createElement("li");
    li.className = "feed-item kind-" + item.kind;
    li.dataset.kind = item.kind;
    li.dataset.seq = String(item.seq);
    const time = document.createElement("time");
    if (item.at) {
      time.dateTime = item.at;
    }
    time.textContent = utc(item.at);
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = BADGES[item.kind] || "Update";
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = item.label || "";
    li.append(time, " ", badge, " ", text);
    if (item.order_id) {
      const link = document.createElement("a");
      link.href = "/sandbox/orders/" + encodeURIComponent(item.order_id);
      link.textContent = "order " + item.order_id.replace(/-/g, "").slice(-8);
      li.append(" ", link);
    }
    return li;
  }

  let source = null;
  // The newest item shown: a page brought back from the back-forward cache goes on after it.
  let lastSeq = null;

  function say(text, live) {
    state.textContent = text;
    state.dataset.live = live;
  }

  function show(frame) {
    let item;
    try {
      item = JSON.parse(frame.data);
    } catch (_) {
      return;
    }
    lastSeq = item.seq;
    log.prepend(row(item));
    while (log.children.length > MAX_ROWS) {
      log.lastElementChild.remove();
    }
  }

  function connect() {
    const url = new URL(log.dataset.src, window.location.href);
    if (lastSeq !== null) {
      url.searchParams.set("after", String(lastSeq));
    }
    source = new EventSource(url);
    for (const kind of KINDS) {
      source.addEventListener(kind, show);
    }
    source.addEventListener("open", () => say("Live", "true"));
    source.addEventListener("error", () => {
      if (source && source.readyState === EventSource.CLOSED) {
        // The platform answered, but not with the stream: the session is over (a sign-out
        // elsewhere, or its day is up) or the log's request was refused. Waiting will not help.
        say("Stopped: signed out or refused. Reload the page to go on.", "closed");
        source.close();
        source = null;
      } else {
        say("Reconnecting…", "false");
      }
    });
  }

  // Closed as the page goes, so the browser's few connections per host are not held by pages the
  // developer left (a page kept in the back-forward cache opens it again on its return).
  window.addEventListener("pagehide", () => {
    if (source) {
      source.close();
      source = null;
    }
  });
  window.addEventListener("pageshow", (event) => {
    if (event.persisted && !source) {
      connect();
    }
  });

  connect();
})();
