"""Automatic model choice: AICc within a family, back-test error across families.

Information criteria compare models fitted to the same data with the same
likelihood, so they choose well inside a family (which ETS, which SARIMA) but
not across families (the naive and Theta models have no comparable
likelihood). Across families, each family's AICc winner is refitted at a few
rolling origins and the one with the lowest mean MASE over those folds wins:

    origin_i = n − h − i·step,  i = 0..folds−1,  step = ⌈h/2⌉ by default
               (only origins that leave two seasons + 2 points to train on)
    score    = mean_i  MAE_i / scale_i,  scale_i = mean |x_t − x_{t−m}| on y[:origin_i]

One more contender is the equal-weight combination of the ETS, SARIMA and
Theta winners present (model="auto": ETS and Theta; mean of their forecasts;
bounds averaged as quantiles), scored on the same folds from the same fold
forecasts, so it costs no extra fit.

Cost, for model="auto" on a 5-year monthly series: nine ETS fits for the
AICc choice, then one ETS and one Theta refit per fold (point forecasts only,
from the smoothed states); intervals only for the winner.

The member is chosen once on the full data and only refitted at the origins
(re-running the AICc choice per fold would multiply the cost by the family size).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .metrics import mase_scale
from .models import Candidate, Fitted, fit_snaive

FAMILY_ORDER = ("snaive", "theta", "ets", "sarima", "combo")  # ties go to the simpler family
COMBINED = ("ets", "sarima", "theta")  # families averaged by the combination candidate


@dataclass
class Selection:
    fit: Fitted
    family: str
    scores: dict[str, float] = field(default_factory=dict)  # back-test MASE per family


def best_in_family(y: np.ndarray, cands: Sequence[Candidate]) -> tuple[Candidate, Fitted] | None:
    """The member with the lowest AICc that fits and forecasts finite numbers."""
    fitted: list[tuple[float, int, Candidate, Fitted]] = []
    for i, c in enumerate(cands):
        try:
            f = c.fit(y)
        except Exception:  # a member that cannot be fitted to this series is skipped
            continue
        aicc = f.aicc if np.isfinite(f.aicc) else (0.0 if len(cands) == 1 else np.inf)
        fitted.append((aicc, i, c, f))
    for _, _, c, f in sorted(fitted, key=lambda t: (t[0], t[1])):
        if _finite(f, 1):
            return c, f
    return None


def _finite(f: Fitted, h: int) -> bool:
    try:
        return bool(np.isfinite(f.predict(h, ()).to_numpy()).all())
    except Exception:
        return False


def origins(n: int, h: int, folds: int, step: int, min_train: int) -> list[int]:
    """Rolling-origin training lengths, latest first."""
    return [o for o in (n - h - i * step for i in range(folds)) if o >= min_train]


def min_train(m: int, seasonal: bool) -> int:
    return 2 * m + 2 if seasonal else 8


def fold_predictions(y: np.ndarray, cand: Candidate, h: int,
                     starts: Sequence[int]) -> list[np.ndarray] | None:
    """Point forecasts of `cand` refitted at each origin; None if it fails anywhere."""
    preds = []
    for o in starts:
        try:
            pred = cand.fit(y[:o]).predict(h, ()).loc[:, "mean"].to_numpy()
        except Exception:
            return None
        if not np.isfinite(pred).all():
            return None
        preds.append(pred)
    return preds


def mean_mase(y: np.ndarray, preds: list[np.ndarray], m: int, h: int, starts: Sequence[int]) -> float:
    out = []
    for o, pred in zip(starts, preds):
        scale = mase_scale(y[:o], m)
        scale = scale if scale > 0 else 1.0  # same constant for every family in this fold
        out.append(float(np.mean(np.abs(y[o:o + h] - pred))) / scale)
    return float(np.mean(out))


@dataclass
class ComboFit:
    """Equal-weight combination: the mean of the members' forecasts and of
    their interval bounds (averaging quantiles, "Vincentization"; Lichtendahl,
    Grushka-Cockayne & Winkler 2013). For normal members with sd s1, s2 the
    mean's error has sd √(s1² + s2² + 2ρ·s1·s2)/2 ≤ (s1 + s2)/2, so averaged
    bounds are the ρ = 1 (perfectly correlated errors) case: never narrower
    than the combination's own, and the members' errors are highly
    correlated in practice (bench/forecast.py: calibrated on the real series
    and the synthetic panel once each member's intervals are)."""

    fits: list[Fitted]
    aicc: float = float("nan")

    @property
    def name(self) -> str:
        return "Mean of " + " + ".join(f.name for f in self.fits)

    def predict(self, h: int, levels: Sequence[float]) -> pd.DataFrame:
        return sum(f.predict(h, levels) for f in self.fits) / len(self.fits)


def select(y: np.ndarray, m: int, h: int, cands: Sequence[Candidate],
           folds: int = 3, step: int | None = None) -> Selection:
    """Choose among `cands` and the combination of the model families (see
    module docstring); falls back to the naive forecast."""
    winners: dict[str, tuple[Candidate, Fitted]] = {}
    for family in dict.fromkeys(c.family for c in cands):
        best = best_in_family(y, [c for c in cands if c.family == family])
        if best is not None:
            winners[family] = best
    if not winners:
        return Selection(fit_snaive(y, 1), "snaive")
    if len(winners) == 1:
        family, (_, f) = next(iter(winners.items()))
        return Selection(f, family)

    seasonal = m > 1 and len(y) >= 2 * m
    step = step or max(1, -(-h // 2))
    starts = origins(len(y), h, folds, step, min_train(m, seasonal))
    if not starts:  # too short to back-test: trust the richest family available
        for family in ("ets", "theta", "sarima", "snaive"):
            if family in winners:
                return Selection(winners[family][1], family)

    preds: dict[str, list[np.ndarray]] = {}
    for fam, (c, _) in winners.items():
        p = fold_predictions(y, c, h, starts)
        if p is not None:  # a family that fails at some origin drops out
            preds[fam] = p
    fits: dict[str, Fitted] = {fam: winners[fam][1] for fam in preds}
    members = [fam for fam in COMBINED if fam in preds]
    if len(members) >= 2:
        preds["combo"] = [np.mean(fold, axis=0) for fold in zip(*(preds[f] for f in members))]
        fits["combo"] = ComboFit([fits[f] for f in members])
    if not preds:
        return Selection(fit_snaive(y, 1), "snaive")
    scores = {fam: mean_mase(y, p, m, h, starts) for fam, p in preds.items()}
    rank = {f: i for i, f in enumerate(FAMILY_ORDER)}
    family = min(scores, key=lambda fam: (scores[fam], rank.get(fam, 99)))
    return Selection(fits[family], family, scores)
