"""Persistent Paddle-Lite worker, executed by the Lite environment's Python (3.10, numpy<2).

It imports only numpy and paddlelite, never the project, so it runs in .venv-lite:

    python lite_worker.py NB

loads the ``.nb`` once, then serves requests on stdin/stdout until stdin closes
(``tasks.runtime.lite_runner.LiteRunner`` is the other end). Messages are binary:

    start:    one JSON line {"inputs": [names], "outputs": [names]}, or {"error": text}
    request:  ``write_arrays`` of the inputs, in the model's input order
    reply:    ``write_arrays`` of the outputs, or ERROR_COUNT and a uint32-prefixed UTF-8 text

``write_arrays``: uint32 n (little-endian), then per array a uint32-prefixed JSON header
{"dtype", "shape"} and the raw C-order bytes. (Not .npy files: numpy writes and reads those
through the file descriptor, around the stream's buffer.) The main environment imports
this module for the same two functions; paddlelite is imported only in ``serve``.

Paddle-Lite and its C++ logs may write to file descriptor 1, so the protocol runs on a
duplicate of the original stdout and fd 1 is pointed at stderr.
"""
import json
import os
import struct
import sys

import numpy as np

ERROR_COUNT = 0xFFFFFFFF


def _read_exact(stream, size):
    data = stream.read(size)
    if len(data) != size:
        raise EOFError
    return data


def write_arrays(stream, arrays):
    parts = [struct.pack("<I", len(arrays))]
    for array in arrays:
        array = np.ascontiguousarray(array)
        header = json.dumps({"dtype": array.dtype.str, "shape": list(array.shape)}).encode()
        parts += [struct.pack("<I", len(header)), header, array.tobytes()]
    stream.write(b"".join(parts))
    stream.flush()


def read_count(stream):
    return struct.unpack("<I", _read_exact(stream, 4))[0]


def read_arrays(stream, count):
    arrays = []
    for _ in range(count):
        header = json.loads(_read_exact(stream, read_count(stream)))
        dtype, shape = np.dtype(header["dtype"]), tuple(header["shape"])
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        arrays.append(np.frombuffer(_read_exact(stream, size), dtype=dtype).reshape(shape))
    return arrays


def _write_error(out, text):
    data = text.encode()
    out.write(struct.pack("<II", ERROR_COUNT, len(data)) + data)
    out.flush()


def serve(nb_path, requests, out):
    import paddlelite.lite as lite

    try:
        config = lite.MobileConfig()
        config.set_model_from_file(nb_path)
        predictor = lite.create_paddle_predictor(config)
        names = {"inputs": list(predictor.get_input_names()), "outputs": list(predictor.get_output_names())}
    except Exception as exc:  # an unreadable or wrong-target .nb
        out.write((json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n").encode())
        out.flush()
        return
    out.write((json.dumps(names) + "\n").encode())
    out.flush()
    while True:
        try:
            arrays = read_arrays(requests, read_count(requests))
        except EOFError:
            return
        try:
            if len(arrays) != len(names["inputs"]):
                raise ValueError(f"model takes inputs {names['inputs']}, got {len(arrays)} arrays")
            for i, array in enumerate(arrays):
                predictor.get_input(i).from_numpy(np.ascontiguousarray(array))
            predictor.run()
            outputs = [predictor.get_output(i).numpy() for i in range(len(names["outputs"]))]
        except Exception as exc:
            _write_error(out, f"{type(exc).__name__}: {exc}")
            continue
        write_arrays(out, outputs)


def main():
    protocol_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.argv[1], sys.stdin.buffer, protocol_out)


if __name__ == "__main__":
    main()
