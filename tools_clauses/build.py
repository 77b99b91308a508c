import csv, json, sys, glob
from pathlib import Path
C = dict(i="industry", v="investment", u="urban_construction", r="rural_revitalisation", e="ecology",
         w="welfare", g="governance", o="other")
base = Path(__file__).parent
import random
RNG = random.Random(20265)
HALF = str.maketrans({"，": ",", "；": ";", "：": ":", "（": "(", "）": ")", "。": "."})
def noise(t, brk=True):
    if len(t) < 16 or "\n" in t or RNG.random() > 0.11:
        return t
    k = RNG.choice(["half", "space", "break", "half"])
    if k == "break" and not brk: k = "space"
    if k == "half":
        return t.translate(HALF)
    p = RNG.randrange(4, len(t) - 3)
    return t[:p] + (" " if k == "space" else "\n") + t[p:]
def parse(line, brk=True):
    code, _, text = line.partition(" ")
    return C[code], noise(text.strip().replace("⏎", "\n"), brk)
# sentences
rows = []; g = 0; genre = None
for f in sorted(base.glob("rows*.txt")):
    for line in f.read_text(encoding="utf-8").splitlines():
        if not line.strip(): continue
        if line.startswith("###"):
            g += 1; genre = line[3:].strip(); continue
        th, t = parse(line)
        rows.append((t, th, "written", f"w5-clauses-{g:02d}", genre))
out = base.parent / "labels" / "round5_clauses.csv"
with open(out, "w", encoding="utf-8-sig", newline="") as fh:
    w = csv.writer(fh); w.writerow(["text", "theme", "source", "group", "genre"]); w.writerows(rows)
# documents
docs = []; cur = None
for f in sorted(base.glob("docs*.txt")):
    for line in f.read_text(encoding="utf-8").splitlines():
        if not line.strip(): continue
        if line.startswith("==="):
            cur = {"doc": f"w5-clauses-d{len(docs)+1:02d}", "genre": line[3:].strip(), "paragraphs": []}
            docs.append(cur); continue
        if line.startswith("+"):
            cur["paragraphs"][-1].append(list(parse(line[1:], False)))
        else:
            cur["paragraphs"].append([list(parse(line, False))])
dout = base.parent / "labels" / "documents" / "round5_clauses.documents.jsonl"
with open(dout, "w", encoding="utf-8") as fh:
    for d in docs: fh.write(json.dumps(d, ensure_ascii=False) + "\n")
from collections import Counter
print(len(rows), "rows", g, "groups", Counter(r[1] for r in rows))
print(len(docs), "docs", [sum(len(p) for p in d["paragraphs"]) for d in docs])
print(Counter(s[0] for d in docs for p in d["paragraphs"] for s in p))
