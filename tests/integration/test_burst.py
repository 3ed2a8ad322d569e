#!/usr/bin/env python3
"""Issue 7's burst: 500 WhatsApp touches due at once while the simulator
answers 10% of requests 500 and 10% 429 (limits lifted on both sides). Ends
with every touch sent or dead-lettered and none duplicated: checked in the
daemon's SQLite (read-only) and in what the simulator received.

usage: test_burst.py [N]  (default 500); exit 0 when it passes."""
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simharness as h  # noqa: E402

MIN = 60000


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    st = h.Stack(smtp=False, sms=False, wa_rate=0,
                 wa_extra={"rate_per_second": -1, "pair_spacing_ms": -1,
                           "faults": {"http_500": 0.1, "http_429": 0.1}})
    ok = False
    try:
        orders = [h.order(5002000000000000000 + i, "+1212556%04d" % i, "b%d@example.com" % i)
                  for i in range(n)]
        for o in orders:
            h.http("POST", st.sim + "/_sim/shopify/orders", o)
        h.wait_for(lambda: st.db("SELECT COUNT(*) FROM eng_cases")[0][0] == n,
                   "%d cases" % n, timeout=120)
        st.advance(31 * MIN)  # every first touch is due now
        # retries back off 1 min .. 1 h: walk virtual time until nothing is
        # scheduled or in flight (each step waits, in real time, for quiet)
        for _ in range(200):
            h.wait_for(lambda: st.db("SELECT COUNT(*) FROM eng_touches WHERE status = 1")[0][0]
                       == 0, "no touch left sending", timeout=60)
            pending = st.db("SELECT COUNT(*) FROM eng_touches WHERE status = 0")[0][0]
            if pending == 0:
                break
            st.advance(2 * MIN)
        rows = st.db("SELECT idem_key, status, provider_id, address FROM eng_touches")
        status = collections.Counter(r[1] for r in rows)
        sent = [r for r in rows if r[1] in (2, 3, 4, 5)]
        dead = [r for r in rows if r[1] == 6]
        if len(rows) != n:
            h.fail("%d touches for %d orders: %r" % (len(rows), n, status))
        if len(sent) + len(dead) != n:
            h.fail("touches neither sent nor dead-lettered: %r" % status)
        st.settle()
        got = st.messages()["whatsapp"]
        accepted = [r for r in got if r.get("code") == 0]
        per = collections.Counter((r["to"] or "").lstrip("+") for r in accepted)
        dup = [k for k, v in per.items() if v > 1]
        if dup:
            h.fail("duplicated at the simulator: %r" % dup[:5])
        if len(accepted) != len(sent):
            h.fail("%d accepted at the simulator, %d touches sent" % (len(accepted), len(sent)))
        if set(r[2] for r in sent) != set(r["wamid"] for r in accepted):
            h.fail("provider ids differ between the daemon and the simulator")
        faults = len(got) - len(accepted)
        if faults < n // 20:
            h.fail("only %d faulted requests: the fault injection did not bite" % faults)
        print("ok   burst: %d touches, %d sent, %d dead-lettered, %d faulted requests"
              % (n, len(sent), len(dead), faults))
        ok = True
    except AssertionError as e:
        print("FAIL burst: %s" % e)
        print(st.daemon_log()[-3000:])
    finally:
        ok = st.close() and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
