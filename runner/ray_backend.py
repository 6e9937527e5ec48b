"""The Ray back-end: folds run as Ray tasks on any node of a cluster, no shared folder needed.

- **Data** travels through Ray's object store: the driver reads each task's prepared
  ``(X, y)`` once, stores it there (``ray.put``) and passes the object reference to every fold
  of the task; the worker receives the tables, never a path on the driver's disk (the
  :class:`~runner.protocol.TaskSpec` sent along has an empty ``data_path``).
- **Devices** are resolved on the worker (:func:`runner.devices.resolve_device` runs inside
  the task), where the GPU is, not on the driver.
- **GPUs** are requested (``num_gpus``, a whole GPU or a fraction) for the configurations whose
  family can use one (:func:`runner.estimators.uses_gpu`) when the cluster reports GPUs and
  the device is not ``cpu``; every other fold asks for one CPU and runs on the CPU.

Each fold comes back with the id of the Ray node that ran it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from metakg.runner.devices import check_device, resolve_device
from metakg.runner.estimators import uses_gpu
from metakg.runner.execute import load_task_data, progress_bar, run_fold, worker_init
from metakg.runner.protocol import FoldResult, TaskSpec

__all__ = ["RaySubmission", "check_gpus_per_task", "fold_on_worker", "gpu_request",
           "plan_submissions", "run_ray"]


@dataclass(frozen=True)
class RaySubmission:
    """One fold as it is submitted to Ray.

    Attributes:
        args: the arguments of :func:`fold_on_worker`: the object reference of the task's
            ``(X, y)``, the task spec (without a data path), the configuration, its id, the
            fold, the device the worker resolves and the time limit.
        num_cpus: CPUs the task asks for.
        num_gpus: GPUs the task asks for (0, a fraction or a whole number).
    """

    args: tuple[Any, ...]
    num_cpus: float
    num_gpus: float


def check_gpus_per_task(gpus_per_task: float) -> float:
    """The GPUs one GPU-capable fold asks for: a fraction in (0, 1] or a whole number.

    Raises:
        ValueError: zero, negative, or a fraction above 1 (Ray accepts neither).
    """
    value = float(gpus_per_task)
    if value <= 0 or (value > 1 and not value.is_integer()):
        raise ValueError(f"gpus_per_task={gpus_per_task!r} is not a GPU request Ray accepts; "
                         "give a fraction in (0, 1] (several folds share a GPU) or a whole "
                         "number.")
    return value


def gpu_request(config: dict[str, Any], *, device: str, cluster_gpus: float,
                gpus_per_task: float) -> float:
    """GPUs one fold of a configuration asks Ray for.

    Args:
        config: the configuration.
        device: ``auto``, ``cpu`` or ``cuda`` (as the batch was asked for, not resolved).
        cluster_gpus: GPUs in the whole cluster (``ray.cluster_resources()["GPU"]``).
        gpus_per_task: what a GPU-capable fold asks for.

    Returns:
        ``gpus_per_task`` for a family that can use a GPU, on a cluster with GPUs, unless the
        device is ``cpu``; 0 otherwise.
    """
    if device == "cpu" or cluster_gpus <= 0 or not uses_gpu(config):
        return 0.0
    return gpus_per_task


def plan_submissions(pending: Sequence[tuple[Any, Any, str, int]], *, put: Callable[[Any], Any],
                     device: str, cluster_gpus: float, gpus_per_task: float,
                     time_limit: float) -> list[RaySubmission]:
    """The Ray tasks of a batch, each task's data put in the object store once.

    Args:
        pending: ``(WorkItem, Configuration, run id, fold)`` for every fold to run.
        put: stores a value and returns its reference (``ray.put``).
        device: ``auto``, ``cpu`` or ``cuda``, as asked for.
        cluster_gpus: GPUs in the cluster.
        gpus_per_task: what a GPU-capable fold asks for.
        time_limit: seconds per fit.

    Returns:
        One :class:`RaySubmission` per pending fold, in order.

    Raises:
        ValueError: ``device="cuda"`` on a cluster that reports no GPU.
    """
    if device.startswith("cuda") and cluster_gpus <= 0:
        raise ValueError(f"device={device!r} was asked for but the Ray cluster reports no GPU "
                         "(ray.cluster_resources() has no 'GPU'); start the nodes with GPUs "
                         "(ray start --num-gpus N) or use device='auto' or 'cpu'.")
    refs: dict[str, Any] = {}
    out = []
    for item, cfg, _run, fold in pending:
        spec: TaskSpec = item.spec
        if spec.task_id not in refs:
            refs[spec.task_id] = put(load_task_data(spec.data_path))
        gpus = gpu_request(item.config, device=device, cluster_gpus=cluster_gpus,
                           gpus_per_task=gpus_per_task)
        # a fold without a GPU of its own runs on the CPU even on a node that has one, so it
        # never takes a GPU that Ray gave to another task; Ray shows a task only the GPUs it
        # was given, numbered from 0, so ``cuda:N`` becomes ``cuda`` there
        worker_device = ("cuda" if device.startswith("cuda") else device) if gpus else "cpu"
        out.append(RaySubmission(
            args=(refs[spec.task_id], dataclasses.replace(spec, data_path=""), item.config,
                  cfg.id, fold, worker_device, time_limit),
            num_cpus=1, num_gpus=gpus))
    return out


def fold_on_worker(data: tuple[Any, Any], spec: TaskSpec, config: dict[str, Any],
                   config_id: str, fold: int, device: str,
                   time_limit: float) -> tuple[FoldResult, str | None]:
    """Evaluate one fold where Ray placed it (the body of the remote task).

    Args:
        data: the task's prepared ``(X, y)``; Ray hands the value of the object reference.
        spec: the task (its ``data_path`` is not read).
        config: the configuration.
        config_id: its id.
        fold: the fold number.
        device: ``auto``, ``cpu`` or ``cuda``, resolved here on the worker.
        time_limit: seconds per fit.

    Returns:
        The fold's result (a device this node lacks is a failed fold, with the node in the
        message) and the id of the Ray node that ran it (``None`` outside Ray).
    """
    worker_init()
    node = _node_id()
    try:
        resolved = resolve_device(device)
    except ValueError as exc:
        return FoldResult(spec.task_id, config_id, fold,
                          error=f"DeviceUnavailable: {exc} (Ray node {node})"), node
    X, y = data
    return run_fold(X, y, spec, config, config_id, fold, resolved, time_limit), node


def _node_id() -> str | None:
    import ray

    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None


def run_ray(pending: list, handle: Callable[[FoldResult, str | None], None], *, jobs: int,
            address: str | None, device: str, time_limit: float, progress: bool,
            gpus_per_task: float = 1.0) -> None:
    """Submit every pending fold to Ray and hand each result to ``handle`` as it arrives.

    Args:
        pending: ``(WorkItem, Configuration, run id, fold)`` for every fold to run.
        handle: called on the driver with each fold's result and the node that ran it.
        jobs: CPUs of a local cluster started here (ignored when joining one).
        address: the cluster to join (``auto``, ``host:port``); ``None`` joins the one this
            process is connected to or starts a local one.
        device: ``auto``, ``cpu`` or ``cuda``, resolved on each worker.
        time_limit: seconds per fit.
        progress: show a progress bar.
        gpus_per_task: what a GPU-capable fold asks for when the cluster has GPUs.

    Raises:
        ValueError: a bad device or GPU request, ``cuda`` on a cluster without GPUs, or more
            GPUs per fold than any node has; nothing is submitted.
    """
    import ray

    check_device(device)
    gpus_per_task = check_gpus_per_task(gpus_per_task)
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 **({} if address else {"num_cpus": max(1, jobs)}))
    # the submitted tasks keep their data in the object store until they finish; the driver
    # holds no reference of its own
    submissions = plan_submissions(pending, put=ray.put, device=device,
                                   cluster_gpus=float(ray.cluster_resources().get("GPU", 0)),
                                   gpus_per_task=gpus_per_task, time_limit=time_limit)
    node_gpus = max((float(n.get("Resources", {}).get("GPU", 0)) for n in ray.nodes() if n.get("Alive")),
                    default=0.0)
    if any(sub.num_gpus > node_gpus for sub in submissions):
        # Ray would wait forever for a node that does not exist
        raise ValueError(f"gpus_per_task={gpus_per_task:g} is more than any node of the Ray cluster "
                         f"has (at most {node_gpus:g}); ask for at most that, or a fraction.")
    remote = ray.remote(fold_on_worker)
    refs = {}
    for (item, cfg, _run, fold), sub in zip(pending, submissions, strict=True):
        ref = remote.options(num_cpus=sub.num_cpus, num_gpus=sub.num_gpus).remote(*sub.args)
        refs[ref] = (item, cfg, fold)
    del submissions, sub
    failed = 0
    with progress_bar(len(refs), progress) as bar:
        tid = bar.add_task("folds", total=len(refs), failed=0)
        remaining = list(refs)
        try:
            while remaining:
                done, remaining = ray.wait(remaining, num_returns=1)
                item, cfg, fold = refs.pop(done[0])
                node = None
                try:
                    result, node = ray.get(done[0])
                except Exception as exc:  # a crashed or lost worker is one failed fold
                    result = FoldResult(item.task.id, cfg.id, fold,
                                        error=f"WorkerCrashed: {type(exc).__name__}: {exc}")
                failed += bool(result.error)
                handle(result, node)
                bar.update(tid, advance=1, failed=failed)
        finally:  # Ctrl-C or a failed write: the folds not handled stop using the cluster
            for ref in remaining:
                ray.cancel(ref, force=True)
