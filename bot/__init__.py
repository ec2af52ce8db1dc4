"""Slack in and out: the Bolt app, listeners, Block Kit, posting and uploading."""

import os

# The sound check's numeric work is many small matrix products, one set per second of sound (jobs/audio).
# OpenBLAS would hand each to helper threads that spin between products on the core ffmpeg is decoding on,
# so every `dailies` process (the CLI, the server, the workers) runs BLAS on one thread unless the operator
# says otherwise. Set here, before anything imports numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
