#!/usr/bin/python3
"""duegate demo: the whole product on one machine, days of dunning in minutes.

    ./scripts/demo [--rate 3600] [--minutes 4] [--keep DIR]   (this file: scripts/demo.py)

Installs what is missing and builds (scripts/bootstrap), then starts on 127.0.0.1,
each on a free port: a real SMTP server (tests/integration/smtp_sink.py, Debian's
python3-aiosmtpd), the simulator sim/duegate-sim (Shopify Admin + webhooks,
WhatsApp Cloud API, Twilio) and the daemon with examples/demo.json, both on the same
scaled clock (one virtual hour per wall second by default). Six orders are seeded
through the Shopify persona; the simulated customers behave as scripted (pay, stay
silent, ask, promise, STOP). The demo also plays the merchant's operator: when a
reply waits for a person and the customer named a date, it records the promise to
pay through the daemon's admin API (127.0.0.1, a port the daemon picks; a random
token passed in $DUEGATE_ADMIN_TOKEN, never printed). The timeline printed is read
from what really happened: the daemon's SQLite database (read-only: eng_cases,
eng_touches, eng_actions for the operator's actions), the simulator's
records of the messages it received and the mails the SMTP server got. At the end: the
tracking table of domain.md and the amount recovered. Ctrl-C stops everything.
"""
import argparse
import datetime as dt
import email
import email.header
import email.policy
import glob
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.request

try:
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover
    ZoneInfo = None

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "scripts"))
import demo_scenario as scen  # noqa: E402

# ------------------------------------------------------------------ output

COLOR = sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def c(code, s):
    return "\033[%sm%s\033[0m" % (code, s) if COLOR else s


STAGE_COL = {"gentle": "36", "service": "36", "formal": "33", "value": "33",
             "final": "31", "last_chance": "31", "followup": "35"}
STATUS_COL = {"paid": "32;1", "expired": "31;1", "opted_out": "35;1", "paused": "33;1",
              "promised": "34;1", "cancelled": "31", "resolved": "32"}


def width(s):
    """Terminal columns of s (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def pad(s, n):
    return s + " " * max(0, n - width(s))


def log(msg):
    print(c("2", "demo: ") + msg, flush=True)


# --------------------------------------------------------------- processes

children = []


def cleanup(*_):
    for p in reversed(children):
        if p.poll() is None:
            try:
                p.terminate()
            except OSError:
                pass
    deadline = time.time() + 5
    for p in reversed(children):
        try:
            p.wait(max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    children.clear()


def on_signal(signum, _frame):
    cleanup()
    print()
    log("stopped (signal %d); every process it started is gone" % signum)
    sys.exit(130)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def spawn(argv, logpath, **kw):
    f = open(logpath, "wb")
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=f, stdin=subprocess.PIPE,
                         start_new_session=True, **kw)
    children.append(p)
    return p


def read_line(p, pattern, what, timeout=30):
    """First stdout line of p matching pattern (a regex with one group)."""
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    end = time.time() + timeout
    buf = b""
    while time.time() < end:
        if p.poll() is not None:
            break
        if sel.select(0.2):
            ch = os.read(p.stdout.fileno(), 4096)
            if not ch:
                break
            buf += ch
            for line in buf.decode(errors="replace").splitlines():
                m = re.search(pattern, line)
                if m:
                    return m.group(1)
    raise SystemExit("demo: %s did not start (see its log)" % what)


def http(method, url, body=None, timeout=5):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


def wait_http(url, what, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # answering (404 is fine)
        except OSError:
            time.sleep(0.1)
    raise SystemExit("demo: %s did not answer at %s" % (what, url))


# ------------------------------------------------------------------ reading


def ms_to_dt(ms, tz=None):
    t = dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc)
    if tz and ZoneInfo:
        try:
            t = t.astimezone(ZoneInfo(tz))
        except Exception:
            pass
    return t


def money(minor, cur):
    exp = 0 if cur in ("JPY", "KRW", "CLP", "VND") else 2
    return "%s %s" % (cur, "%d" % minor if exp == 0 else "%.2f" % (minor / 100))


class World:
    """What really happened: the daemon's database (read-only) and the
    simulator's and SMTP server's records, polled incrementally."""

    def __init__(self, db, sim_url, mail_dir, wa_bodies):
        self.db_path, self.sim, self.mail_dir, self.wa_bodies = db, sim_url, mail_dir, wa_bodies
        self.db = None
        self.wa = {}      # wamid -> first line
        self.sms = {}     # sid -> first line
        self.mails = {}   # rcpt -> [subject...]
        self.wa_from = self.sms_from = 0
        self.seen_mail = set()

    def conn(self):
        if self.db is None and os.path.exists(self.db_path):
            self.db = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=2)
            self.db.row_factory = sqlite3.Row
        return self.db

    def query(self, sql, args=()):
        db = self.conn()
        if not db:
            return []
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.OperationalError:
            return []  # tables not created yet, or a writer holds the lock

    def poll_records(self):
        msgs = scen.sim_messages(self.sim)
        for rec in msgs.get("whatsapp", [])[self.wa_from:]:
            self.wa_from += 1
            wamid, text = scen.wa_record_text(rec, self.wa_bodies)
            if wamid:
                self.wa[wamid] = text
        for rec in msgs.get("sms", [])[self.sms_from:]:
            self.sms_from += 1
            sid, text = rec.get("sid"), (rec.get("body") or "").split("\n")[0]
            if sid:
                self.sms[sid] = text
        for path in sorted(glob.glob(os.path.join(self.mail_dir, "*.eml"))):
            if path in self.seen_mail:
                continue
            self.seen_mail.add(path)
            with open(path, "rb") as f:
                m = email.message_from_binary_file(f, policy=email.policy.default)
            subj = str(m.get("Subject", ""))
            for rcpt in m.get_all("To", []):
                addr = email.utils.parseaddr(str(rcpt))[1].lower()
                self.mails.setdefault(addr, []).append(subj)

    def text_of(self, touch, case):
        pid = touch["provider_id"] or ""
        ch = touch["channel"]
        if ch == "whatsapp" and pid in self.wa:
            return self.wa[pid]
        if ch == "sms" and pid in self.sms:
            return self.sms[pid]
        if ch == "email":
            subs = self.mails.get((case["email"] or "").lower())
            if subs:
                return "Subject: " + subs[-1]
        return "(template %s)" % touch["template_id"]


# ----------------------------------------------------------------- timeline


def row(vt, local, order, stage, channel, what, col="0"):
    cols = shutil.get_terminal_size((160, 24)).columns
    room = max(30, cols - 79)
    if width(what) > room:
        while width(what) > room - 1:
            what = what[:-1]
        what += "\u2026"
    line = "%s  %s  %s %-11s %-9s %s" % (
        c("1", vt.strftime("%a %d %b %H:%M")), c("2", local), c("1", "%-6s" % order), stage, channel, what)
    print(line if not COLOR else line.replace(what, c(col, what)), flush=True)


# when the case has no zone stored, the engine decides one from the country
# or phone prefix (core/tz.c); these are the demo's countries
COUNTRY_TZ = {"CN": "Asia/Shanghai", "ES": "Europe/Madrid", "US": "America/New_York"}


# why a touch was not sent, in words (the touch's error_code); others print as is
FAILED_WHY = {
    "window_closed": "not sent: no approved WhatsApp template for this message, and the "
                     "customer's 24-hour window is closed; the next channel takes over",
    "131026": "not sent: the number is not on WhatsApp; the next channel takes over",
}


def zone_of(case):
    return case["tz"] or COUNTRY_TZ.get(case["country"] or "", "UTC")


def local_of(ms, case):
    t = ms_to_dt(ms, zone_of(case))
    return "%s %-21s" % (t.strftime("%H:%M"), "(" + zone_of(case) + ")")


def describe_action(a):
    """An operator action (eng_actions row) as a timeline line."""
    what, arg = a["what"], a["arg"] or ""
    if what == "promise":
        try:
            by = dt.datetime.strptime(arg[:19], "%Y-%m-%dT%H:%M:%S").strftime("%a %d %b %H:%M UTC")
        except ValueError:
            by = arg
        return "%s recorded a promise to pay by %s (admin API)" % (a["who"], by)
    return "%s: %s%s (admin API)" % (a["who"], what.replace("_", " "), " " + arg if arg else "")


class Timeline:
    def __init__(self, world):
        self.w = world
        self.touch_state = {}
        self.case_state = {}
        self.action_from = 0

    def step(self):
        self.w.poll_records()
        cases = {r["id"]: r for r in self.w.query("SELECT * FROM eng_cases")}
        events = []
        for t in self.w.query("SELECT * FROM eng_touches ORDER BY id"):
            prev = self.touch_state.get(t["id"])
            st = t["status"]
            if prev == st:
                continue
            cs = cases.get(t["case_id"])
            if not cs:
                continue
            name = scen.STATUS_TOUCH[st] if 0 <= st < len(scen.STATUS_TOUCH) else "?"
            if prev is None or (prev < 2 <= st and name != "failed"):
                if st >= 2 and name != "failed":
                    at = t["sent_at"] or t["created_at"]
                    events.append((at, cs, t["stage"], t["channel"], "sent: " + self.w.text_of(t, cs),
                                   STAGE_COL.get(t["stage"], "0")))
            if name in ("read", "failed") and prev != st:
                code = t["error_code"] or ""
                why = name if name == "read" else FAILED_WHY.get(code, "failed %s" % code)
                events.append((t["updated_at"], cs, t["stage"], t["channel"], "· " + why, "2"))
            self.touch_state[t["id"]] = st if (st >= 2 or prev is None) else prev
        for a in self.w.query("SELECT * FROM eng_actions WHERE id > ? ORDER BY id", (self.action_from,)):
            self.action_from = a["id"]
            cs = cases.get(a["case_id"])
            if cs:
                events.append((a["at"], cs, "-", "operator", describe_action(a), "34"))
        for cid, cs in cases.items():
            key = (cs["status"], cs["feedback"] or "")
            prev = self.case_state.get(cid)
            if prev == key:
                continue
            self.case_state[cid] = key
            status = scen.STATUS_CASE[cs["status"]]
            if prev is None:
                events.append((cs["created_at"], cs, "-", "shopify",
                               "case opened: %s owed; next: %s" % (money(cs["amount_minor"], cs["currency"]),
                                                                   cs["next_step"] or "-"), "2"))
                if status == "open":
                    continue
            if cs["feedback"] and (prev is None or prev[1] != cs["feedback"]):
                events.append((cs["last_contact_at"] or cs["changed_at"], cs, "-", "customer",
                               "customer said: \u201c%s\u201d" % cs["feedback"], "1"))
            if prev is None or prev[0] != cs["status"]:
                if status != "open":
                    events.append((cs["changed_at"], cs, "-", "engine",
                                   "%s: %s" % (status.upper(), re.sub(r"^none: ", "", cs["next_step"] or cs["pause_reason"] or "")),
                                   STATUS_COL.get(status, "0")))
        events.sort(key=lambda e: e[0] or 0)
        for at, cs, stage, ch, what, col in events:
            row(ms_to_dt(at or 0), local_of(at or 0, cs), cs["order_name"], stage, ch, what, col)
        return cases


def summary(world):
    cases = world.query("SELECT * FROM eng_cases ORDER BY id")
    promised = {a["case_id"]: a for a in world.query(
        "SELECT * FROM eng_actions WHERE what = 'promise' ORDER BY id")}
    followups = {r["case_id"]: r["n"] for r in world.query(
        "SELECT case_id, count(DISTINCT step) n FROM eng_touches WHERE stage = 'followup' "
        "AND status >= 2 AND status != 6 GROUP BY case_id")}
    head = ["customer", "order", "product", "balance", "due date", "last contact",
            "customer feedback", "next step"]
    rows = []
    recovered = {}
    for cs in cases:
        status = scen.STATUS_CASE[cs["status"]]
        due = cs["due_at"] or cs["close_at"]
        last = cs["last_contact_at"] or cs["last_touch_at"]
        fb = cs["feedback"] or ""
        nxt = cs["next_step"] or ""
        if nxt.startswith("none: "):
            nxt = nxt[6:]
        if status == "paid":
            recovered[cs["currency"]] = recovered.get(cs["currency"], 0) + cs["amount_minor"]
            nxt = "nothing: paid"
        pa = promised.get(cs["id"])
        if pa:  # the operator's promise (eng_actions) and what came of it
            day = (pa["arg"] or "")[:10]
            try:
                day = dt.datetime.strptime(day, "%Y-%m-%d").strftime("%d %b")
            except ValueError:
                pass
            nxt = "%s (promised for %s%s)" % (nxt, day,
                                             "; after 1 follow-up" if followups.get(cs["id"]) else "")
        rows.append(["%s %s (%s)" % (cs["first_name"], cs["last_name"], cs["country"]), cs["order_name"],
                     (cs["items_summary"] or "")[:28], money(cs["amount_minor"], cs["currency"]),
                     ms_to_dt(due, zone_of(cs)).strftime("%d %b %H:%M") if due else "-",
                     ms_to_dt(last, zone_of(cs)).strftime("%d %b %H:%M") if last else "-",
                     fb[:40], "[%s] %s" % (status, nxt[:64])])
    w = [max(width(str(r[i])) for r in [head] + rows) for i in range(len(head))]
    print()
    print(c("1", "  ".join(pad(h, w[i]) for i, h in enumerate(head))))
    for r in rows:
        print("  ".join(pad(str(v), w[i]) for i, v in enumerate(r)).rstrip())
    total = ", ".join(money(v, k) for k, v in sorted(recovered.items())) or "nothing"
    print()
    print(c("32;1", "Recovered: %s" % total) + "  (orders paid after a reminder, in the order's currency)")
    return cases


# --------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=5400, help="virtual seconds per wall second")
    ap.add_argument("--minutes", type=float, default=5, help="wall-time cap")
    ap.add_argument("--days", type=float, default=10.5, help="virtual days to run")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--keep", help="keep logs and the database in this directory")
    a = ap.parse_args()
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    build = os.environ.get("BUILD_DIR", os.path.join(TOP, "build"))
    if not a.no_build:
        log("installing what is missing and building (scripts/bootstrap)")
        subprocess.run([os.path.join(TOP, "scripts", "bootstrap")], check=True)
        subprocess.run(["make", "-s", "-C", build, "sim/duegate-sim"], check=False)
    sim_bin = os.path.join(build, "sim", "duegate-sim")
    if not os.access(sim_bin, os.X_OK):
        raise SystemExit("demo: %s is missing: the simulator program is not built "
                         "(it is being built on branch wip-sim)" % sim_bin)
    work = a.keep or tempfile.mkdtemp(prefix="duegate-demo.")
    os.makedirs(work, exist_ok=True)
    mail_dir = os.path.join(work, "mail")
    os.makedirs(mail_dir, exist_ok=True)
    try:
        run(a, build, sim_bin, work, mail_dir)
    finally:
        cleanup()
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log("logs and database kept in %s" % work)


def run(a, build, sim_bin, work, mail_dir):
    start = scen.START
    base_cfg = json.load(open(os.path.join(TOP, "examples", "demo.json")))
    dport, smtp_port_hint = free_port(), 0

    smtp = spawn(["/usr/bin/python3", os.path.join(TOP, "tests", "integration", "smtp_sink.py"),
                  "--dir", mail_dir, "--port", str(smtp_port_hint)], os.path.join(work, "smtp.log"))
    smtp_port = int(read_line(smtp, r"^PORT (\d+)", "the SMTP server"))
    log("SMTP server (aiosmtpd) on 127.0.0.1:%d" % smtp_port)

    # one virtual time for the simulator and the daemon: both count real time
    # from this wall-clock instant (each from its own start would put the
    # later one behind by the gap times the rate: 100 ms is 9 minutes here)
    anchor = time.time()
    clock = {"mode": "scaled", "rate": a.rate, "start": start,
             "anchor": dt.datetime.fromtimestamp(anchor, dt.timezone.utc).strftime(
                 "%Y-%m-%dT%H:%M:%S.%fZ")}
    sim_cfg = scen.sim_config(base_cfg, dport, clock, os.path.join(TOP, "templates"))
    with open(os.path.join(work, "sim.json"), "w") as f:
        json.dump(sim_cfg, f, indent=1)
    sim = spawn([sim_bin, "-c", os.path.join(work, "sim.json")], os.path.join(work, "sim.log"))
    sport = int(read_line(sim, r"duegate-sim listening port=(\d+)", "the simulator"))
    sim_url = "http://127.0.0.1:%d" % sport
    log("simulator (Shopify, WhatsApp, Twilio) on %s" % sim_url)

    cfg = scen.daemon_config(base_cfg, TOP, work, dport, sim_url, smtp_port, clock)
    cpath = os.path.join(work, "demo.json")
    with open(cpath, "w") as f:
        json.dump(cfg, f, indent=1)
    token = scen.new_token()  # the admin API's token: in the daemon's environment only
    dlog = os.path.join(work, "daemon.log")
    daemon = spawn([os.path.join(build, "duegate"), "run", "-c", cpath,
                    "--plugin-dir", os.path.join(build, "plugins")], dlog, env=scen.admin_env(token))
    wait_http("http://127.0.0.1:%d/" % dport, "the daemon")
    try:
        aport = scen.admin_port(dlog, daemon)
    except RuntimeError as e:
        raise SystemExit("demo: %s" % e)
    log("daemon on 127.0.0.1:%d, clock x%g from %s (log: %s)" % (
        dport, a.rate, start, dlog if a.keep else "kept with --keep"))
    log("admin API on 127.0.0.1:%d (the demo's operator, %s, acts through it)" % (aport, scen.OPERATOR))
    admin = scen.Admin("http://127.0.0.1:%d" % aport, token)

    _, wa_bodies = scen.wa_templates(os.path.join(TOP, "templates"))
    orders = scen.seed(sim_url)
    log("seeded %d orders through the Shopify persona" % len(orders))
    print()
    print(c("1", "%-16s  %-27s  %-6s %-11s %-9s %s" % ("virtual (UTC)", "customer local", "order",
                                                        "stage", "channel", "what happened")))
    world = World(os.path.join(work, "demo.db"), sim_url, mail_dir, wa_bodies)
    tl = Timeline(world)
    t0 = time.time()
    scen_start_ms = dt.datetime.strptime(start, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=dt.timezone.utc).timestamp() * 1000

    def virtual_now():  # the clock the simulator and the daemon share
        return int(scen_start_ms + (time.time() - anchor) * a.rate * 1000)
    end_wall = t0 + a.minutes * 60
    end_virtual = a.days * 86400 / a.rate
    actor = scen.Customers(sim_url, orders)
    operator = scen.Operator(admin, orders)
    while True:
        time.sleep(0.25)
        if daemon.poll() is not None or sim.poll() is not None:
            log(c("31", "a process ended early (daemon rc=%s, simulator rc=%s); see logs in %s" %
                  (daemon.poll(), sim.poll(), work)))
            break
        cases = tl.step()
        try:
            operator.react(world)  # its action shows on the timeline from eng_actions
        except (OSError, ValueError) as e:
            log(c("31", "the operator's admin API call failed: %s" % e))
        for name, cu, paid_at in actor.react(world, virtual_now):
            cs = next((x for x in cases.values() if x["order_name"] == name), None)
            if cs:
                row(ms_to_dt(paid_at), local_of(paid_at, cs), name, "-", "customer",
                    "customer pays the balance (Shopify checkout)", "32")
        if scen.all_settled(cases, len(orders)) or time.time() - t0 > min(end_virtual, a.minutes * 60):
            tl.step()
            break
        if time.time() > end_wall:
            break
    summary(world)


if __name__ == "__main__":
    main()
