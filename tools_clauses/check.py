import sys
sys.path.insert(0, "src")
from pathlib import Path
from collections import Counter, defaultdict
from sklearn.feature_extraction.text import TfidfVectorizer
from plantheme.training.labels import read_labelled_dir, DOCUMENTS_SUFFIX
import importlib.util
spec = importlib.util.spec_from_file_location("t", "tests/test_labels.py")
t = importlib.util.module_from_spec(spec); spec.loader.exec_module(t)
rows = read_labelled_dir(Path("labels"))
rows = [r for r in rows if not r.file.endswith(DOCUMENTS_SUFFIX) or (len(t._key(r.text)) > t._SHORT_DOCUMENT_LINE and r.theme != "other")]
mine = lambda r: "clauses" in r.group
keys = [t._key(r.text) for r in rows]
by = defaultdict(list)
for k, r in zip(keys, rows): by[k].append(r)
for k, rs in by.items():
    if len(rs) > 1 and any(mine(r) for r in rs):
        print("DUP", k, [r.group for r in rs])
v = TfidfVectorizer(analyzer="char", ngram_range=(2, 3)).fit_transform(keys)
idx = [i for i, r in enumerate(rows) if mine(r)]
sim = (v[idx] @ v.T).tocoo()
for a, j, s in zip(sim.row, sim.col, sim.data):
    i = idx[a]
    if s > 0.9 and i != j and rows[i].group != rows[j].group and (not mine(rows[j]) or i < j):
        print("NEAR %.3f" % s, rows[i].text, "|", rows[j].text, rows[j].group)
