"""The batch runner: one parameterised notebook run for many parameter sets (`kpitools run spec.yml`).

    spec.py         the batch spec: read, check, expand into runs (relative periods resolved)
    errors.py       BatchError: bad input, nothing runs
    batch.py        run_batch: plan (skip what is unchanged), execute, record
    prepared.py     the data loaded once per batch, kept as a Parquet copy
    executors.py    where runs execute: serial, local worker processes, Dask
    worker.py       a worker process's start-up and shut-down
    run.py          one run: execute the notebook in a fresh kernel, render it
    kernels.py      warm kernels, started ahead of the run that needs them
    fork_server.py  the process that forks those kernels, its imports done once
    manifest.py     manifest.json: what the batch made
    portal.py       index.html: every report of the batch, with its headline KPIs
    progress.py     progress on the terminal

The runner sits above the report layer (kpitools.report renders each run) and never the other way round.
"""
