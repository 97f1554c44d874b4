"""The operator benchmark: what the operator costs the API server and the machine, over real HTTP.

``python -m benchmarks.operator [--pipelines N] [--unrelated-secrets M] [--unrelated-service-accounts S]
[--scaling N1,N2,...] [--idle-seconds I] ...`` (``--help`` for every option; benchmarks/README.md for what each
figure means). The emulator (``python -m shipway_sandbox.emulator``), every operator (``python -m shipway
operator run``) and the registries (``docker-registry``) run in processes of their own; this process is a
client of the emulator (its request ledger tells whose request is whose by User-Agent) and of nothing else.

Modules, in the order a run uses them:

* :mod:`~benchmarks.operator.cli`: options, the order of the runs, safety nets;
* :mod:`~benchmarks.operator.cluster`: the emulator (with the shipped RBAC) and operator processes;
* :mod:`~benchmarks.operator.registries`: real registries behind counting proxies;
* :mod:`~benchmarks.operator.workload`: the objects, the minimal writes, the check of what was delivered;
* :mod:`~benchmarks.operator.runs`: one run's phases (start-up, convergence, rotation, idle, restart,
  replicas) and the floor's run;
* :mod:`~benchmarks.operator.floor`: the minimal client the operator is compared with;
* :mod:`~benchmarks.operator.observe`, :mod:`~benchmarks.operator.ledger`: watches and the request ledger;
* :mod:`~benchmarks.operator.report`: latest.json, the table, the plot;
* :mod:`~benchmarks.operator.api`, :mod:`~benchmarks.operator.processes`, :mod:`~benchmarks.operator.common`.
"""
