import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("LESSONLIB_HEADLESS", "1")   # notebooks run by nbval show no progress bars
