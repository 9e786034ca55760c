"""Listening tests: design (create), a rating server, statistics, reports and CSV export.

``design`` builds a test folder (``test.json``, ``tokens.json``, ``audio/``), ``store`` keeps
the ratings in SQLite, ``server`` is the FastAPI app raters and the admin use, ``stats`` holds
the statistics and ``report`` turns a test folder into an HTML report and CSV files.
"""
