"""The built-in sample dataset: "Acme Cloud", a made-up B2B SaaS company.

    from kpitools.data.sample import generate, sample, write_sample
    tables = generate(seed=0, months=36, scale="small", end="2026-10")  # dict of DataFrames
    ds = sample()                                # the same, as a (cached) Dataset
    write_sample("data/sample")                  # CSV/Parquet files + dataset.yml

Every canonical table is generated, consistently: leads move through the funnel
(MQL -> SQL -> opportunity) and the opportunity is a deal; won new-business
deals make customers; customers pay monthly (subscriptions), expand through
upsell and cross-sell deals, renew (annual plans), contract, churn and sometimes
come back; reps log calls, emails, meetings and demos; marketing spends per
campaign; targets are set per rep, team, region and company.

Deterministic: only `numpy.random.default_rng(seed)` is used, so the same
arguments give identical frames. Nothing happens after the end of the `end`
month (open deals are open, with null closed_at; `expected_close_at` of an open
deal is a forecast and may lie after it).

Built in so reports have something to find:
- seasonality: Q4 strong (December best), August weak; growth ~2.5 % a month;
- APAC: customer churn spikes in the last 3 months (churn_reason rows from the 4th-last
  month on, so customers lost, paying one month and not the next, spike in the last 3);
- one rep (the first of team "NA East") sells ~180 % of quota;
- "Starter Seats": many cheap units (highest quantity, lowest price);
- "Spring Launch": a 2-month campaign 12-13 months before the end that lifts
  new leads, deals and won revenue during its two months;
- one rep (the first of "EMEA South") logs no activity in one month (holiday);
- one rep (the first of "EMEA North") closes fast, but their customers churn more.

Acme starts selling in the first month of the data (there is no pipeline or
customer before it), so the first two or three months ramp up.

Scales (36 months): small (30 reps in 6 teams, ~6.7k deals, ~36k leads, ~75k
activities, ~1.2k customers; well under a second), medium (300 reps in 36 teams,
10x), large (2,400 reps in 240 teams, >= 1M deals, >= 5M activities; written as
Parquet). Vectorised numpy: Python loops run per month, per team or per plan year.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..clock import today
from ..files import atomic_write, atomic_write_text
from .dataset import Dataset
from .schema import TABLES
from .types import to_canonical

__all__ = ["generate", "sample", "write_sample", "SCALES", "STAGES", "NAME", "CURRENCY"]

NAME = "Acme Cloud (sample)"
CURRENCY = "USD"


@dataclass(frozen=True)
class Scale:
    reps: int  # sales reps (about 30 % of them are hired during the window)
    pods: int  # teams per base team (6 base teams)
    leads: float  # leads created in the end month, before campaign extras
    activities: float  # activities per rep per working day


SCALES: dict[str, Scale] = {
    "small": Scale(reps=30, pods=1, leads=1450, activities=3.6),
    "medium": Scale(reps=300, pods=6, leads=14500, activities=3.6),
    "large": Scale(reps=2400, pods=40, leads=225000, activities=3.6),
}

REGIONS = ("EMEA", "North America", "APAC", "LATAM")
# base team, region index, reps at small scale (30 in all)
BASE_TEAMS = (("EMEA North", 0, 6), ("EMEA South", 0, 5), ("NA East", 1, 6),
              ("NA West", 1, 6), ("APAC", 2, 4), ("LATAM", 3, 3))
STAGES = (("Prospecting", 1, 0.1), ("Qualification", 2, 0.2), ("Proposal", 3, 0.5), ("Negotiation", 4, 0.8))
STAGE_PROBABILITIES = {s: p for s, _, p in STAGES}
SEGMENTS = ("SMB", "Mid-market", "Enterprise")
SMB, MID, ENT = 0, 1, 2
SEGMENT_MIX = np.array([[0.55, 0.32, 0.13],   # EMEA
                        [0.50, 0.33, 0.17],   # North America
                        [0.65, 0.27, 0.08],   # APAC
                        [0.70, 0.24, 0.06]])  # LATAM
CHANNELS = ("cold_call", "cold_email", "meeting", "inbound", "referral", "web", "partner")
COLD_CALL, COLD_EMAIL, MEETING, INBOUND, REFERRAL, WEB, PARTNER = range(7)
CHANNEL_MIX = np.array([0.15, 0.20, 0.07, 0.20, 0.07, 0.24, 0.07])
SPRING_CHANNEL_MIX = np.array([0, 0.15, 0, 0.45, 0, 0.40, 0])
P_MQL = np.array([0.32, 0.26, 0.60, 0.62, 0.72, 0.45, 0.56])  # lead -> MQL, by channel
WIN_BY_CHANNEL = np.array([0.78, 0.72, 1.15, 1.08, 1.45, 0.95, 1.2])
SOURCES = ("Outbound SDR", "Purchased list", "Trade show", "Field event", "Webinar", "Content download",
           "Contact form", "Customer referral", "Employee referral", "Organic search", "Paid search",
           "Social", "Reseller", "Marketplace", "Rep network", "Account management")
SOURCE_MIX = np.zeros((7, len(SOURCES)))
for _ch, _mix in {COLD_CALL: {0: 0.7, 1: 0.3}, COLD_EMAIL: {0: 0.6, 1: 0.4}, MEETING: {2: 0.6, 3: 0.4},
                  INBOUND: {4: 0.35, 5: 0.4, 6: 0.25}, REFERRAL: {7: 0.8, 8: 0.2},
                  WEB: {9: 0.45, 10: 0.35, 11: 0.2}, PARTNER: {12: 0.6, 13: 0.4}}.items():
    for _s, _p in _mix.items():
        SOURCE_MIX[_ch, _s] = _p
REP_NETWORK, ACCOUNT_MANAGEMENT = 14, 15
CAMPAIGNS = ("Outbound Prospecting", "Events & Trade Shows", "Webinar Series", "Content Hub", "SEO & Content",
             "Paid Search", "Social Ads", "Customer Referral Program", "Partner Program", "Year-End Push",
             "Spring Launch", "Customer Expansion", "Renewals")
(OUTBOUND, EVENTS, WEBINARS, CONTENT, SEO, PAID, SOCIAL, REFERRALS, PARTNERS, YEAR_END, SPRING,
 EXPANSION, RENEWALS) = range(len(CAMPAIGNS))
# marketing cost per lead, by channel, and extra cost factor per campaign
COST_PER_LEAD = np.array([30.0, 12.0, 240.0, 95.0, 60.0, 75.0, 140.0])
CAMPAIGN_COST = np.ones(len(CAMPAIGNS))
CAMPAIGN_COST[[PAID, SOCIAL, YEAR_END]] = [1.4, 1.2, 1.3]
CAMPAIGN_COST[SPRING] = 2.0
# name, annual list price per unit, mean units (SMB, Mid-market, Enterprise), cost share
PRODUCTS = (
    ("Acme Core", 6000.0, (1.3, 3.0, 8.0), 0.18),
    ("Acme Analytics", 4800.0, (1.0, 2.5, 6.0), 0.22),
    ("Acme Security", 7200.0, (1.0, 2.0, 5.0), 0.20),
    ("Acme Integrations", 2400.0, (1.5, 3.0, 7.0), 0.25),
    ("Acme Enterprise Suite", 30000.0, (1.0, 1.0, 2.0), 0.15),
    ("Premium Support", 3000.0, (1.0, 2.0, 4.0), 0.45),
    ("Data Connectors", 2400.0, (2.0, 4.0, 9.0), 0.30),
    ("Starter Seats", 96.0, (30.0, 80.0, 200.0), 0.35),
)
STARTER = 7
PRICE = np.array([p[1] for p in PRODUCTS])
UNITS = np.array([p[2] for p in PRODUCTS])  # product x segment
COST_SHARE = np.array([p[3] for p in PRODUCTS])
PRODUCT_MIX = np.array([  # new business, by segment
    [0.30, 0.08, 0.06, 0.08, 0.00, 0.03, 0.05, 0.40],
    [0.32, 0.15, 0.14, 0.10, 0.06, 0.05, 0.08, 0.10],
    [0.25, 0.15, 0.17, 0.06, 0.25, 0.06, 0.06, 0.00],
])
SPRING_PRODUCT_MIX = np.array([0.40, 0.20, 0.0, 0.0, 0.0, 0.0, 0.0, 0.40])
ADD_ONS = np.array([1, 2, 3, 5, 6])  # cross-sell products
PLANS = ("Starter", "Team", "Business", "Enterprise")
LOST_REASONS = ("Price", "Competitor", "No budget", "No decision", "Timing", "Missing feature")
LOST_MIX = np.array([0.24, 0.22, 0.18, 0.16, 0.10, 0.10])
RENEWAL_LOST_MIX = np.array([0.30, 0.35, 0.20, 0.0, 0.0, 0.15])
DEAL_TYPES = ("new", "upsell", "cross_sell", "renewal")
NEW, UPSELL, CROSS_SELL, RENEWAL = range(4)
STATUSES = ("open", "won", "lost")
OPEN, WON, LOST = range(3)
SCORE_MIX = np.array([0.10, 0.20, 0.32, 0.24, 0.14])
SCORE_WIN = np.array([0.45, 0.75, 1.0, 1.25, 1.6])
# month-of-year effects (index 1..12): lead volume, and the chance that a deal closing then is won
LEAD_SEASON = np.array([0, 0.95, 1.0, 1.05, 1.0, 1.0, 0.96, 0.88, 0.72, 1.05, 1.10, 1.08, 0.92])
WIN_SEASON = np.array([0, 0.82, 0.95, 1.08, 0.92, 1.0, 1.08, 0.85, 0.60, 1.02, 1.15, 1.25, 1.55])
# share of won deals due in the first three weeks of a quarter that are pulled into the quarter before
QUARTER_PUSH = np.array([0, 0.45, 0, 0, 0.2, 0, 0, 0.2, 0, 0, 0.2, 0, 0])
ACTIVITY_SEASON = np.array([0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.92, 0.8, 1.0, 1.0, 1.0, 0.85])
GROWTH = 1.025  # lead volume, per month
STAR_WIN, STAR_AMOUNT = 2.0, 1.35  # the star rep wins more, and bigger deals
ACTIVITY_TYPES = ("call", "email", "meeting", "demo")
DIRECTIONS = ("outbound", "inbound")
TRAFFIC_CHANNELS = np.array([WEB, INBOUND, REFERRAL, PARTNER, COLD_EMAIL])
VISITORS_PER_LEAD = np.array([0, 55.0, 0, 38.0, 25.0, 60.0, 30.0])  # by channel
WAGES = np.array([6500.0, 7500.0, 5000.0, 4000.0])  # monthly cost of a rep, by region
SPEND_CATEGORIES = ("marketing", "sales", "salaries", "tools", "overhead")
FIRST_NAMES = (
    "Maya", "Liam", "Sofia", "Noah", "Aisha", "Lucas", "Chloe", "Mateo", "Hannah", "Omar", "Elena", "Kenji",
    "Grace", "Diego", "Priya", "Jonas", "Amara", "Felix", "Leila", "Ethan", "Yuki", "Samuel", "Nora", "Rafael",
    "Ingrid", "Arjun", "Zoe", "Tomás", "Mei", "Oliver", "Fatima", "Hugo", "Clara", "Daniel", "Ana", "Kwame",
    "Lena", "Marco", "Isabel", "Ravi", "Emma", "Carlos", "Sara", "Wei", "Julia", "Ahmed", "Laura", "Pedro",
    "Nadia", "Victor", "Olivia", "Hiro", "Camila", "Erik", "Lucia", "Tariq", "Mia", "Andrés", "Freya", "Jin",
)
LAST_NAMES = (
    "Johnson", "Martinez", "Chen", "Okafor", "Schmidt", "Rossi", "Kowalski", "Tanaka", "Silva", "Nguyen",
    "Patel", "Müller", "García", "Andersson", "Dubois", "Kim", "Haddad", "O'Brien", "Novak", "Santos",
    "Fischer", "Yamamoto", "Costa", "Ivanova", "Larsen", "Moreau", "Singh", "Lopez", "Becker", "Ali",
    "Murphy", "Sato", "Fernandes", "Jansen", "Khan", "Russo", "Nielsen", "Wong", "Herrera", "Brown",
    "Eriksson", "Mendes", "Park", "Weber", "Romano", "Adeyemi", "Hughes", "Vargas", "Lindqvist", "Cohen",
    "Reyes", "Takahashi", "Meyer", "Popescu", "Walsh", "Ortiz", "Bakker", "Suzuki", "Ramos", "Taylor",
)
_DAY_S = 86_400


# --------------------------------------------------------------------------- helpers


def _end_period(end: str | pd.Timestamp | pd.Period | None) -> pd.Period:
    """The last month of the data: `end` as a month, else the last complete month."""
    if end is None:
        return pd.Period(today(), freq="M") - 1
    if isinstance(end, pd.Period):
        return end.asfreq("M")
    return pd.Timestamp(end).to_period("M")


def _check(scale: str, months: int) -> tuple[Scale, int]:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, not {scale!r}")
    months = int(months)
    if months < 1:
        raise ValueError(f"months must be at least 1, not {months}")
    return SCALES[scale], months


def _pick(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One draw per row from the categorical distribution probs[rows[i]] (a row per group)."""
    probs = np.asarray(probs, dtype=float)
    G, K = probs.shape
    cum = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    # row g's cumulative probabilities shifted into [g, g + 1]: one search for every draw
    flat = (cum + np.arange(G)[:, None]).ravel()
    out = np.searchsorted(flat, rng.random(len(rows)) + rows, side="right") - rows * K
    last = K - 1 - np.argmax(probs[:, ::-1] > 0, axis=1)  # last possible category of each row
    return np.minimum(np.maximum(out, 0), last[rows])


def _choice(rng: np.random.Generator, probs, n: int) -> np.ndarray:
    p = np.asarray(probs, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum())


def _weekday(days: np.ndarray) -> np.ndarray:
    """0 = Monday ... 6 = Sunday, for days since 1970-01-01 (a Thursday)."""
    return (days + 3) % 7


def _to_workday(days: np.ndarray, rng: np.random.Generator, keep: float = 0.06) -> np.ndarray:
    """Move most weekend days forward to the Monday (a few weekend events stay)."""
    wd = _weekday(days)
    move = (wd >= 5) & (rng.random(len(days)) >= keep)
    return days + np.where(move, 7 - wd, 0)


def _id_strings(prefix: str, n: int) -> pa.Array:
    """prefix + zero-padded 1..n (at least 5 digits), so ids sort in creation order."""
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1, dtype=np.int64)), pa.string()),
                          max(5, len(str(n))), "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _id_col(ids: pa.Array, idx: np.ndarray | None = None) -> pd.arrays.ArrowStringArray:
    """The ids (or ids[idx], idx -1 = null) as a pandas "string" array."""
    if idx is not None:
        idx = np.asarray(idx, dtype=np.int64)
        ids = pc.take(ids, pa.array(idx, mask=idx < 0))
    return pd.arrays.ArrowStringArray(ids)


def _cat(codes: np.ndarray, categories) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int32), categories=list(categories))


def _dates(days: np.ndarray) -> np.ndarray:
    """Days since the epoch (float with NaN = missing, or int) as datetime64[ns]."""
    days = np.asarray(days)
    if days.dtype.kind == "f":
        missing = np.isnan(days)
        out = np.where(missing, 0, days).astype(np.int64).astype("datetime64[D]").astype("datetime64[ns]")
        out[missing] = np.datetime64("NaT")
        return out
    return days.astype(np.int64).astype("datetime64[D]").astype("datetime64[ns]")


def _bools(values: np.ndarray, valid: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool) & valid, ~np.asarray(valid, dtype=bool))


def _round(x: np.ndarray, step: float) -> np.ndarray:
    return np.round(x / step) * step


def _smooth(x: np.ndarray, season: np.ndarray, window: int = 3) -> np.ndarray:
    """Centred moving average of x / season, re-seasonalised: a plan that follows the trend."""
    s = pd.Series(x / season).rolling(window, center=True, min_periods=1).mean().to_numpy()
    return s * season


# --------------------------------------------------------------------------- generator


class _Acme:
    """One generation run; each method adds a table (or the arrays later tables need)."""

    def __init__(self, seed: int, months: int, scale: Scale, end: pd.Period) -> None:
        self.rng = np.random.default_rng(seed)
        self.cfg = scale
        self.M = months
        self.end = end
        self._ids: dict[str, pa.Array] = {}
        self._calendar()
        self._reps()

    # ---- calendar and sales org

    def _calendar(self) -> None:
        M = self.M
        start = self.end - (M - 1)
        ext = pd.period_range(start, periods=M + 40, freq="M")
        starts = ext.to_timestamp().to_numpy().astype("datetime64[D]").astype(np.int64)
        self.ms_ext = starts
        self.ms = starts[: M + 1]  # month starts, plus the first day after the end
        self.dim = np.diff(starts[: M + 1])
        self.end_excl = int(starts[M])
        self.moy = ext.month.to_numpy()[:M]
        self.t = np.arange(M) - (M - 1)  # months before the end (<= 0)
        self.month_labels = [str(p) for p in ext[:M]]
        # "Spring Launch": 13 and 12 months before the end month
        s0 = max(0, M - 14)
        self.spring = np.array([m for m in (s0, s0 + 1) if m < M])
        # holiday month of one rep: the latest August that is not in the last 3 months
        augusts = [m for m in range(1, M - 3) if self.moy[m] == 8]
        self.holiday_m = augusts[-1] if augusts else M // 2

    def month_of(self, days: np.ndarray) -> np.ndarray:
        """Month index (0 = first month of the data) of each day; M or more after the end."""
        return np.searchsorted(self.ms_ext, days, side="right") - 1

    def _reps(self) -> None:
        rng, cfg, M = self.rng, self.cfg, self.M
        team_names: list[str] = []
        team_region: list[int] = []
        rep_team: list[int] = []
        first_of_team: list[int] = []
        for name, region, k in BASE_TEAMS:
            n = max(cfg.pods, round(k * cfg.reps / 30))
            sizes = np.full(cfg.pods, n // cfg.pods) + (np.arange(cfg.pods) < n % cfg.pods)
            for i, size in enumerate(sizes):
                first_of_team.append(len(rep_team))
                team_names.append(name if cfg.pods == 1 else f"{name} {i + 1}")
                team_region.append(region)
                rep_team.extend([len(team_names) - 1] * int(size))
        R = len(rep_team)
        self.team_names = team_names
        self.team_region = np.array(team_region)
        self.rep_team = np.array(rep_team)
        self.rep_region = self.team_region[self.rep_team]
        combos = rng.permutation(len(FIRST_NAMES) * len(LAST_NAMES))[:R]
        self.rep_names = [f"{FIRST_NAMES[c // len(LAST_NAMES)]} {LAST_NAMES[c % len(LAST_NAMES)]}" for c in combos]
        self.star = first_of_team[team_names.index("NA East" if cfg.pods == 1 else "NA East 1")]
        self.holiday_rep = first_of_team[team_names.index("EMEA South" if cfg.pods == 1 else "EMEA South 1")]
        self.fast_rep = first_of_team[0]
        hire = np.zeros(R, dtype=np.int64)
        if M >= 8:
            late = (rng.random(R) < 0.3)
            late[first_of_team] = False
            hire[late] = rng.integers(1, M - 5, late.sum())
        self.hire_m = hire
        self.skill = np.exp(rng.normal(0, 0.12, R))
        self.skill[[self.star, self.fast_rep]] = 1.0
        self.employed = np.arange(M)[None, :] >= hire[:, None]  # rep x month
        self.available = self.employed.copy()
        self.available[self.holiday_rep, self.holiday_m] = False
        self.R = R

    # ---- leads and the funnel

    def leads(self) -> None:
        rng, M, ms = self.rng, self.M, self.ms
        volume = self.cfg.leads * GROWTH ** self.t * LEAD_SEASON[self.moy] / LEAD_SEASON[1:].mean()
        n_base = rng.poisson(volume)
        n_spring = np.zeros(M, dtype=np.int64)
        n_spring[self.spring] = rng.poisson(0.4 * volume[self.spring])
        # leads per calendar day (weekends quiet), drawn in date order
        cal = np.arange(ms[0], ms[M])
        cal_month = self.month_of(cal)
        weight = np.where(_weekday(cal) >= 5, 0.2, 1.0)
        per_day = np.concatenate([rng.multinomial(n_base[m] + n_spring[m], w / w.sum())
                                  for m in range(M) for w in [weight[cal_month == m]]])
        day = np.repeat(cal, per_day)
        month = np.repeat(cal_month, per_day)
        spring = rng.random(len(day)) < (n_spring / np.maximum(n_base + n_spring, 1))[month]
        n = len(day)

        # region in proportion to available reps; rep uniformly among them
        avail = self.available
        per_region = np.stack([avail[self.rep_region == g].sum(0) for g in range(len(REGIONS))], 1)  # M x G
        region = _pick(rng, per_region.astype(float), month)
        table, counts = self._rep_table(avail)
        rep = table[region * M + month, (rng.random(n) * counts[region * M + month]).astype(np.int64)]
        segment = _pick(rng, SEGMENT_MIX, region)
        segment[spring] = np.where(rng.random(spring.sum()) < 0.75, SMB, MID)
        channel = _choice(rng, CHANNEL_MIX, n)
        channel[spring] = _choice(rng, SPRING_CHANNEL_MIX, spring.sum())
        source = _pick(rng, SOURCE_MIX, channel)
        campaign = self._campaign(channel, source, month, spring)

        # funnel: lead -> MQL -> SQL -> opportunity
        u = rng.random((3, n))
        p_mql = np.where(spring, 0.75, P_MQL[channel])
        p_sql = np.array([0.47, 0.55, 0.60])[segment] * np.where(channel == REFERRAL, 1.2, 1.0)
        p_opp = np.where(spring, 0.75, 0.62)
        reach = np.where(u[0] < p_mql, 1, 0)
        reach += (reach == 1) & (u[1] < p_sql)
        reach += (reach == 2) & (u[2] < p_opp)
        speed = np.where(spring, 0.35, 1.0)
        mql = _to_workday(day + np.round(rng.gamma(1.5, 3.0, n) * speed).astype(np.int64), rng)
        sql = _to_workday(mql + np.round(rng.gamma(2.0, 4.0, n) * speed).astype(np.int64), rng)
        opp = _to_workday(sql + np.round(rng.gamma(2.0, 5.0, n) * speed).astype(np.int64), rng)
        end = self.end_excl
        reach = np.minimum(reach, np.where(mql >= end, 0, np.where(sql >= end, 1, np.where(opp >= end, 2, 3))))
        mql_at = np.where(reach >= 1, mql, np.nan)
        sql_at = np.where(reach >= 2, sql, np.nan)
        opp_at = np.where(reach >= 3, opp, np.nan)
        # a few leads skip a stage: referrals straight to sales, demo requests straight to opportunity
        skip_mql = (reach >= 2) & (rng.random(n) < np.where(np.isin(channel, [REFERRAL, PARTNER]), 0.15, 0.02))
        skip_sql = (reach >= 3) & (rng.random(n) < 0.04)
        mql_at[skip_mql] = np.nan
        sql_at[skip_sql] = np.nan

        self.L = dict(day=day, month=month, spring=spring, region=region, rep=rep, segment=segment,
                      channel=channel, source=source, campaign=campaign, mql_at=mql_at, sql_at=sql_at,
                      opp_at=opp_at, opp=reach >= 3)

    def _rep_table(self, avail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(region * M + month) -> padded list of the reps available there, and how many."""
        G, M = len(REGIONS), self.M
        counts = np.zeros(G * M, dtype=np.int64)
        width = max(int(avail[self.rep_region == g].sum(0).max()) for g in range(G))
        table = np.zeros((G * M, width), dtype=np.int64)
        for g in range(G):
            reps = np.flatnonzero(self.rep_region == g)
            a = avail[reps]  # reps x M
            for m in range(M):
                ok = reps[a[:, m]]
                table[g * M + m, : len(ok)] = ok
                counts[g * M + m] = len(ok)
        return table, counts

    def _campaign(self, channel, source, month, spring) -> np.ndarray:
        rng = self.rng
        campaign = np.full(len(channel), OUTBOUND, dtype=np.int64)
        campaign[channel == MEETING] = EVENTS
        campaign[channel == REFERRAL] = REFERRALS
        campaign[channel == PARTNER] = PARTNERS
        inbound = channel == INBOUND
        campaign[inbound] = np.where(rng.random(inbound.sum()) < 0.45, WEBINARS, CONTENT)
        web = channel == WEB
        campaign[web] = np.select([source[web] == 9, source[web] == 10], [SEO, PAID], SOCIAL)
        q4 = (inbound | web) & (self.moy[month] >= 10) & (rng.random(len(channel)) < 0.35)
        campaign[q4] = YEAR_END
        campaign[spring] = SPRING
        return campaign

    # ---- new-business deals

    def new_deals(self) -> None:
        rng, L = self.rng, self.L
        lead_idx = np.flatnonzero(L["opp"])
        # direct deals: the rep's own network, no lead record
        n_direct = rng.poisson(0.07 * len(lead_idx))
        volume = GROWTH ** self.t * LEAD_SEASON[self.moy]
        d_month = _choice(rng, volume, n_direct)
        d_day = _to_workday(self.ms[d_month] + (rng.random(n_direct) * self.dim[d_month]).astype(np.int64), rng)
        keep = d_day < self.end_excl
        d_month, d_day = d_month[keep], d_day[keep]
        n_direct = len(d_day)
        d_region = _pick(rng, np.stack([self.available[self.rep_region == g].sum(0)
                                        for g in range(len(REGIONS))], 1).astype(float), d_month)
        table, counts = self._rep_table(self.available)
        row = d_region * self.M + d_month
        d_rep = table[row, (rng.random(n_direct) * counts[row]).astype(np.int64)]
        d_channel = np.where(rng.random(n_direct) < 0.6, MEETING, REFERRAL)
        d_first = np.maximum(d_day - np.round(rng.gamma(2.0, 8.0, n_direct)).astype(np.int64), self.ms[0])

        created = np.concatenate([L["opp_at"][lead_idx].astype(np.int64), d_day])
        n = len(created)
        D = dict(
            lead=np.concatenate([lead_idx, np.full(n_direct, -1)]),
            created=created,
            first=np.concatenate([L["day"][lead_idx], d_first]),
            rep=np.concatenate([L["rep"][lead_idx], d_rep]),
            segment=np.concatenate([L["segment"][lead_idx], _pick(rng, SEGMENT_MIX, d_region)]),
            channel=np.concatenate([L["channel"][lead_idx], d_channel]),
            source=np.concatenate([L["source"][lead_idx], np.full(n_direct, REP_NETWORK)]),
            campaign=np.concatenate([L["campaign"][lead_idx],
                                     np.where(d_channel == MEETING, EVENTS, REFERRALS)]),
            spring=np.concatenate([L["spring"][lead_idx], np.zeros(n_direct, bool)]),
        )
        rep, seg, spring = D["rep"], D["segment"], D["spring"]
        star = rep == self.star
        product = _pick(rng, PRODUCT_MIX, seg)
        product[spring] = _choice(rng, SPRING_PRODUCT_MIX, spring.sum())
        qty, amount = self._price(product, seg)
        amount = np.where(star, _round(amount * STAR_AMOUNT, 10), amount)
        score = _choice(rng, SCORE_MIX, n) + 1

        # sales cycle and outcome
        mean_cycle = np.array([28.0, 55.0, 95.0])[seg] * np.where(rep == self.fast_rep, 0.55, 1.0)
        mean_cycle = mean_cycle * np.where(D["channel"] == REFERRAL, 0.8, 1.0)
        cycle = rng.gamma(2.5, mean_cycle / 2.5)
        cycle = np.where(spring, rng.gamma(2.0, 6.0, n), cycle)
        planned = _to_workday(created + np.maximum(1, np.round(cycle)).astype(np.int64), rng)
        close_moy = self.moy_of(planned)
        p_win = (0.195 * SCORE_WIN[score - 1] * self.skill[rep] * WIN_SEASON[close_moy]
                 * WIN_BY_CHANNEL[D["channel"]] * np.array([1.05, 0.95, 0.85])[seg])
        p_win = p_win * np.where(spring, 1.25, 1.0) * np.where(star, STAR_WIN, 1.0)
        won = rng.random(n) < np.minimum(p_win, 0.95)
        # quarter-end push: deals due early in a quarter get signed in the last days of the quarter before
        month_start = planned.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
        early = (planned - month_start < 21) & (rng.random(n) < QUARTER_PUSH[close_moy])
        pulled = month_start - rng.integers(1, 8, n)
        pulled = pulled - np.where(_weekday(pulled) == 5, 1, np.where(_weekday(pulled) == 6, 2, 0))
        planned = np.where(won & early & (pulled > created), pulled, planned)
        lost_day = created + np.maximum(1, np.round(cycle * rng.uniform(0.5, 1.1, n))).astype(np.int64)
        closed = np.where(won, planned, lost_day)
        status = np.where(closed >= self.end_excl, OPEN, np.where(won, WON, LOST))
        D.update(product=product, qty=qty, amount=amount, score=score, planned=planned,
                 closed=np.where(status == OPEN, np.nan, closed), status=status,
                 type=np.full(n, NEW), customer=np.full(n, -1))
        self.N = D

    def moy_of(self, days: np.ndarray) -> np.ndarray:
        return (days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12) + 1

    def _price(self, product: np.ndarray, segment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Units and amount (annual contract value) of new deals."""
        rng, n = self.rng, len(product)
        mean = UNITS[product, segment]
        units = mean * np.exp(rng.normal(-0.06, 0.35, n))
        seats = product == STARTER
        qty = np.where(seats, np.maximum(5, _round(units, 5)), np.maximum(1, np.round(units)))
        amount = qty * PRICE[product] * rng.uniform(0.72, 1.0, n)
        amount = np.where(seats, np.round(amount), _round(amount, 10))
        return qty, np.maximum(amount, 10.0)

    # ---- customers and subscriptions

    def customers(self) -> None:
        rng, D, M = self.rng, self.N, self.M
        won_new = np.flatnonzero(D["status"] == WON)
        won_new = won_new[np.argsort(D["closed"][won_new], kind="stable")]
        C = len(won_new)
        D["customer"][won_new] = np.arange(C)
        acq = D["closed"][won_new].astype(np.int64)
        rep = D["rep"][won_new]
        seg = D["segment"][won_new]
        product = D["product"][won_new]
        region = self.rep_region[rep]
        plan = np.where(product == STARTER, 0, np.where(seg == SMB, 1, np.where(seg == MID, 2, 3)))
        self.Cu = dict(deal=won_new, acq=acq, acq_m=self.month_of(acq), rep=rep, segment=seg, product=product,
                       region=region, channel=D["channel"][won_new], plan=plan, qty=D["qty"][won_new],
                       base=D["amount"][won_new] / 12.0, annual=seg != SMB)
        self.C = C
        acq_m = self.Cu["acq_m"]

        # who pays in which month: churn, and reactivations after a gap
        hazard = np.array([0.028, 0.014, 0.007])[seg] * np.array([1.0, 0.9, 1.1, 1.2])[region]
        hazard = hazard * np.where(product == STARTER, 1.3, 1.0) * np.where(rep == self.fast_rep, 2.2, 1.0)
        apac = region == 2
        p_passive = np.where(seg == SMB, 0.4, 0.2)
        alive = np.zeros((C, M), dtype=bool)
        churn = np.zeros((C, M), dtype=np.int8)  # 1 voluntary, 2 passive
        react = np.zeros((C, M), dtype=bool)
        state = np.zeros(C, dtype=np.int8)  # 0 not yet, 1 paying, 2 gone for now, 3 gone
        resume = np.full(C, -1)
        for m in range(M):
            state[acq_m == m] = 1
            back = (state == 2) & (resume == m)
            state[back] = 1
            react[back, m] = True
            paying = state == 1
            alive[:, m] = paying
            h = hazard * np.where(apac & (m >= M - 4), 4.0, 1.0)
            gone = paying & (acq_m < m) & ~back & (rng.random(C) < h)
            churn[gone, m] = np.where(rng.random(int(gone.sum())) < p_passive[gone], 2, 1)
            again = gone & (rng.random(C) < 0.12)
            resume[again] = m + 1 + rng.geometric(0.45, int(again.sum()))  # >= 1 month without pay
            state[again] = 2
            state[gone & ~again] = 3
        self.alive, self.churn, self.react = alive, churn, react

    def expansions(self) -> None:
        """Upsell and cross-sell deals of paying customers; they raise MRR when won."""
        rng, Cu, M, C = self.rng, self.Cu, self.M, self.C
        months = np.arange(M)[None, :]
        p = np.array([0.03, 0.05, 0.07])[Cu["segment"]]
        pick = self.alive & (months > Cu["acq_m"][:, None]) & (rng.random((C, M)) < p[:, None])
        c, m = np.nonzero(pick)
        n = len(c)
        created = _to_workday(self.ms[m] + (rng.random(n) * self.dim[m]).astype(np.int64), rng)
        keep = created < self.end_excl
        c, m, created, n = c[keep], m[keep], created[keep], int(keep.sum())
        kind = np.where(rng.random(n) < 0.55, UPSELL, CROSS_SELL)
        seg = Cu["segment"][c]
        product = Cu["product"][c].copy()
        cross = kind == CROSS_SELL
        other = ADD_ONS[rng.integers(0, len(ADD_ONS), n)]
        other = np.where(other == product, ADD_ONS[(np.searchsorted(ADD_ONS, other) + 1) % len(ADD_ONS)], other)
        product[cross] = other[cross]
        qty, amount = self._price(product, seg)
        frac = rng.uniform(0.15, 0.5, n)
        up_qty = Cu["qty"][c] * frac
        up_qty = np.where(product == STARTER, np.maximum(5, _round(up_qty, 5)), np.maximum(1, np.round(up_qty)))
        qty = np.where(cross, qty, up_qty)
        amount = np.where(cross, amount, _round(Cu["base"][c] * 12 * frac, 10))
        amount = np.maximum(amount, 10.0)
        planned = _to_workday(created + np.round(3 + rng.gamma(2.0, 14.0, n)).astype(np.int64), rng)
        mc = self.month_of(planned)
        score = _choice(rng, SCORE_MIX, n) + 1
        inside = mc < M
        ok = np.zeros(n, dtype=bool)
        ok[inside] = self.alive[c[inside], mc[inside]] & (self.churn[c[inside], mc[inside]] == 0)
        won = ok & (rng.random(n) < np.minimum(0.45 * SCORE_WIN[score - 1], 0.95))
        status = np.where(~inside, OPEN, np.where(won, WON, LOST))
        delta = np.zeros((C, M))
        w = status == WON
        np.add.at(delta, (c[w], mc[w]), amount[w] / 12.0)
        self.delta = delta
        self.X = self._account_deals(c, created, np.where(status == OPEN, np.nan, planned), status, kind,
                                     product, qty, amount, score, planned, EXPANSION)

    def _account_deals(self, c, created, closed, status, kind, product, qty, amount, score, planned, campaign):
        rng, n = self.rng, len(c)
        Cu = self.Cu
        first = np.maximum(created - rng.integers(0, 15, n), Cu["acq"][c] + 1)
        first = np.minimum(first, created)
        channel = np.where(rng.random(n) < 0.7, MEETING, np.where(rng.random(n) < 0.5, COLD_EMAIL, INBOUND))
        return dict(lead=np.full(n, -1), created=created, first=first, rep=Cu["rep"][c], segment=Cu["segment"][c],
                    channel=channel, source=np.full(n, ACCOUNT_MANAGEMENT), campaign=np.full(n, campaign),
                    spring=np.zeros(n, bool), product=product, qty=qty, amount=amount, score=score,
                    planned=planned, closed=closed, status=status, type=np.asarray(kind), customer=c)

    def subscriptions(self) -> None:
        rng, C, M = self.rng, self.C, self.M
        months = np.arange(M)[None, :]
        Cu = self.Cu
        factor = np.ones((C, M))
        down = (self.alive & (months > Cu["acq_m"][:, None]) & (self.churn == 0) & ~self.react
                & (rng.random((C, M)) < 0.008))
        factor[down] = rng.uniform(0.6, 0.9, int(down.sum()))
        factor[self.react] = rng.uniform(0.7, 1.0, int(self.react.sum()))
        mrr = (Cu["base"][:, None] + np.cumsum(self.delta, axis=1)) * np.cumprod(factor, axis=1)
        self.mrr = np.round(mrr, 2)

    def renewals(self) -> None:
        """Annual plans renew each year (won), or leave with a lost renewal; renewals due just after
        the end are open."""
        rng, Cu, M = self.rng, self.Cu, self.M
        annual = np.flatnonzero(Cu["annual"])
        parts = []
        dom = Cu["acq"] - self.ms_ext[Cu["acq_m"]]
        for k in range(1, M // 12 + 2):
            a = Cu["acq_m"][annual] + 12 * k
            fits = a < len(self.ms_ext) - 1
            c, a = annual[fits], a[fits]
            day = self.ms_ext[a] + np.minimum(dom[c], self.ms_ext[a + 1] - self.ms_ext[a] - 1)
            lead_time = np.round(20 + rng.gamma(2.0, 12.0, len(c))).astype(np.int64)
            created = _to_workday(day - lead_time, rng)
            created = np.minimum(created, day - 1)
            inside = a < M
            won = np.zeros(len(c), dtype=bool)
            won[inside] = self.alive[c[inside], a[inside]] & ~self.react[c[inside], a[inside]]
            pending = ~inside & (created < self.end_excl) & self.alive[c, M - 1] & (self.churn[c, M - 1] == 0)
            take = won | pending
            c, a, day, created, won = c[take], a[take], day[take], created[take], won[take]
            prev = np.minimum(a - 1, M - 1)
            amount = np.maximum(_round(12 * self.mrr[c, prev], 10), 10.0)
            parts.append((c, created, np.where(won, day, np.nan), np.where(won, WON, OPEN), amount, day))
        # voluntary churn of an annual customer after at least 3 months: a lost renewal
        after_3 = np.arange(M)[None, :] >= Cu["acq_m"][:, None] + 3
        c, m = np.nonzero((self.churn == 1) & Cu["annual"][:, None] & after_3)
        day = self.ms[m] + (rng.random(len(c)) * self.dim[m]).astype(np.int64)
        created = np.maximum(day - np.round(15 + rng.gamma(2.0, 10.0, len(c))).astype(np.int64), Cu["acq"][c] + 1)
        created = np.minimum(created, day - 1)
        parts.append((c, created, day.astype(float), np.full(len(c), LOST),
                      np.maximum(_round(12 * self.mrr[c, m], 10), 10.0), day))
        c, created, closed, status, amount, planned = (np.concatenate(x) for x in zip(*parts))
        n = len(c)
        qty = np.maximum(1, np.round(Cu["qty"][c] * self.mrr[c, np.minimum(self.month_of(planned), M - 1)]
                                     / Cu["base"][c]))
        qty = np.where(Cu["product"][c] == STARTER, np.maximum(5, _round(qty, 5)), qty)
        score = np.where(status == LOST, rng.integers(1, 4, n), rng.integers(3, 6, n))
        self.Rn = self._account_deals(c, created, closed, status, np.full(n, RENEWAL), Cu["product"][c], qty,
                                      amount, score, planned, RENEWALS)

    # ---- the deals table

    def deals_table(self) -> pd.DataFrame:
        rng = self.rng
        parts = [self.N, self.X, self.Rn]
        keys = ["lead", "created", "first", "rep", "segment", "channel", "source", "campaign", "spring",
                "product", "qty", "amount", "score", "planned", "closed", "status", "type", "customer"]
        D = {k: np.concatenate([p[k] for p in parts]) for k in keys}
        renewal_lost = np.concatenate([np.zeros(len(self.N["created"]) + len(self.X["created"]), bool),
                                       self.Rn["status"] == LOST])
        order = np.lexsort((D["rep"], D["created"]))
        D = {k: v[order] for k, v in D.items()}
        renewal_lost = renewal_lost[order]
        n = len(order)
        self.D = D
        status = D["status"]
        is_open = status == OPEN
        # open deals: stage from progress, its probability (sometimes adjusted by the rep), expected close
        progress = (self.end_excl - D["created"]) / np.maximum(D["planned"] - D["created"], 1)
        stage = np.where(is_open, np.digitize(progress, [0.3, 0.55, 0.8]), -1)
        probability = np.where(is_open, np.array([s[2] for s in STAGES])[np.maximum(stage, 0)], np.nan)
        adjust = is_open & (rng.random(n) < 0.25)
        probability[adjust] = np.clip(probability[adjust] + rng.choice([-0.1, -0.05, 0.05, 0.1], adjust.sum()),
                                      0.05, 0.95)
        probability = np.round(probability, 2)
        expected = D["planned"] + np.round(rng.normal(0, 6, n)).astype(np.int64)
        slipped = is_open & (rng.random(n) < 0.1)  # reps forget to update: expected date already past
        expected = np.where(slipped, self.end_excl - rng.integers(1, 30, n), expected)
        expected = np.maximum(expected, D["created"] + 1)
        expected = np.where(is_open, expected, np.nan)
        lost_reason = np.where(status == LOST,
                               np.where(renewal_lost, _choice(rng, RENEWAL_LOST_MIX, n), _choice(rng, LOST_MIX, n)),
                               -1)
        # cost of what was sold: mostly a product-dependent share, sometimes unknown, rarely above the price
        cost = D["amount"] * COST_SHARE[D["product"]] * rng.uniform(0.8, 1.25, n)
        loss = rng.random(n) < 0.004
        cost[loss] = D["amount"][loss] * rng.uniform(1.02, 1.3, loss.sum())
        cost = np.round(cost, 2)
        cost[rng.random(n) < 0.07] = np.nan
        rep = D["rep"]
        customer = np.where((D["type"] == NEW) & (status != WON), -1, D["customer"])
        df = pd.DataFrame({
            "deal_id": _id_col(self.ids("D", n)),
            "created_at": _dates(D["created"]),
            "closed_at": _dates(D["closed"]),
            "status": _cat(status, STATUSES),
            "amount": D["amount"].astype(float),
            "rep": _cat(rep, self.rep_names),
            "team": _cat(self.rep_team[rep], self.team_names),
            "region": _cat(self.rep_region[rep], REGIONS),
            "product": _cat(D["product"], [p[0] for p in PRODUCTS]),
            "channel": _cat(D["channel"], CHANNELS),
            "lead_source": _cat(D["source"], SOURCES),
            "campaign": _cat(D["campaign"], CAMPAIGNS),
            "customer_id": _id_col(self.ids("C", self.C), customer),
            "deal_type": _cat(D["type"], DEAL_TYPES),
            "stage": _cat(stage, [s[0] for s in STAGES]),
            "probability": probability,
            "cost": cost,
            "quantity": D["qty"].astype(float),
            "first_contact_at": _dates(np.minimum(D["first"], D["created"])),
            "expected_close_at": _dates(expected),
            "lost_reason": _cat(lost_reason, LOST_REASONS),
            "score": pd.array(D["score"].astype(np.int64), dtype="Int64"),
        })
        # where each lead's deal went
        lead_deal = np.full(len(self.L["day"]), -1)
        from_lead = D["lead"] >= 0
        lead_deal[D["lead"][from_lead]] = np.flatnonzero(from_lead)
        self.lead_deal = lead_deal
        return df

    def ids(self, prefix: str, n: int) -> pa.Array:
        """The n ids of a table (formatted once, then shared by every column that links to them)."""
        if prefix not in self._ids:
            self._ids[prefix] = _id_strings(prefix, n)
        return self._ids[prefix]

    def leads_table(self) -> pd.DataFrame:
        L, D = self.L, self.D
        deal = self.lead_deal
        has = deal >= 0
        converted = np.full(len(deal), np.nan)
        customer = np.full(len(deal), -1)
        won = np.zeros(len(deal), bool)
        won[has] = D["status"][deal[has]] == WON
        converted[won] = D["closed"][deal[won]]
        customer[won] = D["customer"][deal[won]]
        rep = L["rep"]
        return pd.DataFrame({
            "lead_id": _id_col(self.ids("L", len(deal))),
            "created_at": _dates(L["day"]),
            "source": _cat(L["source"], SOURCES),
            "channel": _cat(L["channel"], CHANNELS),
            "campaign": _cat(L["campaign"], CAMPAIGNS),
            "region": _cat(L["region"], REGIONS),
            "rep": _cat(rep, self.rep_names),
            "team": _cat(self.rep_team[rep], self.team_names),
            "mql_at": _dates(L["mql_at"]),
            "sql_at": _dates(L["sql_at"]),
            "opportunity_at": _dates(L["opp_at"]),
            "converted_at": _dates(converted),
            "deal_id": _id_col(self.ids("D", len(D["created"])), deal),
            "customer_id": _id_col(self.ids("C", self.C), customer),
        })

    def customers_table(self) -> pd.DataFrame:
        Cu = self.Cu
        return pd.DataFrame({
            "customer_id": _id_col(self.ids("C", self.C)),
            "acquired_at": _dates(Cu["acq"]),
            "region": _cat(Cu["region"], REGIONS),
            "segment": _cat(Cu["segment"], SEGMENTS),
            "channel": _cat(Cu["channel"], CHANNELS),
        })

    def subscriptions_table(self) -> pd.DataFrame:
        c, m = np.nonzero(self.alive)  # customer-major, months ascending
        Cu = self.Cu
        reason = self.churn[c, m].astype(np.int64) - 1
        return pd.DataFrame({
            "customer_id": _id_col(self.ids("C", self.C), c),
            "month": _dates(self.ms[m]),
            "mrr": self.mrr[c, m],
            "plan": _cat(Cu["plan"][c], PLANS),
            "region": _cat(Cu["region"][c], REGIONS),
            "segment": _cat(Cu["segment"][c], SEGMENTS),
            "churn_reason": _cat(reason, ("voluntary", "passive")),
        })

    def surveys_table(self) -> pd.DataFrame:
        rng, Cu, M = self.rng, self.Cu, self.M
        tenure = np.arange(M)[None, :] - Cu["acq_m"][:, None]
        ask = self.alive & (tenure >= 2) & (tenure % 6 == 2) & (rng.random(self.alive.shape) < 0.45)
        c, m = np.nonzero(ask)
        n = len(c)
        day = self.ms[m] + (rng.random(n) * self.dim[m]).astype(np.int64)
        # customers about to leave score low; APAC's recent trouble shows too
        next_churn = np.where(self.churn > 0, np.arange(M)[None, :], 10 ** 6)
        next_churn = np.minimum.accumulate(next_churn[:, ::-1], axis=1)[:, ::-1]
        leaving = next_churn[c, m] - m <= 3
        mu = 8.6 - 3.0 * leaving - 1.2 * ((Cu["region"][c] == 2) & (m >= M - 3)) - 0.3 * (Cu["segment"][c] == SMB)
        score = np.clip(np.round(rng.normal(mu, 1.7)), 0, 10).astype(np.int64)
        order = np.lexsort((c, day))
        return pd.DataFrame({
            "customer_id": _id_col(self.ids("C", self.C), c[order]),
            "at": _dates(day[order]),
            "score": pd.array(score[order], dtype="Int64"),
        })

    # ---- activities

    def activities_table(self) -> pd.DataFrame:
        """Calls, emails, meetings and demos: per rep and working day, in time order."""
        rng, R = self.rng, self.R
        days = np.arange(self.ms[0], self.end_excl)
        days = days[_weekday(days) < 5]
        nd = len(days)
        dm = self.month_of(days)
        rate = self.cfg.activities * ACTIVITY_SEASON[self.moy[dm]][:, None] * self.available[:, dm].T
        rate[:, self.star] *= 1.15  # day x rep; nothing on the holiday
        cell = np.repeat(np.arange(nd * R, dtype=np.int64), rng.poisson(rate).ravel())
        n = len(cell)
        # time of day 08:00-18:00; order by day, then time (two stable radix sorts on 16-bit keys)
        sec = rng.integers(0, 36_000, n).astype(np.uint16)
        order = np.argsort(sec, kind="stable")
        order = order[np.argsort((cell // R).astype(np.uint16)[order], kind="stable")]
        cell, sec = cell[order], sec[order]
        del order
        rep, day = cell % R, days[cell // R]
        del cell
        # calls, outbound emails, inbound emails, meetings, demos
        kind = _choice(rng, [0.39, 0.28, 0.08, 0.16, 0.09], n)
        call, email_out, email_in, meeting, demo = (kind == k for k in range(5))
        skill = np.minimum(self.skill, 1.3) * np.where(np.arange(R) == self.star, 1.15, 1.0)
        skill = skill[rep]
        u = rng.random((4, n))
        # reached: the call got through / the email got a reply; then qualified, converted
        reached = np.where(call, u[0] < 0.35 * skill, email_out & (u[0] < 0.09 * skill))
        qualified = np.where(meeting, u[1] < 0.68, np.where(demo, u[1] < 0.8, reached & (u[1] < 0.55)))
        converted = qualified & (u[2] < np.select([call, email_out, meeting], [0.45, 0.4, 0.45], 0.55) * skill)
        opened = email_out & (reached | (u[3] < 0.46))
        duration = np.where(call, np.round(np.where(reached, 60 + rng.gamma(2.0, 140.0, n), 8 + u[3] * 40)), np.nan)
        response = np.where(email_in, np.round(rng.lognormal(np.log(40.0), 1.1, n), 1), np.nan)

        # links: calls and emails to the rep's latest lead (<= 21 days old), meetings and demos to
        # the rep's latest deal while it is open. Leads and deals are in date order, so the latest
        # one on or before a day is a running maximum over a rep x day table.
        L, D = self.L, self.D
        first, span = self.ms[0], self.end_excl - self.ms[0]

        def latest(owner: np.ndarray, when: np.ndarray) -> np.ndarray:
            table = np.full((R, span), -1, dtype=np.int64)
            table[owner, when - first] = np.arange(len(when))
            return np.maximum.accumulate(table, axis=1)[rep, day - first]

        lead = latest(L["rep"], L["day"])
        lead = np.where((call | email_out) & (lead >= 0) & (u[3] < 0.75) & (day - L["day"][lead] <= 21), lead, -1)
        deal = latest(D["rep"], D["created"])
        closed = np.where(np.isnan(D["closed"]), np.inf, D["closed"])[deal]
        deal = np.where((meeting | demo) & (deal >= 0) & (closed >= day), deal, -1)
        a_type = np.array([0, 1, 1, 2, 3], dtype=np.int8)[kind]
        return pd.DataFrame({
            "activity_id": _id_col(self.ids("A", n)),
            "at": (day * _DAY_S + 8 * 3600 + sec).astype("datetime64[s]").astype("datetime64[ns]"),
            "rep": _cat(rep, self.rep_names),
            "type": _cat(a_type, ACTIVITY_TYPES),
            "direction": _cat(email_in.astype(np.int8), DIRECTIONS),
            "reached": _bools(reached, call | email_out),
            "qualified": _bools(qualified, call | email_out | meeting | demo),
            "converted": _bools(converted, call | email_out | meeting | demo),
            "opened": _bools(opened, email_out),
            "response_minutes": response,
            "duration_s": duration,
            "team": _cat(self.rep_team[rep], self.team_names),
            "region": _cat(self.rep_region[rep], REGIONS),
            "lead_id": _id_col(self.ids("L", len(L["day"])), lead),
            "deal_id": _id_col(self.ids("D", len(D["created"])), deal),
        })

    # ---- spend, traffic, targets, stages

    def spend_table(self) -> pd.DataFrame:
        rng, M, G = self.rng, self.M, len(REGIONS)
        L = self.L
        K, H = len(CAMPAIGNS), len(CHANNELS)
        key = ((L["month"] * G + L["region"]) * K + L["campaign"]) * H + L["channel"]
        count = np.bincount(key, minlength=M * G * K * H)
        cells = np.flatnonzero(count)
        ch = cells % H
        camp = cells // H % K
        g = cells // (H * K) % G
        m = cells // (H * K * G)
        amount = count[cells] * COST_PER_LEAD[ch] * CAMPAIGN_COST[camp] * rng.uniform(0.85, 1.15, len(cells))
        outbound = camp == OUTBOUND
        rows = [dict(month=m, region=g, category=np.where(outbound, 1, 0), channel=ch, campaign=camp,
                     amount=amount)]
        # the launch itself: agency, events, PR
        if len(self.spring):
            sm = np.repeat(self.spring, G)
            sg = np.tile(np.arange(G), len(self.spring))
            share = np.bincount(self.rep_region, minlength=G)[sg] / self.R
            rows.append(dict(month=sm, region=sg, category=np.zeros(len(sm), int), channel=np.full(len(sm), INBOUND),
                             campaign=np.full(len(sm), SPRING), amount=60000.0 * self.R / 30 * share))
        # commissions on won revenue, salaries, overhead: per region; tools: company-wide
        won = self.D["status"] == WON
        cm = self.month_of(self.D["closed"][won].astype(np.int64))
        rev = np.zeros((M, G))
        np.add.at(rev, (cm, self.rep_region[self.D["rep"][won]]), self.D["amount"][won])
        heads = np.stack([self.employed[self.rep_region == r].sum(0) for r in range(G)], 1).astype(float)  # M x G
        teams = np.bincount(self.team_region, minlength=G)[None, :].repeat(M, 0)
        mm, gg = np.nonzero(np.ones((M, G), bool))
        wage = 1.004 ** (np.arange(M) - M + 1)
        noise = rng.uniform(0.97, 1.03, (3, M * G))
        for cat, value in (
            (1, 0.08 * rev + 900.0 * heads),                              # commissions and travel
            (2, (WAGES * heads + 9000.0 * teams) * wage[:, None]),        # reps and team leads
            (4, 1200.0 * heads + 4000.0 * teams),                         # offices, finance, HR
        ):
            rows.append(dict(month=mm, region=gg, category=np.full(len(mm), cat), channel=np.full(len(mm), -1),
                             campaign=np.full(len(mm), -1), amount=value.ravel() * noise[cat % 3]))
        tools = 150.0 * self.employed.sum(0) + 2500.0 * (self.R / 30) ** 0.7
        rows.append(dict(month=np.arange(M), region=np.full(M, -1), category=np.full(M, 3),
                         channel=np.full(M, -1), campaign=np.full(M, -1), amount=tools))
        S = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
        order = np.lexsort((S["campaign"], S["channel"], S["region"], S["category"], S["month"]))
        S = {k: v[order] for k, v in S.items()}
        return pd.DataFrame({
            "month": _dates(self.ms[S["month"]]),
            "amount": np.round(S["amount"].astype(float), 2),
            "category": _cat(S["category"], SPEND_CATEGORIES),
            "channel": _cat(S["channel"], CHANNELS),
            "campaign": _cat(S["campaign"], CAMPAIGNS),
            "region": _cat(S["region"], REGIONS),
        })

    def traffic_table(self) -> pd.DataFrame:
        rng, M, G, H = self.rng, self.M, len(REGIONS), len(CHANNELS)
        L = self.L
        count = np.bincount((L["month"] * G + L["region"]) * H + L["channel"], minlength=M * G * H).reshape(M, G, H)
        rows = []
        for ch in TRAFFIC_CHANNELS:
            vis = (count[:, :, ch] + 1) * VISITORS_PER_LEAD[ch] * rng.lognormal(0, 0.08, (M, G))
            m, g = np.nonzero(np.ones((M, G), bool))
            rows.append((m, g, np.full(len(m), ch), np.round(vis.ravel()).astype(np.int64)))
        m, g, ch, vis = (np.concatenate(x) for x in zip(*rows))
        order = np.lexsort((ch, g, m))
        return pd.DataFrame({
            "month": _dates(self.ms[m[order]]),
            "visitors": pd.array(vis[order], dtype="Int64"),
            "region": _cat(g[order], REGIONS),
            "channel": _cat(ch[order], CHANNELS),
        })

    def targets_table(self) -> pd.DataFrame:
        """Monthly revenue targets per rep (rolled up to team, region, company), plus company won-deal
        and new-MRR goals. Set like a sales plan: the trend and season of what the team sells with a
        4 % stretch, split by headcount (20 %) and each rep's run rate in that plan year (80 %), ramped
        for new hires. The star's quota is an ordinary one for their territory: they beat it ~1.8x."""
        M, R, D = self.M, self.R, self.D
        won = D["status"] == WON
        cm = self.month_of(D["closed"][won].astype(np.int64))
        actual = np.zeros((R, M))
        np.add.at(actual, (D["rep"][won], cm), D["amount"][won])
        star_factor = 1.85
        adjusted = actual.copy()
        adjusted[self.star] = actual[self.star] / star_factor
        season = WIN_SEASON[self.moy] / WIN_SEASON[1:].mean()
        plan = 1.04 * _smooth(adjusted.sum(0), season)
        months = np.arange(M)[None, :]
        ramp = np.where(self.hire_m[:, None] > 0, np.clip((months - self.hire_m[:, None] + 1) / 4, 0.25, 1), 1.0)
        ramp = ramp * self.employed
        others = np.arange(R) != self.star
        block = (M - 1 - np.arange(M)) // 12  # plan years, ending with the end month
        rep_target = np.zeros((R, M))
        for b in np.unique(block):
            cols = block == b
            star = adjusted[self.star, cols].sum() * 1.04 * plan[cols] / plan[cols].sum()
            rep_target[self.star, cols] = star
            emp = ramp[:, cols].sum(1)
            rate = adjusted[:, cols].sum(1) / np.maximum(emp, 1e-9)
            rel = rate / (adjusted[others][:, cols].sum() / max(emp[others].sum(), 1e-9))
            weight = ramp[:, cols] * (0.2 + 0.8 * rel)[:, None] * others[:, None]
            rep_target[:, cols] += (plan[cols] - star)[None, :] * weight / np.maximum(weight.sum(0), 1e-9)
        rep_target = _round(rep_target, 100)
        team_target = np.zeros((len(self.team_names), M))
        np.add.at(team_target, self.rep_team, rep_target)
        region_target = np.zeros((len(REGIONS), M))
        np.add.at(region_target, self.team_region, team_target)
        company = region_target.sum(0)

        won_deals = np.bincount(cm, minlength=M)[:M].astype(float)
        first = np.zeros(M)
        np.add.at(first, self.Cu["acq_m"], self.mrr[np.arange(self.C), self.Cu["acq_m"]])
        frames = []

        def add(values, metric, rep=None, team=None, region=None):
            values = np.atleast_2d(values)
            r, m = np.nonzero(values > 0)
            n = len(m)
            frames.append(dict(period=np.array(self.month_labels, dtype=object)[m], metric=np.full(n, metric),
                               value=values[r, m], rep=rep[r] if rep is not None else np.full(n, -1),
                               team=team[r] if team is not None else np.full(n, -1),
                               region=region[r] if region is not None else np.full(n, -1)))

        add(company, 0)
        add(region_target, 0, region=np.arange(len(REGIONS)))
        add(team_target, 0, team=np.arange(len(self.team_names)), region=self.team_region)
        add(rep_target, 0, rep=np.arange(R), team=self.rep_team, region=self.rep_region)
        add(np.round(1.03 * _smooth(won_deals, season)), 1)
        add(_round(1.03 * _smooth(first, np.ones(M)), 100), 2)
        T = {k: np.concatenate([f[k] for f in frames]) for k in frames[0]}
        return pd.DataFrame({
            "period": pd.array(T["period"], dtype="string"),
            "metric": _cat(T["metric"], ("revenue", "won_deals", "new_mrr")),
            "value": T["value"].astype(float),
            "rep": _cat(T["rep"], self.rep_names),
            "team": _cat(T["team"], self.team_names),
            "region": _cat(T["region"], REGIONS),
        })

    @staticmethod
    def stages_table() -> pd.DataFrame:
        return pd.DataFrame({
            "stage": _cat(np.arange(len(STAGES)), [s[0] for s in STAGES]),
            "order": pd.array([s[1] for s in STAGES], dtype="Int64"),
            "probability": [s[2] for s in STAGES],
        })

    def run(self) -> dict[str, pd.DataFrame]:
        self.leads()
        self.new_deals()
        self.customers()
        self.expansions()
        self.subscriptions()
        self.renewals()
        deals = self.deals_table()
        raw = {
            "deals": deals,
            "leads": self.leads_table(),
            "activities": self.activities_table(),
            "subscriptions": self.subscriptions_table(),
            "customers": self.customers_table(),
            "spend": self.spend_table(),
            "targets": self.targets_table(),
            "traffic": self.traffic_table(),
            "stages": self.stages_table(),
            "surveys": self.surveys_table(),
        }
        return {name: to_canonical(name, raw[name]) for name in TABLES}


# --------------------------------------------------------------------------- public API


def generate(seed: int = 0, months: int = 36, scale: str = "small",
             end: str | pd.Timestamp | None = None) -> dict[str, pd.DataFrame]:
    """Every canonical table of the Acme Cloud sample, with canonical dtypes.

    `end` is the last month included (default: the last complete month); the data
    covers `months` months ending with it. The same arguments give identical frames.
    """
    cfg, months = _check(scale, months)
    return _Acme(int(seed), months, cfg, _end_period(end)).run()


def sample(seed: int = 0, months: int = 36, scale: str = "small",
           end: str | pd.Timestamp | None = None) -> Dataset:
    """The Acme Cloud sample as a `Dataset` (see `generate`).

    Cached per argument tuple (`end` normalised to its month): repeated calls return
    the *same* Dataset object, so callers must not mutate it or its frames; copy first
    (`ds.deals.copy()`, `dataclasses.replace(ds, tables={...})`).
    """
    cfg, months = _check(scale, months)
    return _sample(int(seed), months, scale, str(_end_period(end)))


@functools.lru_cache(maxsize=8)
def _sample(seed: int, months: int, scale: str, end: str) -> Dataset:
    return Dataset(tables=generate(seed=seed, months=months, scale=scale, end=end), name=NAME,
                   currency=CURRENCY, stage_probabilities=dict(STAGE_PROBABILITIES))


def _arrow_for_csv(table: str, df: pd.DataFrame) -> pa.Table:
    """The table as Arrow columns ready for CSV: dates as ISO text (YYYY-MM-DD, or
    YYYY-MM-DDTHH:MM:SS where there is a time of day), categories as text, nulls empty."""
    cols = {}
    for col in TABLES[table].columns:
        if col.name not in df.columns:
            continue
        s = df[col.name]
        if col.kind in ("date", "month"):
            values = s.to_numpy(dtype="datetime64[s]")
            missing = np.isnat(values)
            timed = bool((values[~missing].astype(np.int64) % _DAY_S).any())
            text = np.datetime_as_string(values, unit="s" if timed else "D")
            cols[col.name] = pa.array(text, mask=missing)
        elif isinstance(s.dtype, pd.CategoricalDtype):
            cols[col.name] = pa.array(s.array).cast(pa.string())
        else:
            cols[col.name] = pa.array(s.array, from_pandas=True)
    return pa.table(cols)


def _write_csv(data: pa.Table, path: Path) -> None:
    pacsv.write_csv(data, str(path))


def write_sample(directory: str | os.PathLike, seed: int = 0, months: int = 36, scale: str = "small",
                 end: str | pd.Timestamp | None = None, format: str | None = None) -> Path:  # noqa: A002
    """Write the sample's tables and a `dataset.yml` describing them; returns the yml's path.

    Tables are CSV (small, medium) or Parquet (large, or `format="parquet"`), named
    `<table>.csv|.parquet`; every file is written atomically.
    """
    import yaml

    cfg, months = _check(scale, months)
    fmt = format or ("parquet" if scale == "large" else "csv")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be csv or parquet, not {fmt!r}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tables = generate(seed=seed, months=months, scale=scale, end=end)
    files: dict[str, dict[str, str]] = {}
    config = {"name": NAME, "currency": CURRENCY, "fiscal_year_start": 1,
              "stage_probabilities": dict(STAGE_PROBABILITIES), "tables": files}
    for name, df in tables.items():
        file = f"{name}.{fmt}"
        if fmt == "csv":
            atomic_write(directory / file, functools.partial(_write_csv, _arrow_for_csv(name, df)))
        else:
            atomic_write(directory / file, functools.partial(df.to_parquet, index=False))
        files[name] = {"path": file}
    path = directory / "dataset.yml"
    body = (f"# Acme Cloud: the kpitools sample dataset (seed {seed}, {months} months to "
            f"{_end_period(end)}, {scale})\n" + yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    atomic_write_text(path, body)
    return path
