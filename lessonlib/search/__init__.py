"""The search floor: samplers on each scale (``scales``), search spaces (``spaces``), grid,
random and coarse-to-fine search in a box (``boxes``), random search over a space with
parallel trials (``parallel``), and the capstone's hyperparameters (``settings``). Imports
only the core floor."""
