"""The labelling page: one self-contained HTML document (inline CSS and script, nothing fetched
from elsewhere), keyboard-first, readable on a 390-pixel phone screen.

Keys: 1–8 choose a theme (taxonomy order), Enter or a accepts the model's guess,
s skips, ? sets the sentence aside as unsure, u undoes the last answer. Every
key has a button too, for touch screens. Text from documents is only ever put
into the page with ``textContent``, never as markup.
"""

from __future__ import annotations

import json
from typing import Any
from collections.abc import Sequence

__all__ = ["render_page"]

_PAGE = """<!doctype html>
<html lang="zh">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>plantheme review</title>
<style>
*{box-sizing:border-box}
body{margin:0;font:16px/1.6 system-ui,"PingFang SC","Noto Sans CJK SC",sans-serif;color:#1d1d1f;background:#f5f5f7;
 overflow-wrap:anywhere;word-break:break-word}
main{max-width:760px;margin:0 auto;padding:12px}
header{display:flex;flex-wrap:wrap;gap:8px;align-items:center;justify-content:space-between}
#progress{font-weight:600}
.bar{height:6px;background:#ddd;border-radius:3px;overflow:hidden;margin:6px 0 10px}
.bar span{display:block;height:100%;background:#0a7;width:0}
#counts{display:flex;flex-wrap:wrap;gap:4px;font-size:13px;margin:0 0 10px;padding:0;list-style:none}
#counts li{background:#fff;border:1px solid #ddd;border-radius:10px;padding:0 8px}
.card{background:#fff;border:1px solid #ddd;border-radius:10px;padding:12px}
.meta{font-size:13px;color:#555}
.context{color:#777;font-size:14px;margin:6px 0}
#sentence{font-size:20px;margin:8px 0;padding:8px;border-left:4px solid #0a7;background:#f0faf6}
#guess{margin:8px 0}
#evidence span{display:inline-block;background:#eef;border-radius:6px;padding:0 6px;margin:2px}
.keys{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:6px;margin-top:12px}
button{font:inherit;font-size:15px;padding:8px;border:1px solid #bbb;border-radius:8px;background:#fff;
 cursor:pointer;text-align:left;min-width:0}
button kbd{font-weight:700;margin-right:6px}
button.guess{border-color:#0a7;background:#e8f7f1}
#status{min-height:1.6em;font-size:14px;color:#555}
#status.error{color:#b00}
.done{font-size:20px;padding:20px 0}
details{font-size:13px;color:#555;margin-top:8px}
</style>
</head>
<body>
<main>
<header><span id="progress">…</span><span class="meta" id="labels"></span></header>
<div class="bar"><span id="bar"></span></div>
<ul id="counts"></ul>
<section class="card" id="card">
 <div class="meta"><span id="title"></span> · <span id="doc"></span></div>
 <div class="meta" id="heading"></div>
 <div class="context" id="before"></div>
 <div id="sentence" data-key=""></div>
 <div class="context" id="after"></div>
 <div id="guess"></div>
 <div id="evidence"></div>
 <details><summary>why this sentence</summary><span id="reason"></span></details>
</section>
<div class="keys" id="keys"></div>
<div class="keys">
 <button data-answer="accept"><kbd>Enter</kbd>accept guess</button>
 <button data-answer="skip"><kbd>s</kbd>skip</button>
 <button data-answer="unsure"><kbd>?</kbd>unsure</button>
 <button data-undo="1"><kbd>u</kbd>undo</button>
</div>
<p id="status" role="status"></p>
</main>
<script>
"use strict";
const THEMES = __THEMES__;
const NAME = Object.fromEntries(THEMES.map(t => [t.id, t.name]));
let state = null, busy = false;
const $ = id => document.getElementById(id);
function text(id, value) { $(id).textContent = value || ""; }
function say(message, error) { text("status", message); $("status").className = error ? "error" : ""; }

const keys = $("keys");
THEMES.forEach((t, i) => {
  const b = document.createElement("button");
  b.dataset.answer = t.id;
  const k = document.createElement("kbd"); k.textContent = String(i + 1);
  b.append(k, t.name);
  keys.append(b);
});

function render(s) {
  state = s;
  text("progress", s.done + " / " + s.total + " answered");
  text("labels", s.labels + " labels in this folder");
  $("bar").style.width = (s.total ? 100 * s.done / s.total : 100) + "%";
  const counts = $("counts"); counts.replaceChildren();
  THEMES.forEach(t => { const li = document.createElement("li"); li.textContent = t.name + " " + (s.counts[t.id] || 0); counts.append(li); });
  const item = s.item;
  $("card").hidden = !item;
  document.querySelectorAll("button.guess").forEach(b => b.classList.remove("guess"));
  if (!item) { say("All sentences of this queue are answered. Train with plantheme train --data labels/ <this folder>."); return; }
  text("title", item.title || "(no title)"); text("doc", item.doc);
  text("heading", item.heading ? "under: " + item.heading : "");
  text("before", item.before); text("after", item.after);
  text("sentence", item.text); $("sentence").dataset.key = item.key;
  const top = Object.entries(item.scores).sort((a, b) => b[1] - a[1]).slice(0, 3);
  text("guess", "model: " + NAME[item.guess] + " " + Math.round(100 * item.scores[item.guess]) + "%  (" +
       top.slice(1).map(([t, p]) => NAME[t] + " " + Math.round(100 * p) + "%").join(", ") + ")");
  const ev = $("evidence"); ev.replaceChildren();
  item.evidence.forEach(w => { const sp = document.createElement("span"); sp.textContent = w; ev.append(sp); });
  text("reason", item.reason);
  const g = document.querySelector('button[data-answer="' + item.guess + '"]'); if (g) g.classList.add("guess");
}

async function call(method, path, body) {
  busy = true;
  try {
    const r = await fetch(path, {method, headers: body ? {"Content-Type": "application/json"} : {},
                                 body: body ? JSON.stringify(body) : undefined});
    const data = await r.json();
    if (!r.ok) { say(data.error || ("error " + r.status), true); return; }
    render(data);
    if (body && body.answer) say("saved: " + (NAME[data.last] || data.last));
    else if (path === "/api/undo") say("undone");
  } catch (e) { say("the server does not answer: is plantheme review still running?", true); }
  finally { busy = false; }
}

function answer(a) {
  if (busy || !state || !state.item) return;
  call("POST", "/api/answer", {key: state.item.key, answer: a});
}
function undo() { if (!busy) call("POST", "/api/undo", {}); }

document.addEventListener("click", e => {
  const b = e.target.closest("button"); if (!b) return;
  if (b.dataset.undo) undo(); else if (b.dataset.answer) answer(b.dataset.answer);
});
document.addEventListener("keydown", e => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const k = e.key;
  if (k >= "1" && k <= String(THEMES.length)) answer(THEMES[Number(k) - 1].id);
  else if (k === "Enter" || k === "a") answer("accept");
  else if (k === "s") answer("skip");
  else if (k === "?") answer("unsure");
  else if (k === "u") undo();
  else return;
  e.preventDefault();
});
call("GET", "/api/state");
</script>
</body>
</html>
"""


def render_page(themes: Sequence[dict[str, Any]]) -> str:
    """The page, with the themes (``id``, ``name``) in key order built in."""
    # "<" escaped: a theme name can never close the script element.
    data = json.dumps(list(themes), ensure_ascii=False).replace("<", "\\u003c")
    return _PAGE.replace("__THEMES__", data)
