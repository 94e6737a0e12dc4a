"""The canonical tables of the sales dataset (see data-model.md).

One `Table` per canonical table, one `Column` per canonical column. The loader
uses these to convert types; `kpitools.data.validate` turns them into pandera
schemas. Nothing here reads files.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["id", "str", "category", "date", "month", "money", "float", "int", "bool"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    allowed: tuple[str, ...] | None = None  # closed set of values
    bounds: tuple[float, float] | None = None  # inclusive numeric range
    meaning: str = ""
    planned: bool = False  # a date in the future by nature (expected close): not an event


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: str | None = None  # unique id column
    meaning: str = ""
    links: dict[str, str] = field(default_factory=dict)  # column -> "table.column"

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


DEAL_STATUS = ("open", "won", "lost")
DEAL_TYPES = ("new", "upsell", "cross_sell", "renewal")
ACTIVITY_TYPES = ("call", "email", "meeting", "demo")
DIRECTIONS = ("outbound", "inbound")
CHURN_REASONS = ("voluntary", "passive")
SPEND_CATEGORIES = ("marketing", "sales", "salaries", "tools", "overhead")

C = Column
TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "deals",
            (
                C("deal_id", "id", True, meaning="unique"),
                C("created_at", "date", True, meaning="opportunity created"),
                C("closed_at", "date", meaning="null while open; required for won/lost"),
                C("status", "category", True, allowed=DEAL_STATUS),
                C("amount", "money", True, meaning="deal value (expected value while open)"),
                C("rep", "category"), C("team", "category"), C("region", "category"),
                C("product", "category"), C("channel", "category"),
                C("lead_source", "category"), C("campaign", "category"),
                C("customer_id", "id"),
                C("deal_type", "category", allowed=DEAL_TYPES),
                C("stage", "category"),
                C("probability", "float", bounds=(0, 1)),
                C("cost", "money"),
                C("quantity", "float", bounds=(0, float("inf"))),
                C("first_contact_at", "date"),
                C("expected_close_at", "date", planned=True),
                C("lost_reason", "category"),
                C("score", "int", bounds=(1, 5)),
            ),
            key="deal_id",
            meaning="one row per opportunity (required)",
            links={"customer_id": "customers.customer_id"},
        ),
        Table(
            "leads",
            (
                C("lead_id", "id", True),
                C("created_at", "date", True),
                C("source", "category"), C("channel", "category"), C("campaign", "category"),
                C("region", "category"), C("rep", "category"), C("team", "category"),
                C("mql_at", "date"), C("sql_at", "date"), C("opportunity_at", "date"),
                C("converted_at", "date"),
                C("deal_id", "id"), C("customer_id", "id"),
            ),
            key="lead_id",
            meaning="one row per lead",
            links={"deal_id": "deals.deal_id"},
        ),
        Table(
            "activities",
            (
                C("activity_id", "id", True),
                C("at", "date", True),
                C("rep", "category", True),
                C("type", "category", True, allowed=ACTIVITY_TYPES),
                C("direction", "category", allowed=DIRECTIONS),
                C("reached", "bool"), C("qualified", "bool"), C("converted", "bool"),
                C("opened", "bool"),
                C("response_minutes", "float", bounds=(0, float("inf"))),
                C("duration_s", "float", bounds=(0, float("inf"))),
                C("team", "category"), C("region", "category"),
                C("lead_id", "id"), C("deal_id", "id"),
            ),
            key="activity_id",
            meaning="one row per call, email, meeting or demo",
            links={"deal_id": "deals.deal_id"},
        ),
        Table(
            "subscriptions",
            (
                C("customer_id", "id", True),
                C("month", "month", True),
                C("mrr", "money", True),
                C("plan", "category"), C("region", "category"), C("segment", "category"),
                C("churn_reason", "category", allowed=CHURN_REASONS),
            ),
            meaning="recurring revenue, one row per customer per month",
            links={"customer_id": "customers.customer_id"},
        ),
        Table(
            "customers",
            (
                C("customer_id", "id", True),
                C("acquired_at", "date"),
                C("region", "category"), C("segment", "category"), C("channel", "category"),
            ),
            key="customer_id",
            meaning="one row per customer (derived from deals/subscriptions when absent)",
        ),
        Table(
            "spend",
            (
                C("month", "month", True),
                C("amount", "money", True),
                C("category", "category", allowed=SPEND_CATEGORIES),
                C("channel", "category"), C("campaign", "category"), C("region", "category"),
            ),
            meaning="sales and marketing cost",
        ),
        Table(
            "targets",
            (
                C("period", "str", True, meaning="month (2024-03), quarter (2024Q1) or year (2024)"),
                C("metric", "category", True, meaning="a KPI id: revenue, won_deals, new_mrr, ..."),
                C("value", "float", True),
                C("rep", "category"), C("team", "category"), C("region", "category"),
            ),
            meaning="quotas and goals; all level columns null = company target",
        ),
        Table(
            "traffic",
            (
                C("month", "month", True),
                C("visitors", "int", True, bounds=(0, float("inf"))),
                C("region", "category"), C("channel", "category"),
            ),
            meaning="website visitors",
        ),
        Table(
            "stages",
            (
                C("stage", "category", True),
                C("order", "int", True),
                C("probability", "float", True, bounds=(0, 1)),
            ),
            key="stage",
            meaning="the pipeline definition",
        ),
        Table(
            "surveys",
            (
                C("customer_id", "id", True),
                C("at", "date", True),
                C("score", "int", True, bounds=(0, 10)),
            ),
            meaning="NPS answers",
            links={"customer_id": "customers.customer_id"},
        ),
    ]
}
del C

# Columns one may group or filter by: every text dimension of any table.
DIMENSIONS: frozenset[str] = frozenset(
    c.name for t in TABLES.values() for c in t.columns if c.kind == "category"
) - {"status", "type", "direction", "metric", "churn_reason", "lost_reason", "stage", "category"}
