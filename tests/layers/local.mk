# tests/layers: the layering of runtime/src/<layer>/ (who may include whom, no include cycles
# between modules, drawn as include-graph.dot) and doc/architecture.md listing every source file.
TESTS += tests/layers/include-graph.test
EXTRA_DIST += tests/layers/include-graph.test tests/layers/check_layers.py
CLEANFILES += include-graph.dot
