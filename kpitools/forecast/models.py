"""Candidate forecasting models behind one small interface.

A `Candidate` is a named recipe: ``candidate.fit(y)`` takes a gap-free float
array and returns a `Fitted` with

- ``name``  e.g. "ETS(M,Ad,M)", "SARIMA(0,1,1)(0,1,1)12 log";
- ``aicc``  the small-sample AIC, used to choose within a family
  (NaN where a family has one member and no likelihood);
- ``predict(h, levels)`` -> DataFrame with ``mean, lo_<L>, hi_<L>`` per level.

Families (all statsmodels except the naive ones):

- ``snaive``: ŷ_{n+k} = y_{n+k-m·(⌊(k-1)/m⌋+1)}; sd_k = σ·√(⌊(k-1)/m⌋+1),
  σ² = mean of squared seasonal differences (m = 1 is the random walk, sd_k = σ√k).
- ``ets``: ETSModel, error A/M × trend N/A/Ad × season N/A/M; multiplicative
  parts only for strictly positive data and never additive error with
  multiplicative season (numerically unstable, as in R's forecast::ets).
  Intervals are analytic where statsmodels has them, simulated otherwise.
- ``sarima``: SARIMAX with d = 1 (and D = 1 when seasonal) and a few (p, q),
  (P, Q); fitted to log(y) when y > 0 (sales grow and swing in proportion),
  with the AICc moved to y's scale by the Jacobian, AICc_y = AICc_log + 2·Σ log y_t.
  Log forecasts are back-transformed: mean = exp(μ + s²/2), quantiles exp(μ ± z·s).
- ``theta``: the Theta method (Hyndman & Billah), classical decomposition for
  the season; intervals of SES with drift on the deseasonalised series,
  reseasonalised (ThetaFit).

model="auto" chooses among ETS (the nine members whose error type matches the
season's), Theta and their mean (AUTO_FAMILIES, select.py); the other families
and members are there to be asked for by name.

Every fit works on y divided by its mean absolute value (better conditioned
optimisation; AICc of every member shifts by the same constant) and silences
statsmodels' convergence chatter so notebooks stay clean.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy.signal import lfilter
from scipy.stats import norm
from statsmodels.tsa.exponential_smoothing.ets import ETSModel
from statsmodels.tsa.forecasting.theta import ThetaModel
from statsmodels.tsa.statespace.sarimax import SARIMAX

SEED = 0  # simulated intervals are reproducible


class Fitted(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def aicc(self) -> float: ...

    def predict(self, h: int, levels: Sequence[float]) -> pd.DataFrame: ...


@dataclass(frozen=True)
class Candidate:
    family: str
    name: str
    fit: Callable[[np.ndarray], Fitted] = field(repr=False, compare=False)


@contextmanager
def quiet() -> Iterator[None]:
    """Silence statsmodels' convergence and numerical warnings inside a fit."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def z(level: float) -> float:
    """Two-sided normal quantile: z(95) = 1.96."""
    return float(norm.ppf(0.5 + level / 200))


def interval_frame(mean: np.ndarray, bounds: dict[float, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    cols: dict[str, np.ndarray] = {"mean": np.asarray(mean, float)}
    for level, (lo, hi) in bounds.items():
        cols[f"lo_{level:g}"] = np.asarray(lo, float)
        cols[f"hi_{level:g}"] = np.asarray(hi, float)
    return pd.DataFrame(cols)


def normal_frame(mean: np.ndarray, sd: np.ndarray, levels: Sequence[float]) -> pd.DataFrame:
    return interval_frame(mean, {lv: (mean - z(lv) * sd, mean + z(lv) * sd) for lv in levels})


def _aicc(llf: float, nobs: float, k: float) -> float:
    """AICc = -2·llf + 2k + 2k(k+1)/(n-k-1); +inf when n <= k + 1 (too few points)."""
    if not np.isfinite(llf) or nobs - k - 1 <= 0:
        return float("inf")
    return -2 * llf + 2 * k + 2 * k * (k + 1) / (nobs - k - 1)


def _scale(y: np.ndarray) -> float:
    s = float(np.mean(np.abs(y)))
    return s if s > 0 else 1.0


# --- seasonal naive ---------------------------------------------------------

@dataclass
class NaiveFit:
    name: str
    last: np.ndarray  # the last season (or last value)
    sigma: float
    aicc: float = float("nan")

    def predict(self, h: int, levels: Sequence[float]) -> pd.DataFrame:
        m = len(self.last)
        mean = np.resize(self.last, h)  # repeats the last season
        sd = self.sigma * np.sqrt(np.arange(h) // m + 1)
        return normal_frame(mean, sd, levels)


def fit_snaive(y: np.ndarray, m: int) -> NaiveFit:
    m = m if len(y) > m else 1
    diffs = y[m:] - y[:-m]
    sigma = float(np.sqrt(np.mean(diffs**2))) if len(diffs) else 0.0
    return NaiveFit("Seasonal naive" if m > 1 else "Naive", y[-m:].copy(), sigma)


# --- statsmodels wrappers ---------------------------------------------------

@dataclass
class ETSFit:
    """Holds the model and its parameters; the full results object (costly:
    it smooths and wraps everything) is built only when forecasting."""

    name: str
    model: Any
    params: np.ndarray
    scale: float
    aicc: float
    _res: Any = None

    @property
    def res(self) -> Any:
        if self._res is None:
            with quiet():
                self._res = self.model.smooth(self.params)
        return self._res

    def predict(self, h: int, levels: Sequence[float]) -> pd.DataFrame:
        if not levels:  # point forecasts only (back-tests): skip the results object
            return interval_frame(self.point_forecast(h), {})
        res, n = self.res, int(self.model.nobs)
        c = self.df_factor()
        with quiet():
            pred = res.get_prediction(n, n + h - 1, rng=np.random.default_rng(SEED))
            mean = np.asarray(pred.predicted_mean) * self.scale
            bounds = {}
            for lv in levels:
                f = pred.summary_frame(alpha=1 - lv / 100)
                lo, hi = f["pi_lower"].to_numpy() * self.scale, f["pi_upper"].to_numpy() * self.scale
                bounds[lv] = (mean - c * (mean - lo), mean + c * (hi - mean))
        return interval_frame(mean, bounds)

    def df_factor(self) -> float:
        """√(n / (n − k)): statsmodels' σ² is SSE/n; the intervals use SSE/(n − k),
        k = smoothing (and damping) parameters + initial states (1 level, 1 trend,
        m − 1 seasonal) whether estimated or set by the heuristic, as R's
        forecast::ets counts them. SSE/n ignores the fitted parameters and made
        the intervals too narrow on short series (4-5 years monthly: 13-16 of
        48-60 points are initial states)."""
        model = self.model
        k = model.k_params  # free parameters, initial states included when estimated
        if model.initialization_method == "heuristic":
            k += 1 + int(model.has_trend) + (model.seasonal_periods - 1 if model.has_seasonal else 0)
        n = int(model.nobs)
        return float(np.sqrt(n / (n - k))) if n - k >= 1 else 1.0


    def point_forecast(self, h: int) -> np.ndarray:
        """ŷ_{n+k} = (l_n + (φ + … + φ^k)·b_n) +/× s_{n+k−m(⌊(k−1)/m⌋+1)} from the
        last smoothed states: what res.forecast(h) returns (tests compare them),
        without building the results object, which costs ~20x more than the
        smoothing (it dominated back-test refits)."""
        model, params = self.model, np.asarray(self.params)
        with quiet():
            states = np.asarray(model._smooth(params)[1])
        k = np.arange(1, h + 1)
        mean = np.full(h, states[-1, 0])
        if model.has_trend:
            phi = model._internal_params(params)[3]  # 1 when not damped
            mean = mean + np.cumsum(phi ** k) * states[-1, 1]
        if model.has_seasonal:
            season, m = states[:, model._seasonal_index], model.seasonal_periods
            s = season[len(season) - 1 + k - m * ((k - 1) // m + 1)]
            mean = mean * s if model.seasonal == "mul" else mean + s
        return mean * self.scale


def ets_name(error: str, trend: str | None, damped: bool, seasonal: str | None) -> str:
    t = "N" if trend is None else ("Ad" if damped else "A")
    return f"ETS({error[0].upper()},{t},{'N' if seasonal is None else seasonal[0].upper()})"


def fit_ets(y: np.ndarray, m: int, error: str, trend: str | None, damped: bool,
            seasonal: str | None, init: str = "heuristic") -> ETSFit:
    s = _scale(y)
    with quiet():
        model = ETSModel(pd.Series(y / s), error=error, trend=trend, damped_trend=damped,
                         seasonal=seasonal, seasonal_periods=m if seasonal else None,
                         initialization_method=init)
        params = model.fit(disp=False, return_params=True)
        llf = model.loglike(params)
    k = model.k_params + 1  # as ETSResults.df_model: free parameters + σ²
    return ETSFit(ets_name(error, trend, damped, seasonal), model, params, s,
                  _aicc(llf, model.nobs, k))


@dataclass
class SARIMAFit:
    name: str
    res: Any
    scale: float
    log: bool
    aicc: float

    def predict(self, h: int, levels: Sequence[float]) -> pd.DataFrame:
        with quiet():
            f = self.res.get_forecast(h)
            mu, se = np.asarray(f.predicted_mean), np.asarray(f.se_mean)
        if not self.log:
            return normal_frame(mu * self.scale, se * self.scale, levels)
        bounds = {lv: (np.exp(mu - z(lv) * se) * self.scale, np.exp(mu + z(lv) * se) * self.scale)
                  for lv in levels}
        return interval_frame(np.exp(mu + se**2 / 2) * self.scale, bounds)


def fit_sarima(y: np.ndarray, m: int, order: tuple[int, int, int],
               seasonal_order: tuple[int, int, int], log: bool = False) -> SARIMAFit:
    s = _scale(y)
    x = np.log(y / s) if log else y / s
    sorder = (*seasonal_order, m) if m > 1 and any(seasonal_order) else (0, 0, 0, 0)
    with quiet():
        res = SARIMAX(x, order=order, seasonal_order=sorder).fit(disp=False)
    aicc = _aicc(res.llf, res.nobs_effective, res.df_model)
    if log:  # density of y = density of log y / y
        aicc += 2 * float(np.sum(x[res.loglikelihood_burn:]))
    return SARIMAFit(_sarima_name(order, seasonal_order, sorder[3], log), res, s, log, aicc)


@dataclass
class ThetaFit:
    """The Theta method as SES with drift (Hyndman & Billah 2003) on the
    deseasonalised series x. statsmodels' ThetaModel fits it and gives the
    point forecast x̂_{n+k} = ℓ_n + b·(k − 1 + 1/α − (1−α)^n/α), b = b0/2 (half
    the slope of the least-squares line), reseasonalised as s_{n+k}·x̂
    (multiplicative decomposition, y > 0) or s_{n+k} + x̂ (additive).

    Intervals: the SES-with-drift (ETS(A,N,N) + drift) forecast variance on x,
    reseasonalised like the point forecast, as forecast::thetaf does:
    x̂_{n+k} ± z·sd_k, sd_k = σ·√(1 + (k−1)·α²), σ² = sum of squared in-sample
    one-step errors of that same forecast on x / (their number − 2). With a multiplicative
    decomposition the errors are taken relative to the one-step forecast and
    sd_k = |x̂_{n+k}|·σ_rel·√(1 + (k−1)·α²): noise in proportion to the level,
    the error type the multiplicative ETS members use for the same data.
    (statsmodels' own intervals take σ² from an extra ARIMA(0,1,1) fit to the
    still-seasonal series, use 1 + (k−1)(1 + (α−1)²) as variance factor and
    do not reseasonalise the spread: far too wide, and slower.)
    """

    name: str
    res: Any
    scale: float
    sigma: float  # of the one-step errors on x (y / scale units), or relative ones
    relative: bool  # sigma is relative to the forecast
    aicc: float = float("nan")

    def components(self, h: int) -> tuple[np.ndarray, np.ndarray]:
        """x̂_{n+1..n+h} (theta = 2) and the seasonal factors (or terms)."""
        with quiet():
            comp = self.res.forecast_components(h)
        return 0.5 * comp["trend"].to_numpy() + comp["ses"].to_numpy(), comp["seasonal"].to_numpy()

    def predict(self, h: int, levels: Sequence[float]) -> pd.DataFrame:
        x, season = self.components(h)
        mul = self.res.model.method.startswith("mul")
        sd = self.sigma * np.sqrt(1 + np.arange(h) * float(self.res.params["alpha"]) ** 2)
        if self.relative:
            sd = sd * np.abs(x)

        def reseason(v: np.ndarray) -> np.ndarray:
            return (v * season if mul else v + season) * self.scale

        bounds = {lv: (reseason(x - z(lv) * sd), reseason(x + z(lv) * sd)) for lv in levels}
        return interval_frame(reseason(x), bounds)


def theta_errors(x: np.ndarray, alpha: float, b0: float) -> tuple[np.ndarray, np.ndarray]:
    """In-sample one-step forecasts f_t and errors x_t − f_t (t = 1..n−1) of SES
    with drift b = b0/2, started as statsmodels starts it (ℓ_0 = x_0):
    f_t = ℓ_{t−1} + b·(1 − (1−α)^t)/α (b·t at α = 0), the one-step case of
    the point forecast."""
    level = lfilter([alpha], [1.0, alpha - 1.0], x, zi=[(1.0 - alpha) * x[0]])[0]
    t = np.arange(1, len(x))
    drift = (1 - (1 - alpha) ** t) / alpha if alpha > 1e-12 else t.astype(float)
    f = level[:-1] + 0.5 * b0 * drift
    return f, x[1:] - f


def fit_theta(y: np.ndarray, m: int) -> ThetaFit:
    s = _scale(y)
    seasonal = m > 1 and len(y) >= 2 * m
    with quiet():
        res = ThetaModel(pd.Series(y / s), period=max(m, 1), deseasonalize=seasonal).fit()
    x = y / s
    mul = res.model.method.startswith("mul")
    if len(res._seasonal):  # the deseasonalised series the SES was fitted to
        factors = np.resize(res._seasonal, len(y))
        x = x / factors if mul else x - factors
    f, e = theta_errors(x, float(res.params["alpha"]), float(res.params["b0"]))
    relative = mul and bool(np.all(f > 0))
    if relative:
        e = e / f
    # σ² = SSE/(errors − 2): α and b estimated (the decomposition taken as given, as thetaf does)
    sigma = float(np.sqrt(np.sum(e**2) / (len(e) - 2))) if len(e) > 2 else float(np.sqrt(np.mean(e**2)))
    return ThetaFit("Theta", res, s, sigma, relative)


# --- the candidate set ------------------------------------------------------

FAMILIES = ("snaive", "ets", "sarima", "theta")  # what model= can ask for
# model="auto": ETS, Theta and their mean, by back-test (select.py). On the 8
# real series of bench/forecast.py SARIMA was never the best family and, when
# the back-test picked it or averaged it in, forecasts got worse; it also cost
# ~20x an ETS fit. Seasonal naive, as a candidate, won noisy back-tests on
# synthetic panels and lost the hold-out: it stays the benchmark, not a choice.
AUTO_FAMILIES = ("ets", "theta")


def candidates(y: np.ndarray, m: int, families: Sequence[str] = FAMILIES,
               fast: bool = False) -> list[Candidate]:
    """The candidates that make sense for y.

    Seasonal members need m > 1 and at least two full seasons; multiplicative
    ones need y > 0. fast=True (model="auto") keeps only the ETS members whose
    error type matches the season's (additive without a season): up to nine
    instead of fifteen, 40% less time, the same choice on the real benchmark
    series (bench/forecast.py).
    """
    n = len(y)
    seasonal = m > 1 and n >= 2 * m
    positive = bool(np.all(y > 0))
    out: list[Candidate] = []

    if "snaive" in families:
        out.append(Candidate("snaive", "Seasonal naive" if seasonal else "Naive",
                             partial(fit_snaive, m=m if seasonal else 1)))

    if "ets" in families and n >= 4:
        # heuristic initial states (Hyndman et al. 2008, §2.6) make fits ~10x
        # faster than estimating them; they need enough data for every member.
        need = 10 + 2 * (m // 2) if seasonal else 10
        init = "heuristic" if n >= max(need, 2 * m if seasonal else 0) else "estimated"
        errors = ("add", "mul") if positive else ("add",)
        seasons = (None,) + ((("add", "mul") if positive else ("add",)) if seasonal else ())
        trends = ((None, False), ("add", False), ("add", True))
        for err in errors:
            for trend, damped in trends:
                for season in seasons:
                    if err == "add" and season == "mul":
                        continue
                    name = ets_name(err, trend, damped, season)
                    if fast and err != (season or "add"):
                        continue  # fast: error type = season type (additive without a season)
                    if n < 10 and trend is not None and damped:
                        continue  # too many parameters for so few points
                    out.append(Candidate("ets", name,
                                         partial(fit_ets, m=m, error=err, trend=trend,
                                                 damped=damped, seasonal=season, init=init)))

    if "sarima" in families and n >= 8:
        if seasonal:
            grid = [((0, 1, 1), (0, 1, 1)), ((1, 1, 0), (0, 1, 1)),
                    ((1, 1, 1), (0, 1, 1)), ((0, 1, 1), (1, 1, 0))]
        else:
            grid = [((0, 1, 1), (0, 0, 0)), ((1, 1, 0), (0, 0, 0)), ((1, 1, 1), (0, 0, 0))]
        for log in (True,) if positive else (False,):  # sales: log (multiplicative season) when it can
            for order, sorder in grid:
                fit = partial(fit_sarima, m=m, order=order, seasonal_order=sorder, log=log)
                out.append(Candidate("sarima", _sarima_name(order, sorder, m, log), fit))

    if "theta" in families and n >= 4:
        out.append(Candidate("theta", "Theta", partial(fit_theta, m=m)))
    return out


def _sarima_name(order: tuple, sorder: tuple, m: int, log: bool) -> str:
    name = f"SARIMA{order}" + (f"{sorder}{m}" if any(sorder) else "")
    return name.replace(" ", "") + (" log" if log else "")


