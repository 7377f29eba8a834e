"""Python stubs of gRPC's interop service (grpc/testing/test.proto), made on demand.

The stubs are generated with protoc and grpc_python_plugin from gRPC's
official protos, never into the source tree: into $CGRPC_INTEROP_PYGEN when it
is set (the test scripts point it at a scratch directory, shared by server and
client), otherwise into a private temporary directory removed at exit.

Environment: GRPC_PROTO_DIR (default /usr/share/grpc-proto), PROTOC (default
protoc on PATH), GRPC_PYTHON_PLUGIN (default grpc_python_plugin on PATH).

Run as a script (`python3 interop_pb.py DIR`) to generate into DIR and exit.
"""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile

PROTOS = (
    "grpc/testing/empty.proto",
    "grpc/testing/messages.proto",
    "grpc/testing/test.proto",
)
OUTPUTS = (
    "grpc/testing/empty_pb2.py",
    "grpc/testing/messages_pb2.py",
    "grpc/testing/test_pb2.py",
    "grpc/testing/test_pb2_grpc.py",
)


def _tool(env_name, default):
    path = os.environ.get(env_name) or shutil.which(default)
    if not path:
        raise RuntimeError("%s not found (set %s)" % (default, env_name))
    return path


def generate(out_dir):
    """Generates the stubs into out_dir (created if needed).  Atomic per
    directory: stubs are written to a scratch directory and moved in."""
    proto_dir = os.environ.get("GRPC_PROTO_DIR") or "/usr/share/grpc-proto"
    protoc = _tool("PROTOC", "protoc")
    plugin = _tool("GRPC_PYTHON_PLUGIN", "grpc_python_plugin")
    os.makedirs(out_dir, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix=".pygen-", dir=out_dir)
    try:
        cmd = [protoc, "-I" + proto_dir, "--python_out=" + scratch,
               "--grpc_python_out=" + scratch,
               "--plugin=protoc-gen-grpc_python=" + plugin] + list(PROTOS)
        run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True)
        if run.returncode != 0:
            raise RuntimeError("protoc failed: %s\n%s" % (" ".join(cmd), run.stdout))
        os.makedirs(os.path.join(out_dir, "grpc", "testing"), exist_ok=True)
        for rel in OUTPUTS:
            os.replace(os.path.join(scratch, rel), os.path.join(out_dir, rel))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _complete(out_dir):
    return all(os.path.isfile(os.path.join(out_dir, rel)) for rel in OUTPUTS)


def load():
    """Returns the modules (empty_pb2, messages_pb2, test_pb2_grpc)."""
    out_dir = os.environ.get("CGRPC_INTEROP_PYGEN")
    if not out_dir:
        out_dir = tempfile.mkdtemp(prefix="cgrpc-interop-pygen-")
        atexit.register(shutil.rmtree, out_dir, True)
    if not _complete(out_dir):
        generate(out_dir)
    # The generated modules live in the package grpc.testing, but "grpc" is
    # grpcio's own package; add our directory to its search path so that
    # grpc.testing (a namespace package without __init__.py) is found there.
    import grpc
    sub = os.path.join(os.path.abspath(out_dir), "grpc")
    if sub not in grpc.__path__:
        grpc.__path__.append(sub)
    from grpc.testing import empty_pb2, messages_pb2, test_pb2_grpc
    return empty_pb2, messages_pb2, test_pb2_grpc


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: %s OUT_DIR" % sys.argv[0])
    try:
        generate(sys.argv[1])
    except RuntimeError as e:
        sys.exit(str(e))
