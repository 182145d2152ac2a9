"""Could musicnn's timbral convolutions run faster exactly? A Fourier-basis rewrite, timed against conv2d.

    .venv/bin/python benchmarks/bench_fourier_timbral.py [--repeat 10]

A negative result, kept so that it can be rerun. 81 % of musicnn's
arithmetic is its two timbral convolutions: one input channel, kernels of 7
frames x 38 or 67 mels, 204 filters, valid along the 96 mels. Along
frequency such a convolution is a correlation, which is exact as a product
in a 96-point Fourier basis (49 complex bins): 4.4 G multiply-adds per clip
for the two instead of 11.4 G. Here both ways run on one clip's 10 patches
with the checkpoint's kernels (``MSD_musicnn``) and random input, each
followed by the max and min over the valid mels (what the network's max
over frequency needs, whatever the sign of the batch norm after it). The
printed ratio says how much of the 2.6x fewer multiply-adds survives as
time: the products in the Fourier basis have inner dimensions of 14 and 98,
which run far slower per multiply-add than the direct convolution.

Two more exact ways are bounded from below without building them: the
same rewrite with its inverse transform done as real FFTs (scipy's
``irfft``, one per frame and filter) instead of a product, and a whole 2-D
FFT convolution (one inverse 2-D FFT per patch and filter, 200 frames x 96
mels, enough for the 'same' time padding). The script times those inverse
FFTs alone, on random spectra of the right shapes: each is a floor for its
way, before any product.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from bench_musicnn import CORES, pin_to_cores

#: One clip: 10 patches of 187 frames x 96 mels, time zero-padded by 3 frames each side; 7 time taps.
PATCHES, FRAMES, N_MELS, TAPS = 10, 187, 96, 7


def fourier_operands(kernel):
    """The bases and the kernel in the Fourier basis along mels, for :func:`fourier_max_min`.

    Parameters
    ----------
    kernel : np.ndarray [shape=(TAPS, width, 1, filters)]

    Returns
    -------
    tuple of tf.Tensor
        Forward bases cos, sin [shape=(96, 49)]; the kernel as real products for the real and imaginary
        parts [shape=(49, 2 * TAPS, filters)] each; inverse bases [shape=(49, 96 - width + 1)] each.
    """
    import tensorflow as tf

    taps, width, _, filters = kernel.shape
    bins = N_MELS // 2 + 1
    angle = 2 * np.pi * np.outer(np.arange(N_MELS), np.arange(bins)) / N_MELS
    cos, sin = np.cos(angle), np.sin(angle)
    padded = np.zeros((taps, N_MELS, filters))
    padded[:, :width] = kernel[:, :, 0, :]
    real, imag = np.einsum("tnf,nk->tkf", padded, cos), -np.einsum("tnf,nk->tkf", padded, sin)
    # X conj(W) summed over taps: real part Xr Wr + Xi Wi, imaginary part Xi Wr - Xr Wi (rows: Xr taps, Xi taps)
    to_real = np.concatenate([real, imag]).transpose(1, 0, 2)
    to_imag = np.concatenate([-imag, real]).transpose(1, 0, 2)
    valid = N_MELS - width + 1
    weight = np.where((np.arange(bins) == 0) | (np.arange(bins) == bins - 1), 1.0, 2.0)[:, None] / N_MELS
    inverse_angle = 2 * np.pi * np.outer(np.arange(bins), np.arange(valid)) / N_MELS
    arrays = (cos, sin, to_real, to_imag, weight * np.cos(inverse_angle), -weight * np.sin(inverse_angle))
    return tuple(tf.constant(a, dtype=tf.float32) for a in arrays)


def fourier_max_min(x, cos, sin, to_real, to_imag, inverse_cos, inverse_sin):
    """Max and min over the valid mels of the correlation, through the Fourier basis: 2 x [shape=(10, 187, filters)]."""
    import tensorflow as tf

    x_real, x_imag = tf.tensordot(x, cos, 1), -tf.tensordot(x, sin, 1)              # (10, 193, 49)
    taps = [x_real[:, t:t + FRAMES] for t in range(TAPS)] + [x_imag[:, t:t + FRAMES] for t in range(TAPS)]
    stacked = tf.transpose(tf.stack(taps, axis=-1), (2, 0, 1, 3))                    # (49, 10, 187, 14)
    stacked = tf.reshape(stacked, (stacked.shape[0], PATCHES * FRAMES, 2 * TAPS))
    y_real = tf.reshape(tf.matmul(stacked, to_real), (stacked.shape[0], -1))         # (49, 1870 * filters)
    y_imag = tf.reshape(tf.matmul(stacked, to_imag), (stacked.shape[0], -1))
    y = tf.matmul(inverse_cos, y_real, transpose_a=True) + tf.matmul(inverse_sin, y_imag, transpose_a=True)
    shape = (PATCHES, FRAMES, to_real.shape[-1])
    return tf.reshape(tf.reduce_max(y, 0), shape), tf.reshape(tf.reduce_min(y, 0), shape)


def direct_max_min(x, kernel):
    """The same through ``conv2d``: 2 x [shape=(10, 187, filters)]."""
    import tensorflow as tf

    y = tf.nn.conv2d(x[..., None], kernel, 1, "VALID")                               # (10, 187, valid, filters)
    return tf.reduce_max(y, 2), tf.reduce_min(y, 2)


def best_time(function, args, repeat):
    """Least wall time of ``repeat`` calls after a warm-up, and the last outputs."""
    outputs = function(*args)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        outputs = [o.numpy() for o in function(*args)]
        times.append(time.perf_counter() - start)
    return min(times), outputs


def inverse_fft_floors(filters, repeat):
    """Least seconds of the inverse FFTs alone, for one convolution of a clip: {way: seconds}."""
    import scipy.fft

    rng = np.random.default_rng(0)
    bins = N_MELS // 2 + 1
    spectra = {
        "1-D along mels": ((PATCHES * FRAMES * filters, bins), lambda z: scipy.fft.irfft(z, N_MELS, workers=CORES)),
        "2-D": ((PATCHES * filters, 200, bins), lambda z: scipy.fft.irfft2(z, (200, N_MELS), workers=CORES)),
    }
    floors = {}
    for way, (shape, inverse) in spectra.items():
        z = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
        floors[way] = min(_wall_time(inverse, z) for _ in range(max(3, repeat // 2)))
    return floors


def _wall_time(function, argument):
    start = time.perf_counter()
    function(argument)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    cores = pin_to_cores(CORES)
    import tensorflow as tf

    from mer_utils.pretrained.musicnn import Musicnn

    network = Musicnn().network
    x = tf.constant(np.random.default_rng(0).standard_normal((PATCHES, FRAMES + TAPS - 1, N_MELS)), tf.float32)
    direct, fourier = tf.function(direct_max_min), tf.function(fourier_max_min)
    print(f"musicnn timbral convolutions, one clip's {PATCHES} patches, {cores} cores, best of {args.repeat}:")
    totals = np.zeros(2)
    for name in ("timbral_7x38", "timbral_7x67"):
        kernel = network.get_layer(name).kernel.numpy()
        direct_s, expected = best_time(direct, (x, tf.constant(kernel)), args.repeat)
        fourier_s, found = best_time(fourier, (x, *fourier_operands(kernel)), args.repeat)
        difference = max(np.abs(e - f).max() / np.abs(e).max() for e, f in zip(expected, found))
        print(f"  {name}: conv2d {direct_s * 1000:6.1f} ms, Fourier basis {fourier_s * 1000:6.1f} ms "
              f"(largest difference {difference:.1e} of the range)")
        totals += direct_s, fourier_s
    print(f"  both: conv2d {totals[0] * 1000:.1f} ms, Fourier basis {totals[1] * 1000:.1f} ms: "
          f"{totals[0] / totals[1]:.2f}x for 2.6x fewer multiply-adds")
    filters = network.get_layer("timbral_7x38").kernel.shape[-1]
    for way, seconds in inverse_fft_floors(filters, args.repeat).items():
        print(f"  inverse FFTs alone, {way}: {seconds * 1000:.1f} ms per convolution ({2 * seconds * 1000:.1f} ms for "
              f"the two; conv2d does both whole in {totals[0] * 1000:.1f} ms)")


if __name__ == "__main__":
    main()
