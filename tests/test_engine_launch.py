"""tasks.engine.launch: the launcher's command line, progress read back from rank 0, and a failed
rank's own message in the error (two CPU processes under paddle.distributed.launch)."""
import pytest

from tasks.engine.launch import LaunchError, launcher_command, run_launcher

SCRIPT = """
import paddle.distributed as dist
rank = dist.get_rank()
if rank == 0:   # as tasks.engine.entry: the writer prints its epochs
    print("[epoch] 1/2 loss 1.5e+00", flush=True)
else:
    raise ValueError("rank one cannot read its shard")
"""


def test_command_for_gpus_cpus_and_several_machines(tmp_path):
    gpu = launcher_command("t.py", ["--x", 1], devices=[0, 1, 2, 3], log_dir=tmp_path, gpu=True)
    assert gpu[gpu.index("--devices") + 1] == "0,1,2,3" and gpu[-3:] == ["t.py", "--x", "1"]
    assert gpu[gpu.index("--max_restart") + 1] == "0"
    cpu = launcher_command("t.py", [], devices=[0, 1], log_dir=tmp_path, gpu=False, nnodes=2, master="10.0.0.1:8090",
                           node_rank=1)
    assert cpu[cpu.index("--nproc_per_node") + 1] == "2" and "--devices" not in cpu
    assert cpu[cpu.index("--master") + 1] == "10.0.0.1:8090" and cpu[cpu.index("--rank") + 1] == "1"
    with pytest.raises(ValueError, match="master"):
        launcher_command("t.py", [], devices=[0], log_dir=tmp_path, gpu=False, nnodes=2)


def test_a_failing_rank_is_named_with_its_message(tmp_path):
    (tmp_path / "fail.py").write_text(SCRIPT)
    epochs = []
    cmd = launcher_command(tmp_path / "fail.py", [], devices=[0, 1], log_dir=tmp_path / "logs", gpu=False)
    with pytest.raises(LaunchError, match=r"(?s)rank 1 failed .*workerlog\.1.*rank one cannot read its shard"):
        run_launcher(cmd, tmp_path / "logs", on_epoch=lambda *a: epochs.append(a), cwd=tmp_path)
    assert epochs == [(1, 2, 1.5)]      # rank 0's progress line, streamed
