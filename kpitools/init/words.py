"""What `kpitools init` recognises, as data: the names tables and columns go by in exports (English,
Russian, Persian, Arabic) and the words their values are written in. Names are compared after `norm()`
(case, spaces, underscores, Arabic and Persian letter variants), so each is written here once, as
people write it.
"""
from __future__ import annotations

import re
import unicodedata

from kpitools.data.presets import PRESETS

# Arabic letters that Persian writes with its own code points (and hamza forms), and Cyrillic ё.
_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "أ": "ا", "إ": "ا", "آ": "ا", "ۀ": "ه", "ؤ": "و", "ئ": "ی",
                          "ё": "е", "\u200c": " "})


def norm(name: object) -> str:
    """A name as compared: case-folded, letter variants unified, punctuation and runs of spaces as one space."""
    text = unicodedata.normalize("NFKC", str(name)).casefold().translate(_LETTERS)
    return " ".join(re.split(r"[\s_\-./()\[\]:,%#]+", text)).strip()


# --------------------------------------------------------------------------- table names (file names)

TABLE_NAMES: dict[str, tuple[str, ...]] = {
    "deals": ("deal", "deals", "opportunity", "opportunities", "oppty", "pipeline", "сделки", "сделка",
              "воронка", "معاملات", "معامله", "فرصت ها", "فرصت فروش", "صفقات", "الصفقات", "الفرص"),
    "leads": ("lead", "leads", "mql", "prospects", "лиды", "лид", "заявки", "سرنخ", "سرنخ ها", "العملاء المحتملون"),
    "activities": ("activity", "activities", "calls", "emails", "meetings", "звонки", "активности", "дела",
                   "فعالیت ها", "تماس ها", "الانشطة", "المکالمات"),
    "subscriptions": ("subscription", "subscriptions", "invoice", "invoices", "billing", "mrr", "payments",
                      "подписки", "счета", "оплаты", "اشتراک ها", "فاکتورها", "الاشتراکات", "الفواتیر"),
    "customers": ("account", "accounts", "customer", "customers", "client", "clients", "company", "companies",
                  "клиенты", "компании", "контрагенты", "مشتریان", "شرکت ها", "العملاء", "الشرکات"),
}
# Files looked up by a key (not canonical tables): named in the draft's comments.
LOOKUP_NAMES: dict[str, tuple[str, ...]] = {
    "a list of reps": ("users", "user", "reps", "owners", "sales team", "sales teams", "teams", "team",
                       "employees", "staff", "agents", "сотрудники", "менеджеры", "пользователи", "کاربران",
                       "کارشناسان", "کارمندان", "الموظفون", "المستخدمون", "المندوبون"),
    "a list of products": ("product", "products", "items", "catalog", "catalogue", "price list", "plans", "plan",
                           "pricing", "товары", "продукты", "прайс", "محصولات", "کالاها", "المنتجات", "الخطط"),
    "a list of accounts": TABLE_NAMES["customers"],
}

# --------------------------------------------------------------------------- column names

_ID = ("id", "no", "№", "number", "код", "номер", "ид", "شناسه", "کد", "شماره", "المعرف", "الرقم", "رقم")
_CREATED = ("created", "created at", "created date", "create date", "creation date", "date created",
            "created on", "opened", "open date", "engage date", "start date", "дата создания", "создана",
            "создано", "дата открытия", "تاریخ ایجاد", "تاریخ ثبت", "تاریخ الانشاء", "تاریخ الاضافة")
_REP = ("owner", "deal owner", "opportunity owner", "owner name", "sales rep", "rep", "salesperson",
        "sales person", "sales agent", "agent", "assigned to", "responsible", "user", "user name",
        "ответственный", "менеджер", "продавец", "сотрудник", "کارشناس فروش", "کارشناس", "مسئول", "فروشنده",
        "مندوب المبیعات", "المندوب", "المسوول", "مسوول المبیعات", "البائع")
_TEAM = ("team", "sales team", "group", "manager", "sales manager", "owner role", "role", "department",
         "команда", "отдел", "группа", "تیم", "واحد", "گروه", "الفریق", "القسم")
_REGION = ("region", "territory", "area", "regional office", "sales region", "регион", "область",
           "округ", "منطقه", "استان", "ناحیه", "المنطقة", "الاقلیم")
_PRODUCT = ("product", "product name", "item", "sku", "продукт", "товар", "услуга", "محصول", "کالا", "المنتج")
_CUSTOMER = ("account", "account name", "account id", "customer", "customer id", "customer name", "client",
             "client id", "company", "company name", "клиент", "компания", "контрагент", "مشتری", "شرکت",
             "نام مشتری", "العمیل", "الشرکة", "اسم العمیل")
_SOURCE = ("lead source", "source", "origin", "источник", "منبع", "المصدر")
_CHANNEL = ("channel", "канал", "کانال", "القناة")
_CAMPAIGN = ("campaign", "кампания", "کمپین", "الحملة")
_SEGMENT = ("segment", "sector", "industry", "vertical", "сегмент", "отрасль", "صنعت", "بخش", "القطاع")
_PLAN = ("plan", "tariff", "тариф", "план", "طرح", "پلن", "الخطة", "الباقة")

COLUMN_NAMES: dict[str, dict[str, tuple[str, ...]]] = {
    "deals": {
        "deal_id": ("opportunity id", "deal id", "record id", "opportunity", "deal number", "№ сделки",
                    "номер сделки", "id сделки", "ид сделки", "شناسه معامله", "کد معامله", "شماره معامله",
                    "رقم الصفقة", "معرف الصفقة", *_ID),
        "created_at": _CREATED,
        "closed_at": ("closed", "closed at", "close date", "closed date", "closing date", "date closed",
                      "дата закрытия", "закрыта", "تاریخ بسته شدن", "تاریخ اختتام", "تاریخ الاغلاق"),
        "status": ("status", "state", "deal status", "outcome", "result", "статус", "состояние", "результат",
                   "وضعیت", "نتیجه", "الحالة", "النتیجة"),
        "stage": ("stage", "deal stage", "pipeline stage", "sales stage", "стадия", "этап", "مرحله",
                  "المرحلة"),
        "amount": ("amount", "value", "deal value", "close value", "opportunity amount", "deal amount", "sum",
                   "total", "сумма", "сумма сделки", "бюджет", "مبلغ", "ارزش", "مبلغ معامله", "المبلغ",
                   "القیمة"),
        "rep": _REP, "team": _TEAM, "region": _REGION, "product": _PRODUCT, "channel": _CHANNEL,
        "lead_source": _SOURCE, "campaign": _CAMPAIGN, "customer_id": _CUSTOMER,
        "deal_type": ("deal type", "type", "тип сделки", "тип", "نوع معامله", "نوع", "النوع"),
        "probability": ("probability", "win probability", "вероятность", "احتمال", "الاحتمال"),
        "quantity": ("quantity", "qty", "количество", "تعداد", "الکمیة"),
        "lost_reason": ("lost reason", "loss reason", "closed lost reason", "reason lost", "причина отказа",
                        "причина проигрыша", "دلیل باخت", "سبب الخسارة"),
        "expected_close_at": ("expected close", "expected close date", "estimated close date",
                              "ожидаемая дата закрытия", "تاریخ پیش بینی بسته شدن"),
        "first_contact_at": ("first contact", "first contact date", "дата первого контакта"),
    },
    "leads": {
        "lead_id": ("lead id", "mql id", "lead", "lead number", "id лида", "номер лида", "شناسه سرنخ", *_ID),
        "created_at": (*_CREATED, "first contact date", "first contact"),
        "source": _SOURCE, "channel": _CHANNEL, "campaign": _CAMPAIGN, "region": _REGION, "rep": _REP,
        "team": _TEAM,
        "mql_at": ("mql date", "mql at", "became mql"), "sql_at": ("sql date", "sql at", "became sql"),
        "opportunity_at": ("opportunity date", "converted to opportunity"),
        "converted_at": ("converted", "converted at", "conversion date", "converted date", "won date",
                         "дата конверсии", "تاریخ تبدیل"),
        "deal_id": ("deal id", "opportunity id"), "customer_id": ("customer id", "account id"),
    },
    "activities": {
        "activity_id": ("activity id", "task id", "call id", *_ID),
        "at": ("date", "at", "activity date", "timestamp", "time", "datetime", "call date", "дата", "время",
               "تاریخ", "زمان", "التاریخ"),
        "rep": _REP,
        "type": ("type", "activity type", "kind", "тип", "نوع", "النوع"),
        "direction": ("direction", "направление", "جهت"),
        "duration_s": ("duration", "duration s", "seconds", "длительность", "مدت"),
        "team": _TEAM, "region": _REGION, "lead_id": ("lead id",), "deal_id": ("deal id", "opportunity id"),
    },
    "subscriptions": {
        "customer_id": _CUSTOMER,
        "month": ("month", "period", "billing month", "invoice month", "billing period", "месяц", "период",
                  "ماه", "دوره", "الشهر"),
        "mrr": ("mrr", "monthly recurring revenue", "amount", "monthly amount", "total", "sum", "paid", "сумма",
                "مبلغ", "المبلغ"),
        "plan": _PLAN, "region": _REGION, "segment": _SEGMENT,
    },
    "customers": {
        "customer_id": _CUSTOMER,
        "acquired_at": ("acquired", "acquired at", "customer since", "first purchase", "дата первой покупки"),
        "region": _REGION, "segment": _SEGMENT, "channel": _CHANNEL,
    },
}
# A price in a looked-up file: what fills a blank amount (deals) or mrr (subscriptions).
PRICE_NAMES = ("price", "sales price", "list price", "unit price", "monthly price", "price per month", "цена",
               "стоимость", "قیمت", "السعر")
MONEY = {"deals": "amount", "subscriptions": "mrr"}  # the money column a price may fill

# --------------------------------------------------------------------------- values

# status words; the CRM presets' stage names come first, these add to them
_STATUS: dict[str, tuple[str, ...]] = {
    "won": ("won", "closed won", "win", "success", "successful", "выиграна", "выиграно", "успешно реализовано",
            "успешно", "сделка успешна", "реализовано", "برنده", "موفق", "بسته شده موفق", "ربح", "مکسب",
            "فوز", "ناجحة", "رابحة"),
    "lost": ("lost", "closed lost", "loss", "lose", "проиграна", "проиграно", "закрыто и не реализовано",
             "не реализовано", "отказ", "провал", "بازنده", "ناموفق", "از دست رفته", "شکست", "خسارة", "خاسرة",
             "فشل"),
    "open": ("open", "active", "engaging", "prospecting", "qualification", "qualified", "new", "in progress",
             "negotiation", "proposal", "demo", "discovery", "pending", "contacted", "working", "новая",
             "в работе", "переговоры", "подготовка документов", "счет на предоплату", "финальный счет",
             "квалификация", "предложение", "открыта", "در جریان", "باز", "جدید", "مذاکره", "در حال مذاکره",
             "پیشنهاد", "در حال پیگیری", "مفتوحة", "مفتوح", "جدیدة", "قید التفاوض", "قید التنفیذ", "عرض"),
}
_DEAL_TYPE: dict[str, tuple[str, ...]] = {
    "new": ("new", "new business", "new customer", "новая сделка", "новый клиент", "جدید", "مشتری جدید"),
    "upsell": ("upsell", "upgrade", "existing business", "допродажа", "افزایش فروش"),
    "cross_sell": ("cross sell", "cross-sell"),
    "renewal": ("renewal", "продление", "تمدید", "تجدید"),
}
_ACTIVITY_TYPE: dict[str, tuple[str, ...]] = {
    "call": ("call", "phone", "phone call", "звонок", "تماس", "مکالمه", "مکالمة", "اتصال"),
    "email": ("email", "e-mail", "mail", "письмо", "ایمیل", "بريد"),
    "meeting": ("meeting", "visit", "встреча", "جلسه", "اجتماع"),
    "demo": ("demo", "presentation", "демо", "презентация", "دمو", "عرض توضيحي"),
}
_DIRECTION: dict[str, tuple[str, ...]] = {
    "outbound": ("outbound", "outgoing", "out", "исходящий", "خروجی", "صادر"),
    "inbound": ("inbound", "incoming", "in", "входящий", "ورودی", "وارد"),
}
_FROM_PRESETS: dict[str, dict[str, str]] = {}
for _preset in PRESETS.values():
    for _column, _mapping in _preset.values.items():
        if _column in ("status", "deal_type"):
            _FROM_PRESETS.setdefault(_column, {}).update({norm(k): str(v) for k, v in _mapping.items()})

# canonical column -> {normalised value: canonical value}
VALUES: dict[str, dict[str, str]] = {
    column: {**_FROM_PRESETS.get(column, {}), **{norm(w): value for value, words in table.items() for w in words}}
    for column, table in {"status": _STATUS, "deal_type": _DEAL_TYPE, "type": _ACTIVITY_TYPE,
                          "direction": _DIRECTION}.items()
}
SAFE_VALUE = {"status": "open", "deal_type": "new"}  # for a value nobody recognised, until someone says

# Rows that are not business: a status-like column holding one of these is excluded.
EXCLUDE_VALUES = frozenset(norm(w) for w in (
    "test", "duplicate", "void", "voided", "draft", "deleted", "spam", "junk", "тест", "дубль", "дубликат",
    "черновик", "аннулирован", "تست", "آزمایشی", "تکراری", "باطل", "اختبار", "مکرر"))
TEST_WORD = re.compile(r"(?i)\b(test|тест|تست|اختبار)\b")  # in a name: 'Internal Test Co'

# Currency columns, and the script of headers that hints at a calendar.
CURRENCY_NAMES = ("currency", "value currency", "валюта", "ارز", "واحد پول", "العملة")
PERSIAN_LETTERS = re.compile("[پچژگکی]")
