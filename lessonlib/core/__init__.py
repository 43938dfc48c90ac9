"""The core floor: argument validation, the data sets, gradient checking, and small
process-level helpers (BLAS threads, progress bars, the allocator). Imports nothing else
of lessonlib.
"""
