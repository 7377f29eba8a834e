# examples/observability: alert rules for the call metrics, unit-tested with promtool.
EXTRA_DIST += examples/observability/alerts.yml examples/observability/alerts_test.yml \
	examples/observability/alerts.test examples/observability/README.md
TESTS += examples/observability/alerts.test
