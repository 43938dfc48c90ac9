"""The grader floor: the exercise table (``exercises``), the check framework
(``framework``), one checks module per notebook (``checks``), notebook files
(``notebook_files``), ``release`` and ``grade``. It may import every floor below it."""
