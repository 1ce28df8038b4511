"""FinAI benchmarks: one script per capability, run by ``benchmarks/run.py``."""
