"""The demo's scenario, shared by scripts/demo (scaled clocks) and the
integration test tests/integration/test_demo.py (manual clocks): the six
customers, their orders (Shopify REST JSON built from the test samples), how
each behaves, the simulator's and the daemon's configuration, and the readers
of the simulator's control API (sim/duegate-sim, /_sim/...)."""
import copy
import datetime as dt
import glob
import json
import os
import re
import secrets
import time
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START = "2026-12-01T06:00:00Z"  # a Tuesday; 07:00 in Madrid, 14:00 in Shanghai, 01:00 in New York

# core/store_sqlite.c status names, by number
STATUS_CASE = ["open", "paused", "promised", "paid", "cancelled", "expired", "opted_out",
               "resolved", "wont_pay"]
STATUS_TOUCH = ["scheduled", "sending", "sent", "delivered", "read", "replied", "failed", "expired"]

SHOP = {"shop_domain": "demo-shop.myshopify.com", "access_token": "shpat_demo_token",
        "client_secret": "demo-shopify-client-secret"}
MIN = 60 * 1000

# Who, where, and what they do. "expect" is the case status the test asserts.
# "operator": what the merchant's person does once the case needs a person and
# holds the customer's words (the demo plays the operator, through the admin API).
CUSTOMERS = [
    {"key": "pays", "first": "Ana", "last": "Parker", "country": "US", "province": "NY",
     "city": "New York", "locale": "en", "phone": "+12125550101", "currency": "USD",
     "flow": "presale", "due_days": 3, "owed": "240.00", "total": "320.00",
     "items": [("Linen trench coat", "S / sand")],
     "wa": {"behaviour": "reads"}, "pay_after_stage": "gentle", "expect": "paid"},
    {"key": "silent", "first": "Lucía", "last": "García", "country": "ES", "province": "M",
     "city": "Madrid", "locale": "es", "phone": "+34612000001", "currency": "EUR",
     "flow": "presale", "due_days": 3, "owed": "180.00", "total": "240.00",
     "items": [("Bolso de piel", "Camel")],
     "wa": {"behaviour": "never_reply"}, "sms": {"final_status": "delivered"}, "expect": "expired"},
    {"key": "asks", "first": "伟", "last": "张", "country": "CN", "province": "SH",
     "city": "上海", "locale": "zh-CN", "phone": "+8613800138001", "currency": "CNY",
     "flow": "presale", "due_days": 4, "owed": "1299.00", "total": "1899.00",
     "items": [("真丝连衣裙", "M / 墨绿")],
     "wa": {"behaviour": "reply_text", "after_ms": 40 * MIN, "text": "请问可以分两次付款吗？"},
     "expect": "paused"},
    {"key": "promises", "first": "Dan", "last": "Brooks", "country": "US", "province": "CA",
     "city": "Los Angeles", "locale": "en", "phone": "+13105550102", "currency": "USD",
     "flow": "presale", "due_days": 3, "owed": "95.00", "total": "150.00",
     "items": [("Wool overshirt", "L / navy")],
     "wa": {"behaviour": "reply_text", "after_ms": 30 * MIN,
            "text": "I get paid Monday, will pay Dec 7"},
     "operator": {"promise": "2026-12-07"}, "pay_after_stage": "followup", "expect": "paid"},
    {"key": "stop", "first": "Marta", "last": "Ruiz", "country": "ES", "province": "B",
     "city": "Barcelona", "locale": "es", "phone": "+34612000002", "currency": "EUR",
     "flow": "presale", "due_days": 3, "owed": "60.00", "total": "90.00",
     "items": [("Pañuelo de seda", "Azul")],
     "wa": {"behaviour": "stop", "after_ms": 10 * MIN}, "expect": "opted_out"},
    {"key": "unpaid", "first": "Javier", "last": "Moreno", "country": "ES", "province": "M",
     "city": "Madrid", "locale": "es", "phone": "+34612000003", "currency": "EUR",
     "flow": "unpaid", "close_hours": 24, "owed": "129.00", "total": "129.00",
     "items": [("Zapatillas de lona", "42 / blanco")],
     "wa": {"behaviour": "reads"}, "pay_after_stage": "value", "expect": "paid"},
]


def _iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _start():
    return dt.datetime.strptime(START, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def order_for(i, cu):
    """A Shopify REST order (webhook shape) for customer cu."""
    sample = "order_presale.json" if cu["flow"] == "presale" else "order_unpaid_jpy.json"
    with open(os.path.join(TOP, "tests", "plugins", "shopify", sample)) as f:
        o = json.load(f)
    oid = 5400000000000000000 + i + 1
    cur, t0 = cu["currency"], _start()
    money = lambda v: {"shop_money": {"amount": v, "currency_code": cur},
                       "presentment_money": {"amount": v, "currency_code": cur}}
    o.update({"id": oid, "admin_graphql_api_id": "gid://shopify/Order/%d" % oid,
              "name": "#%d" % (1001 + i), "number": 1 + i, "order_number": 1001 + i,
              "email": "%s@example.com" % cu["key"], "contact_email": "%s@example.com" % cu["key"],
              "phone": cu["phone"], "customer_locale": cu["locale"], "currency": cur,
              "presentment_currency": cur, "created_at": _iso(t0), "processed_at": _iso(t0),
              "updated_at": _iso(t0), "total_price": cu["total"], "current_total_price": cu["total"],
              "subtotal_price": cu["total"], "current_subtotal_price": cu["total"],
              "total_outstanding": cu["owed"], "total_price_set": money(cu["total"]),
              "current_total_price_set": money(cu["total"]), "total_tax": "0.00",
              "order_status_url": "https://demo-shop.example/orders/%d/status" % oid,
              "cancelled_at": None, "closed_at": None, "note_attributes": []})
    addr = {"first_name": cu["first"], "last_name": cu["last"], "name": cu["first"] + " " + cu["last"],
            "address1": "1 Demo Street", "address2": None, "city": cu["city"], "zip": "00000",
            "province": cu["province"], "province_code": cu["province"], "country": cu["country"],
            "country_code": cu["country"], "phone": cu["phone"], "company": None,
            "latitude": None, "longitude": None}
    o["billing_address"] = dict(addr)
    o["shipping_address"] = dict(addr)
    cust = o.get("customer") or {}
    cust.update({"id": 7700000000 + i, "email": o["email"], "first_name": cu["first"],
                 "last_name": cu["last"], "phone": cu["phone"], "orders_count": 1,
                 "currency": cur, "default_address": dict(addr)})
    o["customer"] = cust
    li0 = o["line_items"][0]
    items = []
    for j, (title, variant) in enumerate(cu["items"]):
        li = copy.deepcopy(li0)
        li.update({"id": 8800000000000 + i * 10 + j, "title": title, "variant_title": variant,
                   "name": "%s - %s" % (title, variant), "price": cu["total"], "quantity": 1,
                   "price_set": money(cu["total"]), "current_quantity": 1,
                   "fulfillable_quantity": 1})
        items.append(li)
    o["line_items"] = items
    o["refunds"] = []
    o["fulfillments"] = []
    if cu["flow"] == "presale":
        o["financial_status"] = "partially_paid"
        o["tags"] = "pre-order"
        due = t0 + dt.timedelta(days=cu["due_days"], hours=11)
        o["payment_terms"]["payment_schedules"] = [{
            "amount": cu["owed"], "currency": cur, "issued_at": _iso(t0), "due_at": _iso(due),
            "completed_at": None, "expected_payment_method": "shopify_payments"}]
    else:
        o["financial_status"] = "pending"
        o["tags"] = ""
        o["payment_terms"] = None
    return o


def orders():
    return [order_for(i, cu) for i, cu in enumerate(CUSTOMERS)]


# ------------------------------------------------------------ configuration


def wa_templates(templates_dir):
    """The pre-approved WhatsApp templates of the shipped templates, as the
    WhatsApp persona registers them, and {(name, language): body}."""
    regs, bodies = [], {}
    for path in sorted(glob.glob(os.path.join(templates_dir, "*", "*", "whatsapp.json"))):
        with open(path) as f:
            spec = json.load(f)
        buttons = [b["type"] for b in spec.get("buttons", [])]
        for loc in spec.get("locales", {}).values():
            params = loc.get("params", spec.get("params", []))
            reg = {"name": loc["name"], "language": loc["language"], "buttons": buttons}
            if isinstance(params, dict):
                reg["params"] = len(params)
                reg["param_names"] = list(params.keys())
            else:
                reg["params"] = len(params)
            regs.append(reg)
            bodies[(loc["name"], loc["language"])] = loc["body"]
    return regs, bodies


def sim_config(base, dport, clock, templates_dir):
    ch = base["channels"]
    daemon = "http://127.0.0.1:%d" % dport
    regs, _ = wa_templates(templates_dir)
    wa_customers = []
    for cu in CUSTOMERS:
        w = dict(cu["wa"])
        w["phone"] = cu["phone"]
        wa_customers.append(w)
    numbers = [{"phone": cu["phone"], "final_status": cu.get("sms", {}).get("final_status", "delivered")}
               for cu in CUSTOMERS]
    return {
        "listen": "127.0.0.1:0", "clock": clock, "seed": 7,
        "whatsapp": {"phone_number_id": ch["whatsapp"]["phone_number_id"],
                     "access_token": ch["whatsapp"]["access_token"],
                     "app_secret": ch["whatsapp"]["app_secret"],
                     "callback_url": daemon + "/webhooks/whatsapp/whatsapp",
                     "templates": regs, "customers": wa_customers},
        "twilio": {"account_sid": ch["sms"]["account_sid"], "auth_token": ch["sms"]["auth_token"],
                   "inbound_url": daemon + "/webhooks/sms/sms/inbound", "numbers": numbers},
        "shopify": dict(SHOP, callback_url=daemon + "/webhooks/shopify/shop"),
    }


def daemon_config(base, top, work, dport, sim_url, smtp_port, clock):
    """The daemon's configuration; the admin API on 127.0.0.1 port 0 (read the
    port back with admin_port), its token from $DUEGATE_ADMIN_TOKEN (admin_env)."""
    cfg = copy.deepcopy(base)
    d = cfg["daemon"]
    d["admin_listen"] = "127.0.0.1:0"
    d["state_db"] = os.path.join(work, "demo.db")
    d["templates_dir"] = os.path.join(top, "templates")
    d["listen"] = "127.0.0.1:%d" % dport
    d["public_url"] = "http://127.0.0.1:%d" % dport
    d["clock"] = clock
    cfg["stores"]["shop"]["admin_base"] = sim_url
    cfg["channels"]["whatsapp"]["api_base"] = sim_url
    cfg["channels"]["sms"]["api_base"] = sim_url
    cfg["channels"]["email"]["smtp_url"] = "smtp://127.0.0.1:%d" % smtp_port
    return cfg


# ------------------------------------------------------------ admin API

OPERATOR = "demo-operator"
TOKEN_ENV = "DUEGATE_ADMIN_TOKEN"  # examples/demo.json: "admin_token": {"env": ...}


def admin_env(token):
    """The daemon's environment: a fresh random admin token (never printed)."""
    env = dict(os.environ)
    env[TOKEN_ENV] = token
    return env


def new_token():
    return secrets.token_urlsafe(32)


def admin_port(log_path, proc=None, timeout=20):
    """The admin listener's port, from the daemon's log line
    `admin admin_listening addr=127.0.0.1:0 port=N` (it binds port 0)."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            with open(log_path, errors="replace") as f:
                m = re.search(r" admin_listening .*\bport=(\d+)", f.read())
            if m:
                return int(m.group(1))
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError("the daemon's admin API did not start (see %s)" % log_path)


class Admin:
    """The admin API (docs/admin.md) as the demo's operator uses it."""

    def __init__(self, url, token, who=OPERATOR):
        self.url, self.token, self.who = url, token, who

    def call(self, path, method="GET", body=None, timeout=10):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Content-Type": "application/json", "Authorization": "Bearer " + self.token,
            "X-Duegate-Operator": self.who})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def case(self, case_id):
        return self.call("/api/cases/%d" % case_id)

    def promise(self, case_id, pay_by):
        return self.call("/api/cases/%d/promise" % case_id, "POST", {"pay_by": pay_by})


class Operator:
    """The merchant's person: when a case needs a person and holds the words of
    a customer whose scenario has an "operator" entry, records what the customer
    said through the admin API (a promise to pay by the date), once per case."""

    def __init__(self, admin, orders_):
        self.admin = admin
        self.by_name = {o["name"]: cu for o, cu in zip(orders_, CUSTOMERS)}
        self.done = set()

    def react(self, world):
        acted = []
        for r in world.query("SELECT id, order_name, feedback FROM eng_cases "
                             "WHERE needs_person = 1 AND feedback IS NOT NULL AND feedback != ''"):
            cu = self.by_name.get(r["order_name"])
            if not cu or "operator" not in cu or r["order_name"] in self.done:
                continue
            self.done.add(r["order_name"])
            case = self.admin.promise(r["id"], cu["operator"]["promise"])
            acted.append((r["order_name"], cu, case))
        return acted


# ------------------------------------------------------------ simulator API


def call(url, method="GET", body=None, timeout=5):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


def seed(sim_url):
    os_ = orders()
    for o in os_:  # one at a time: a list is re-serialised by cJSON, losing ids above 2^53
        call(sim_url + "/_sim/shopify/orders", "POST", o)
    return os_


def sim_messages(sim_url):
    """{"whatsapp": [records], "sms": [messages]} as the simulator received them."""
    try:
        return call(sim_url + "/_sim/messages") or {}
    except OSError:
        return {}


def wa_record_text(rec, bodies):
    """(wamid, the message as the customer reads it) from a WhatsApp record."""
    req = rec.get("request") or {}
    wamid = rec.get("wamid")
    if req.get("type") == "text":
        return wamid, (req.get("text") or {}).get("body", "").split("\n")[0]
    t = req.get("template") or {}
    body = bodies.get((t.get("name"), (t.get("language") or {}).get("code")))
    params = []
    for comp in t.get("components", []):
        if comp.get("type") == "body":
            params = [p.get("text", "") for p in comp.get("parameters", [])]
    if body is None:
        return wamid, "template %s" % t.get("name")
    for k, v in enumerate(params, 1):
        body = body.replace("{{%d}}" % k, v)
    return wamid, body.split("\n")[0]


class Customers:
    """The customers who pay: each pays through the Shopify persona once the
    stage named in pay_after_stage has reached them (the daemon's record)."""

    def __init__(self, sim_url, orders_):
        self.sim = sim_url
        self.ids = {o["name"]: str(o["id"]) for o in orders_}
        self.by_name = {o["name"]: cu for o, cu in zip(orders_, CUSTOMERS)}
        self.paid = set()

    def react(self, world, now=None):
        """Pay for whoever's stage has come; returns (order name, customer,
        the clock's `now()` just before paying, or None without one)."""
        rows = world.query("SELECT c.order_name, t.stage, t.status FROM eng_touches t "
                           "JOIN eng_cases c ON c.id = t.case_id")
        acted = []
        for r in rows:
            cu = self.by_name.get(r["order_name"])
            if not cu or r["order_name"] in self.paid or cu.get("pay_after_stage") != r["stage"]:
                continue
            if r["status"] >= 3 and STATUS_TOUCH[r["status"]] != "failed":  # delivered or later
                at = now() if now else None
                call(self.sim + "/_sim/shopify/orders/%s/pay" % self.ids[r["order_name"]], "POST", {})
                self.paid.add(r["order_name"])
                acted.append((r["order_name"], cu, at))
        return acted


def all_settled(cases, n):
    """Every order has a case and none is still being chased."""
    return len(cases) >= n and all(STATUS_CASE[c["status"]] not in ("open", "promised")
                                   for c in cases.values())
