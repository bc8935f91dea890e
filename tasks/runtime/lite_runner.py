"""``LiteRunner``: an x86 ``.nb`` served by one persistent worker in the Lite environment.

paddlelite lives in its own Python (``tasks.runtime.lite_env``), so the main environment
cannot import it. ``tasks.export.lite.run_lite_x86`` starts a process per call (seconds:
interpreter start, model load); a video needs a call per frame, so this runner starts
``lite_worker.py`` once and exchanges arrays with it over pipes (protocol in that file).
It has the runtimes' call signature: ``runner(*arrays) -> [outputs]``.
"""
import json
import os
import subprocess
from pathlib import Path

import numpy as np

from tasks.runtime.lite_env import LiteError, find_lite_python
from tasks.runtime.lite_worker import ERROR_COUNT, read_arrays, read_count, write_arrays

WORKER = Path(__file__).with_name("lite_worker.py")


class LiteRunner:
    """Paddle-Lite (x86 ``.nb``) behind ``runner(*arrays) -> [outputs]``.

    threads: OMP/MKL threads of the worker (Lite's Python MobileConfig has no thread
    setting for x86). The worker ends with ``close()`` or when this object is collected.
    """

    backend = "lite"

    def __init__(self, nb_path, threads=2, lite_python=None):
        self.nb_path = Path(nb_path)
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
        self._proc = subprocess.Popen([str(find_lite_python(lite_python)), str(WORKER), str(self.nb_path)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        line = self._proc.stdout.readline()
        try:
            names = json.loads(line)
        except ValueError:
            self.close()
            raise LiteError(f"the Lite worker for {self.nb_path} exited before loading it "
                            f"(exit {self._proc.returncode}); its errors are above") from None
        if "error" in names:
            self.close()
            raise LiteError(f"Paddle-Lite cannot load {self.nb_path}: {names['error']}")
        self.input_names, self.output_names = names["inputs"], names["outputs"]

    def __call__(self, *arrays):
        if len(arrays) != len(self.input_names):
            raise ValueError(f"model takes inputs {self.input_names}, got {len(arrays)} arrays")
        stdin, stdout = self._proc.stdin, self._proc.stdout
        try:
            write_arrays(stdin, [np.asarray(a, dtype=np.float32) for a in arrays])
            count = read_count(stdout)
            if count == ERROR_COUNT:
                raise LiteError(f"Paddle-Lite failed on {self.nb_path}: "
                                f"{stdout.read(read_count(stdout)).decode(errors='replace')}")
            return read_arrays(stdout, count)
        except (BrokenPipeError, EOFError) as exc:
            raise LiteError(f"the Lite worker for {self.nb_path} died (exit {self._proc.poll()})") from exc

    def close(self):
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc.stdout.close()

    def __del__(self):
        if getattr(self, "_proc", None) is not None and not self._proc.stdout.closed:
            self.close()
