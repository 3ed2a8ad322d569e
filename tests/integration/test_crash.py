#!/usr/bin/env python3
"""A crash between the 200 and the processing loses nothing: orders are
posted as signed Shopify webhooks by the simulator; as soon as every one is
acknowledged the daemon is killed with SIGKILL (no shutdown at all; some
entries may still wait in its inbox: tests/unit/test_inbox covers that
state deterministically, with a child process that dies before its commit), and
restarted with the store's Admin API out of reach (so no backfill can fill
the gap). Every acknowledged order must become exactly one case, from the
daemon's inbox journal alone.

usage: test_crash.py [N]  (default 300); exit 0 when it passes."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simharness as h  # noqa: E402


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    st = h.Stack(smtp=False, sms=False)
    ok = False
    try:
        ids = [5004000000000000000 + i for i in range(n)]
        for i, oid in enumerate(ids):
            h.http("POST", st.sim + "/_sim/shopify/orders",
                   h.order(oid, "+1212557%04d" % i, "k%d@example.com" % i))
        h.wait_for(lambda: h.http("GET", st.sim + "/_sim/stats")["webhooks_in_flight"] == 0,
                   "every webhook acknowledged", timeout=120)
        killed = st.dproc
        killed.kill()  # SIGKILL: no drain, no final commit
        killed.wait()
        st.procs = [(name, p) for name, p in st.procs if p is not killed]
        before = st.db("SELECT COUNT(*) FROM eng_cases")[0][0]
        st.dcfg["stores"]["shop"]["admin_base"] = "http://127.0.0.1:9"
        st.write("duegate.json", st.dcfg)
        st.dlog.truncate(0)
        d = st.start_daemon()
        h.wait_for(lambda: "core ready" in st.daemon_log() or d.poll() is not None,
                   "the restarted daemon ready")
        h.wait_for(lambda: st.db("SELECT COUNT(*) FROM eng_cases")[0][0] >= n
                   or d.poll() is not None, "%d cases after the restart" % n, timeout=120)
        rows = st.db("SELECT order_id, COUNT(*) FROM eng_cases GROUP BY order_id")
        got = {int(r[0]): r[1] for r in rows}
        missing = [i for i in ids if i not in got]
        twice = [i for i, c in got.items() if c != 1]
        if missing or twice or len(got) != n:
            h.fail("missing %d, duplicated %d, cases %d of %d"
                   % (len(missing), len(twice), len(got), n))
        m = re.search(r"inbox\.replay\S* .*entries=(\d+)", st.daemon_log())
        print("crash: %d acknowledged, %d cases at the kill, %d entries replayed from the "
              "inbox after the restart; %d cases, none twice"
              % (n, before, int(m.group(1)) if m else 0, len(got)))
        ok = True
    finally:
        if not st.close(keep=not ok) and ok:
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
