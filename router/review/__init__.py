"""What the runbooks were used for, and the quarterly review filled in from it.

    use.py     a runbook's use: alerts and incidents, times to acknowledge and resolve,
               feedback, the steps that did not work (the runbook pages, the review)
    report.py  ``runbook-router review``: the runbook index's quarterly review template,
               filled in, as markdown or JSON

Pure: facts read from the store (router/store/use.py) and the runbooks in, records
and text out.
"""
