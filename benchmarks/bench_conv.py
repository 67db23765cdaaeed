"""Convolution three ways, side by side: loops, vectorised NumPy, MXNet.

One ResNet-sized layer (a batch of 8 images, 64 channels, 56x56, 64 filters of 3x3, padding 1),
float32 throughout. Prints each time and the ratios. Goals (issue 3): vectorised within 3x of
MXNet; loops at least 100x slower than vectorised.

The loop version would take minutes on the whole batch, so it is timed on one image and
multiplied by the batch size (its cost is exactly linear in the number of images); the output
says so. The other two are timed on the whole batch, best of a few runs after a warm-up.

Run: python benchmarks/bench_conv.py [--repeat 5]
"""
import argparse
import time

import course_utils  # noqa: F401  (before mxnet: sets the thread count and MXNET_HOME)
import mxnet as mx
import numpy as np

from course_utils import benchmark, config, scratch

N, C, H, W, F, K, PAD = 8, 64, 56, 56, 64, 3, 1


def main(repeat=5):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, C, H, W), dtype=np.float32)
    weight = rng.standard_normal((F, C, K, K), dtype=np.float32) * 0.05
    b = rng.standard_normal(F, dtype=np.float32)
    X_mx, W_mx, b_mx = mx.nd.array(X), mx.nd.array(weight), mx.nd.array(b)

    def run_mxnet():
        # wait_to_read: MXNet runs asynchronously; wait for the result before stopping the clock.
        return mx.nd.Convolution(X_mx, W_mx, b_mx, kernel=(K, K), num_filter=F,
                                 pad=(PAD, PAD)).wait_to_read()

    t_mxnet = benchmark.time_call(run_mxnet, repeats=repeat, reduce="min")
    t_vec = benchmark.time_call(lambda: scratch.conv2d(X, weight, b, padding=PAD), repeats=repeat,
                                 reduce="min")
    start = time.perf_counter()
    one = scratch.conv2d_naive(X[:1], weight, b, padding=PAD)
    t_naive = (time.perf_counter() - start) * N

    # The three must agree before their times mean anything.
    ours = scratch.conv2d(X, weight, b, padding=PAD)
    theirs = mx.nd.Convolution(X_mx, W_mx, b_mx, kernel=(K, K), num_filter=F, pad=(PAD, PAD)).asnumpy()
    error = np.abs(ours - theirs).max() / np.abs(theirs).max()
    assert error < 1e-5, f"conv2d differs from MXNet by {error:.2g} (relative)"
    assert np.abs(one - ours[:1]).max() / np.abs(theirs).max() < 1e-5, "conv2d_naive differs"

    flops = 2 * N * F * H * W * C * K * K
    print(f"layer: X ({N}, {C}, {H}, {W}) float32, W ({F}, {C}, {K}, {K}), padding {PAD}: "
          f"{flops / 1e9:.2f} GFLOP; {config.THREADS} threads; best of {repeat}")
    print(f"  mx.nd.Convolution      {t_mxnet * 1e3:10.1f} ms")
    print(f"  scratch.conv2d         {t_vec * 1e3:10.1f} ms")
    print(f"  scratch.conv2d_naive   {t_naive * 1e3:10.1f} ms   (timed on 1 image, x{N})")
    print(f"vectorised / MXNet : {t_vec / t_mxnet:7.1f}x   (goal: <= 3x)")
    print(f"loops / vectorised : {t_naive / t_vec:7.0f}x   (goal: >= 100x)")
    print(f"loops / MXNet      : {t_naive / t_mxnet:7.0f}x")
    return {"mxnet": t_mxnet, "vectorised": t_vec, "naive": t_naive}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per method (best is kept)")
    main(parser.parse_args().repeat)
