"""How often the 95% intervals of the theme shares hold the true share: coverage by simulation.

Each simulated selection (one document, or a group of documents) is made like this:

* the true confusion rates are the shipped model's out-of-fold ones (``model.json``, ``cv``);
  the matrix the estimator is given is a fresh draw of the same number of sentences per row
  from them (it is an estimate too, and the interval must account for that);
* the true shares ~ Dirichlet(1, ..., 1) (many small shares: the hard case);
* a document's own shares are the true ones; in a group, each document's ~ Dirichlet(20 x the
  true shares) (documents of a group differ), and the group's true share is the true one;
* every sentence's predicted theme is drawn through the true confusion rates.

The interval covers when lo <= true share <= hi. Printed per scenario: coverage over all
themes and selections (and its binomial standard error), coverage for true shares under 0.02,
the mean interval width, and for single documents also the coverage of the document's
*realised* share (the share of its sentences that truly are of the theme). Beside the shipped
method, two variants it replaced: a plain multinomial redraw of a document's sentences, and the
plain 2.5-97.5 percentiles for groups.

    python benchmarks/share_coverage.py [--simulations 400] [--replicates 1000] [--model models/default]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from plantheme.analysis.shares import (
    Confusion,
    confusion_from_card,
    draw_confusion_rates,
    estimate_selections,
    estimate_shares,
    summarise_draws,
)
from plantheme.settings import DEFAULT_MODEL_DIR

SCENARIOS = (  # (sentences per document, documents)
    (50, 1),
    (200, 1),
    (1000, 1),
    (100, 10),
    (100, 30),
)
DOCUMENT_SPREAD = 20.0


def _simulate(
    true_rates: np.ndarray,
    row_sentences: np.ndarray,
    sentences: int,
    documents: int,
    simulations: int,
    replicates: int,
    seed: int,
) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    n = len(true_rates)
    hits, hits_real, hits_plain, widths, truths = [], [], [], [], []
    for k in range(simulations):
        seen = np.stack([rng.multinomial(total, row) for total, row in zip(row_sentences, true_rates)])
        confusion = Confusion(tuple(tuple(int(x) for x in row) for row in seen), "simulated")
        truth = rng.dirichlet(np.ones(n))
        doc_shares = rng.dirichlet(DOCUMENT_SPREAD * truth + 1e-3, size=documents) if documents > 1 else truth[None]
        true_counts = np.stack([rng.multinomial(sentences, shares) for shares in doc_shares])
        counts = np.stack([sum(rng.multinomial(c, true_rates[t]) for t, c in enumerate(row)) for row in true_counts])
        (draws,) = estimate_selections([(f"sim{k}", counts)], confusion, replicates, seed + k)
        shares = summarise_draws("sim", documents, int(counts.sum()), draws).shares
        lo = np.array([s.lo for s in shares.values()])
        hi = np.array([s.hi for s in shares.values()])
        hits.append((lo <= truth) & (truth <= hi))
        widths.append(hi - lo)
        truths.append(truth)
        if documents == 1:
            realised = true_counts[0] / true_counts[0].sum()
            hits_real.append((lo <= realised) & (realised <= hi))
            # The variant replaced: the document's sentences redrawn as a multinomial.
            total = int(counts.sum())
            redrawn = np.random.default_rng([seed, k]).multinomial(total, counts[0] / total, size=replicates)
            rates = draw_confusion_rates(confusion, replicates, seed + k)
            boot = estimate_shares(redrawn, rates, tolerance=1e-5)
        else:
            boot = draws.replicates  # the variant replaced: the same draws, plain percentiles
        plo, phi = np.percentile(boot, [2.5, 97.5], axis=0)
        plo, phi = np.minimum(plo, draws.estimate), np.maximum(phi, draws.estimate)
        hits_plain.append((plo <= truth) & (truth <= phi))
    hits_a, truths_a = np.array(hits), np.array(truths)
    small = truths_a < 0.02
    return {
        "coverage": float(hits_a.mean()),
        "coverage_small": float(hits_a[small].mean()) if small.any() else float("nan"),
        "small": int(small.sum()),
        "coverage_realised": float(np.mean(hits_real)) if hits_real else float("nan"),
        "coverage_variant": float(np.mean(hits_plain)),
        "width": float(np.mean(widths)),
    }


def main() -> None:
    """Run every scenario and print its coverage."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simulations", type=int, default=400)
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    card = json.loads((args.model / "model.json").read_text(encoding="utf-8"))
    confusion = confusion_from_card(card["cv"])
    if confusion is None:
        raise SystemExit(f"{args.model}: the model card has no confusion matrix")
    true_rates = confusion.rates()
    row_sentences = np.asarray(confusion.counts).sum(axis=1)
    accuracy = np.trace(np.asarray(confusion.counts)) / row_sentences.sum()
    print(f"true confusion rates: {confusion.source}; accuracy {accuracy:.3f}")
    print(
        f"{args.simulations} simulated selections per scenario, {args.replicates} bootstrap replicates,"
        f" true shares ~ Dirichlet(1); {len(true_rates)} intervals each"
    )
    se = math.sqrt(0.95 * 0.05 / args.simulations)
    print(f"binomial sd of one theme's coverage over {args.simulations} selections: {se:.3f}\n")
    header = f"{'scenario':<26}{'coverage':>9}{'share<0.02':>16}{'realised':>10}{'variant':>9}{'width':>8}{'s':>6}"
    print(header)
    for sentences, documents in SCENARIOS:
        started = time.perf_counter()
        result = _simulate(
            true_rates,
            row_sentences,
            sentences,
            documents,
            args.simulations,
            args.replicates,
            args.seed + 1000 * documents + sentences,
        )
        what = f"1 document, {sentences} sent." if documents == 1 else f"{documents} docs x {sentences} sent."
        realised = f"{result['coverage_realised']:.3f}" if documents == 1 else "-"
        print(
            f"{what:<26}{result['coverage']:>9.3f}{result['coverage_small']:>9.3f} (n={result['small']:>3})"
            f"{realised:>10}{result['coverage_variant']:>9.3f}{result['width']:>8.3f}"
            f"{time.perf_counter() - started:>6.1f}"
        )
    print(
        "\nvariant: single documents with a multinomial redraw of their sentences; groups with the"
        " plain 2.5-97.5 percentiles"
    )


if __name__ == "__main__":
    main()
