"""The lessons floor: one module per notebook, named as the notebook without its number
(``03_batch_norm.ipynb`` is ``lessons.batch_norm``). Each holds its notebook's experiments,
``plot_*(..., ax=None) -> Axes`` pictures and widgets; a lesson never imports another
lesson."""
