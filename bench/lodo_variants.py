"""Quick comparison of recommender variants under the ``bench/lodo.py`` protocol, one group at a time.

``bench/lodo.py`` fits every row for every group (about 25 minutes on 2 cores). Deciding whether
an idea deserves a row there takes many quicker runs: this script evaluates only the named
variants, on one group (``--metric``), for chosen bags of surrogate seeds, and appends one line
per (variant, seed, held-out dataset) to a CSV, so that runs add up. The protocol is the same:
each held-out dataset (with the same table under another target and what was derived from them)
is removed from the views, every variant is fitted on the rest, and the held-out dataset's true
scores of its ranking give best@k (0 = the dataset's median configuration, 1 = its best) and
whether its top-1 is at least as good as HistGradientBoosting's default and as FLAML zero-shot.

The views of the three groups are computed once from the seed and cached (``--views``), as a
pickle of this project's own objects, under a key of the seed file's size and modification time
(or the store's path): a changed seed file gets new views.

Variants sharing a surrogate's parameters share its fit (``bench/lodo.py``'s ``SharedSurrogate``),
so comparing ways of using one surrogate costs little more than one variant; a variant that
changes the surrogate fits its own (a binary surrogate with the probes: about a minute per
held-out dataset for four such variants).

Usage:
    python bench/lodo_variants.py --metric roc_auc --variants "default|no prediction row" --seeds 0,5
    python bench/lodo_variants.py --list
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import pickle
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

# bench/lodo.py, beside this script (its folder is on the path when run as a script)
from former_default import SurrogatePortfolioRecommender
from lodo import SharedSurrogate, flaml_normalised, group_views, groups, open_bench_graph

from metakg.kg.graph import make_configuration
from metakg.kg.spaces import default_configuration
from metakg.metalearner.evaluation import normalised_against_median, same_table
from metakg.metalearner.knowledge import MetaData, derived_by_later_splits, feature_columns
from metakg.metalearner.metafeatures.probing import PROBES
from metakg.metalearner.recommenders import (
    REGIME_CONTRASTS,
    REGIME_FEATURES,
    Query,
)
from metakg.metalearner.recommenders._greedy import _weighted_greedy, greedy_order
from metakg.metalearner.recommenders.nearest import DEFAULT_FEATURES

KS = (1, 3, 5, 10, 25)


def _default(seed: int, **surrogate: object) -> SurrogatePortfolioRecommender:
    return SurrogatePortfolioRecommender(surrogate=SharedSurrogate(random_state=seed, **surrogate))


class TopWeightedSpearman(SurrogatePortfolioRecommender):
    """Profile weights from a Spearman correlation whose configurations are weighted by
    ``exp(-rank / m)`` of their predicted rank on the query (0 = predicted best): datasets
    that agree on the query's predicted top count, disagreement among the worst matters less."""

    m: float = 30.0

    def weights_for(self, profile: np.ndarray) -> np.ndarray:
        p = np.nan_to_num(profile, nan=np.nanmin(profile))
        order = (-p).argsort(kind="stable").argsort().astype(float)
        cw = np.exp(-order / self.m)
        cw /= cw.sum()
        q = -order - cw @ -order
        ranks = self.profile_ranks_ - (self.profile_ranks_ @ cw)[:, None]
        den = np.sqrt(((ranks ** 2) @ cw) * (cw @ q ** 2))
        corr = np.divide(ranks @ (cw * q), den, out=np.zeros(len(den)), where=den > 0)
        w = np.exp(self.tau * (corr - corr.max()))
        return w / w.sum()


class SwapSearch(SurrogatePortfolioRecommender):
    """After the greedy step, picks 2 to ``k`` are improved by swaps (each replaced by the
    configuration that most raises the weighted best-of-``k``, until none does), reordered
    greedily, and the greedy order continues from them: does a better-optimised top ``k``
    on the weighted training datasets make a better top ``k`` on the new one?"""

    k: int = 5

    def _portfolio(self, query: Query, columns: np.ndarray | None) -> pd.Series:
        if columns is not None:
            raise NotImplementedError("SwapSearch ranks all configurations only")
        predicted = self._predicted(self.surrogate_, query)
        weights = self.weights_for(predicted)
        for_first = self._predicted(self.first_surrogate_, query)
        first = self.first_choice(for_first, self.weights_for(for_first))
        scores, weights = self._greedy_rows(predicted, weights)
        top = greedy_order(scores, self.k, weights=weights, first=first)
        for _ in range(10):
            improved = False
            for pos in range(1, len(top)):
                others = top[:pos] + top[pos + 1:]
                gain = weights @ np.maximum(scores, scores[:, others].max(axis=1)[:, None])
                current = gain[top[pos]]
                gain[others] = -np.inf
                j = int(np.argmax(gain))
                if gain[j] > current + 1e-12:
                    top[pos], improved = j, True
            if not improved:
                break
        top = [top[i] for i in greedy_order(scores[:, top], len(top), weights=weights, first=0)]
        chosen = _weighted_greedy(scores, self.size, weights, list(top), scores[:, top].max(axis=1).copy())
        return self._ranked(chosen, predicted, np.arange(len(self.config_ids_)))


class _SeesTheQuery(SurrogatePortfolioRecommender):
    """Keeps the query being ranked (``_query``) for the hooks that are not handed it."""

    def _portfolio(self, query: Query, columns: np.ndarray | None) -> pd.Series:
        self._query = query
        return super()._portfolio(query, columns)


class BothSurrogatesRow(_SeesTheQuery):
    """The prediction row of the greedy step (``prediction_weight``) from the mean of both
    surrogates' predicted relative scores: the one that reads the family probe gaps and the
    one without them that makes the first pick (the default uses the first only)."""

    def _greedy_rows(self, predicted: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w = self.prediction_weight_
        if not w:
            return self.relative_, weights
        other = self._predicted(self.first_surrogate_, self._query)
        own = (self.surrogate_.relative(predicted) + self.first_surrogate_.relative(other)) / 2
        own = np.clip(np.nan_to_num(own, nan=-1.0), -1.0, 1.0)
        return np.vstack([self.relative_, own]), np.append((1.0 - w) * weights, w)


class HedgeAfterSecond(SurrogatePortfolioRecommender):
    """The probe hedge after the greedy second pick instead of right after the first, so that
    the pick that best complements the first keeps its place (the hedge's losses at k = 5
    were picks the greedy order had chosen)."""

    def hedge_picks(self, query: Query, scores: np.ndarray, weights: np.ndarray, first: int,
                    allowed: np.ndarray) -> list[int]:
        gain = weights @ np.maximum(scores[:, allowed], scores[:, first][:, None])
        gain[allowed == first] = -np.inf
        second = int(allowed[int(np.argmax(gain))])
        reached = scores.copy()  # the hedges start from the best of both picks
        reached[:, first] = np.maximum(scores[:, first], scores[:, second])
        return [second, *super().hedge_picks(query, reached, weights, first, allowed[allowed != second])]


class SizeScaledHedge(SurrogatePortfolioRecommender):
    """The probe hedge's distance scaled by the probes' noise: a 3-fold score on ``n`` rows
    (at most the probes' 1,000) varies about as ``1 / sqrt(n)``, so ``probe_hedge`` holds at
    ``rows`` rows and widens below, narrows above."""

    rows = 300.0

    def hedge_picks(self, query: Query, scores: np.ndarray, weights: np.ndarray, first: int,
                    allowed: np.ndarray) -> list[int]:
        base = self.probe_hedge_
        n = float(np.exp(query.metafeatures.get("log_nr_inst") or np.log(self.rows)))
        if base is not None:
            self.probe_hedge_ = base * float(np.sqrt(self.rows / min(n, 1000.0)))
        try:
            return super().hedge_picks(query, scores, weights, first, allowed)
        finally:
            self.probe_hedge_ = base


class ProbeKernelWeights(_SeesTheQuery):
    """The profile weights times a kernel on how alike the query's probes are to each training
    dataset's, read as gaps to the table's best probe (``exp(-mean |gap difference| / sigma)``
    over the probes both have; 1 where they share none): a table's probes are a small
    performance profile measured on the table itself, not predicted."""

    sigma = 0.02

    def _fit(self, meta: MetaData) -> None:
        super()._fit(meta)
        frames = [meta.metafeatures] + ([meta.auxiliary.metafeatures] if meta.auxiliary is not None else [])
        table = pd.concat(frames)
        table = table[~table.index.duplicated()].reindex(index=self.dataset_ids_, columns=list(PROBES))
        probes = table.to_numpy(dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.train_gaps_ = probes - np.nanmax(probes, axis=1, keepdims=True)

    def weights_for(self, profile: np.ndarray) -> np.ndarray:
        w = super().weights_for(profile)
        query = getattr(self, "_query", None)
        if query is None:
            return w
        q = np.array([np.nan if (v := query.metafeatures.get(p)) is None else v for p in PROBES], dtype=float)
        if np.isnan(q).all():
            return w
        gap = q - np.nanmax(q)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            d = np.nanmean(np.abs(self.train_gaps_ - gap), axis=1)
        kernel = np.where(np.isnan(d), 1.0, np.exp(-np.nan_to_num(d) / self.sigma))
        w = w * kernel
        return w / w.sum() if w.sum() > 0 else super().weights_for(profile)


#: name -> (surrogate seed -> unfitted recommender), for comparing ideas with the default.
VARIANTS: dict[str, Callable[[int], SurrogatePortfolioRecommender]] = {
    "default": lambda s: _default(s),
    "no prediction row": lambda s: SurrogatePortfolioRecommender(
        prediction_weight=0.0, hedges=0, surrogate=SharedSurrogate(random_state=s)),
    "top-weighted Spearman m=30": lambda s: TopWeightedSpearman(surrogate=SharedSurrogate(random_state=s)),
    "swap search k=3": lambda s: type("SwapSearch3", (SwapSearch,), {"k": 3})(
        surrogate=SharedSurrogate(random_state=s)),
    "swap search k=5": lambda s: SwapSearch(surrogate=SharedSurrogate(random_state=s)),
    "prediction row from both surrogates": lambda s: BothSurrogatesRow(
        surrogate=SharedSurrogate(random_state=s)),
}
# the probe hedge (the default: 0.005 and 2) with other distances and counts
for _delta, _hedges in ((0.01, 1), (0.01, 2), (0.01, 4), (0.003, 2), (0.03, 2), (0.005, 2), (0.003, 1),
                       (0.001, 2)):
    VARIANTS[f"probe hedge delta={_delta} hedges={_hedges}"] = (
        lambda s, d=_delta, h=_hedges: SurrogatePortfolioRecommender(
            probe_hedge={"roc_auc": d, "rmse": d}, hedges=h, surrogate=SharedSurrogate(random_state=s)))
# the same hedge for log loss (multiclass tables are probed with one-against-the-rest
# ROC AUC, the seed's meta-features have them; the default hedges only ROC AUC and RMSE)
for _delta in (0.003, 0.005, 0.01, 0.02):
    VARIANTS[f"log-loss probe hedge delta={_delta}"] = (
        lambda s, d=_delta: SurrogatePortfolioRecommender(
            probe_hedge={"roc_auc": 0.005, "rmse": 0.005, "log_loss": d},
            surrogate=SharedSurrogate(random_state=s)))
# probes of hyperparameter regimes (bench/regime_probes.py; need --extra on a seed without them)
VARIANTS["no regime probes"] = lambda s: SurrogatePortfolioRecommender(
    regime_choice={}, surrogate=SharedSurrogate(random_state=s, regime_metrics=()))
VARIANTS["regime probes and contrasts as features"] = lambda s: _default(
    s, features=DEFAULT_FEATURES + REGIME_FEATURES)
VARIANTS["regime contrasts as features"] = lambda s: _default(
    s, features=DEFAULT_FEATURES + tuple(REGIME_CONTRASTS))
# forest regime probes (extra trees strongly randomised and smoothed against greedy
# and unsmoothed, and their difference; need --extra with them)
FOREST_FEATURES = ("rp_forest_smooth", "rp_forest_greedy", "rc_forest_smooth")
VARIANTS["forest regime probes as features"] = lambda s: _default(
    s, features=DEFAULT_FEATURES + FOREST_FEATURES)
VARIANTS["regime and forest regime probes as features"] = lambda s: _default(
    s, features=DEFAULT_FEATURES + REGIME_FEATURES + FOREST_FEATURES)
# each pick's configuration re-chosen within its family by the regime probes (the default for
# ROC AUC and RMSE; the forest probes need --extra on a seed of meta-feature version 3 or older)
VARIANTS["no regime choice"] = lambda s: SurrogatePortfolioRecommender(
    regime_choice={}, surrogate=SharedSurrogate(random_state=s))
for _sigma in (0.01, 0.02, 0.05):
    VARIANTS[f"regime choice sigma={_sigma}"] = lambda s, g=_sigma: SurrogatePortfolioRecommender(
        regime_choice={"roc_auc": g, "rmse": g, "log_loss": g}, surrogate=SharedSurrogate(random_state=s))
for _rows in (100, 300, 1000):
    VARIANTS[f"size-scaled probe hedge rows={_rows}"] = lambda s, r=_rows: type(
        "SizeScaled", (SizeScaledHedge,), {"rows": float(r)})(surrogate=SharedSurrogate(random_state=s))
VARIANTS["no probe hedge"] = lambda s: SurrogatePortfolioRecommender(
    regime_choice={}, hedges=0, surrogate=SharedSurrogate(random_state=s))
VARIANTS["probe hedge after the greedy second pick"] = lambda s: HedgeAfterSecond(
    surrogate=SharedSurrogate(random_state=s))
# the profile weights times a kernel on the probes' gaps to the best probe
for _sigma in (0.01, 0.02, 0.05, 0.1):
    VARIANTS[f"probe kernel weights sigma={_sigma}"] = lambda s, g=_sigma: type(
        "ProbeKernel", (ProbeKernelWeights,), {"sigma": g})(surrogate=SharedSurrogate(random_state=s))
# RMSE's family probe gaps and prediction row (the default), and without them
_SESSION_22 = {"roc_auc": 0.2}
VARIANTS["no RMSE family probe gaps, no RMSE prediction row"] = (
    lambda s: SurrogatePortfolioRecommender(regime_choice={}, prediction_weight=_SESSION_22, hedges=0,
                                            surrogate=SharedSurrogate(random_state=s,
                                                                      family_probe_metrics=("roc_auc",))))
VARIANTS["RMSE family probe gaps without the RMSE prediction row"] = (
    lambda s: SurrogatePortfolioRecommender(prediction_weight=_SESSION_22, hedges=0,
                                            surrogate=SharedSurrogate(random_state=s)))
VARIANTS["RMSE prediction row 0.1"] = lambda s: SurrogatePortfolioRecommender(
    prediction_weight={"roc_auc": 0.2, "rmse": 0.1}, hedges=0, surrogate=SharedSurrogate(random_state=s))
for _tau in (5, 7, 15, 20):
    VARIANTS[f"tau={_tau}"] = lambda s, t=_tau: SurrogatePortfolioRecommender(
        tau=t, surrogate=SharedSurrogate(random_state=s))
for _name, _params in {
    "surrogate temperature=1": {"temperature": 1.0},
    "surrogate temperature=1.5": {"temperature": 1.5},
    "surrogate num_leaves=15": {"num_leaves": 15},
    "surrogate num_leaves=63": {"num_leaves": 63},
    "surrogate n_estimators=150": {"n_estimators": 150},
    "surrogate n_estimators=600": {"n_estimators": 600},
    "surrogate learning_rate=0.025, n_estimators=600": {"learning_rate": 0.025, "n_estimators": 600},
    "surrogate n_bags=10": {"n_bags": 10},
}.items():
    VARIANTS[_name] = lambda s, p=_params: _default(s, **p)


def load_views(cache: Path, metric: str, store: str | None, seed: str) -> tuple:
    """(views, held-out datasets, same-table relations, second derived split) of the group
    of ``metric``, from ``cache`` or computed from the seed (and cached, every group).

    Raises:
        SystemExit: no seed file at ``seed`` (without ``store``), or the seed graph has no
            group of that metric.
    """
    if store:
        key = str(Path(store).resolve())
    else:
        if not Path(seed).is_file():
            raise SystemExit(f"No seed file at {seed}: give --seed FILE or --store STORE.")
        st = Path(seed).stat()
        key = f"{Path(seed).resolve()}|{st.st_size}|{st.st_mtime_ns}"
    cache = cache / hashlib.sha256(key.encode()).hexdigest()[:12]
    path = cache / f"{metric}.pkl"
    if not path.exists():
        graph = open_bench_graph(store, seed)
        related = same_table(feature_columns(graph))
        cache.mkdir(parents=True, exist_ok=True)
        for task_type, m, holdout in groups(graph):
            meta = group_views(graph, task_type, m, normalisation="rank", coverage=0.95)
            state = (meta, [d for d in holdout if d in meta.datasets], related,
                     derived_by_later_splits(meta, 1))
            (cache / f"{m}.pkl").write_bytes(pickle.dumps(state))
    if not path.exists():
        raise SystemExit(f"No group with metric {metric!r} in the seed graph.")
    return pickle.loads(path.read_bytes())


_STATE: tuple = ()


def _one(dataset: str) -> list[dict]:
    meta, related, second, names, seeds, flaml, metric = _STATE
    train = meta.without(dataset, *related.get(dataset, [])).drop(second)
    truth = normalised_against_median(meta, dataset)
    query = Query(metafeatures=meta.metafeatures.loc[dataset].to_dict(),
                  embedding=meta.embeddings.get(dataset))
    hgb = make_configuration(default_configuration("hist_gradient_boosting")).id
    entry = flaml.get(dataset, {})
    fl = (flaml_normalised(meta, dataset, entry["score"])
          if "score" in entry and entry.get("metric") == metric else None)
    rows = []
    for seed in seeds:
        for name in names:
            ranked = (VARIANTS[name](seed).fit(train).score(query).reindex(truth.index).dropna()
                      .sort_values(ascending=False, kind="stable").index.tolist())
            rows.append({"variant": name, "seed": seed, "dataset": dataset,
                         **{f"best@{k}": float(truth[ranked[:k]].max()) for k in KS},
                         ">= HGB default": float(truth[ranked[0]] >= truth[hgb] - 1e-12)
                         if hgb in truth.index else np.nan,
                         ">= FLAML zero-shot": float(truth[ranked[0]] >= fl - 1e-12)
                         if fl is not None else np.nan})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--metric", choices=("log_loss", "roc_auc", "rmse"), default="roc_auc")
    ap.add_argument("--variants", default="default", help="names separated by '|' (--list)")
    ap.add_argument("--seeds", default="0", help="first surrogate seed of each bag, e.g. 0,5,10,15")
    ap.add_argument("--store", default=None, help="an Oxigraph store of the seed (read-only)")
    ap.add_argument("--seed", default="data/seed.trig.xz", help="else this seed, loaded in memory")
    ap.add_argument("--views", default=".metakg-build/lodo-views", help="cache of the groups' views")
    ap.add_argument("--flaml", default="bench/results/flaml_zeroshot.json")
    ap.add_argument("--extra", default=None,
                    help="JSON lines of more meta-features per dataset (bench/regime_probes.py)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=".metakg-build/lodo_variants.csv", help="CSV appended to")
    ap.add_argument("--list", action="store_true", help="print the variants' names and stop")
    args = ap.parse_args()
    if args.list:
        print("\n".join(VARIANTS))
        return
    names = args.variants.split("|")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"Unknown variant(s) {unknown}; `--list` prints the known ones.")
    warnings.filterwarnings("ignore")
    meta, holdout, related, second = load_views(Path(args.views), args.metric, args.store, args.seed)
    flaml = json.loads(Path(args.flaml).read_text()) if Path(args.flaml).exists() else {}
    if args.extra:
        rows = [json.loads(line) for line in Path(args.extra).read_text().splitlines()]
        extra = pd.DataFrame(rows).drop(columns="name").set_index("dataset").astype(float)
        merged = meta.metafeatures.drop(columns=extra.columns, errors="ignore").join(extra)
        print(f"--extra: {extra.shape[1]} meta-features on "
              f"{merged[extra.columns].notna().any(axis=1).sum()} of {len(merged)} datasets")
        meta.metafeatures = merged
    global _STATE
    _STATE = (meta, related, second, names, [int(s) for s in args.seeds.split(",")], flaml, args.metric)
    t0 = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        parts = pool.map(_one, holdout, chunksize=1)
    table = pd.DataFrame([r for part in parts for r in part])
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, mode="a", header=not out.exists(), index=False)
    print(f"{args.metric}: {len(holdout)} held out, {time.perf_counter() - t0:.0f} s; means:")
    columns = [f"best@{k}" for k in KS] + [">= HGB default", ">= FLAML zero-shot"]
    print(table.groupby(["variant", "seed"], sort=False)[columns].mean().round(3).to_string())


if __name__ == "__main__":
    main()
