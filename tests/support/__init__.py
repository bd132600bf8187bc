"""Test support shared by the suite, the benchmarks and CI: the stateful fake Graph tenant and its loopback server.

Importable as `tests.support` from the checkout's root (`python -m benchmarks.bench_apply`, pytest's rootdir)."""
