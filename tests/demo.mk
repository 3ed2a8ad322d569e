# The demo's scenario as an integration test (tests/integration/test_demo.py):
# the SMTP sink, sim/duegate-sim and the daemon on manual clocks.
TESTS += tests/integration/test_demo.py
EXTRA_DIST += tests/integration/test_demo.py bench/shopify-ingest bench/shopify_ingest_gen.py
