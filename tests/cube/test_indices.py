"""The numpy normalized difference equals the plain expression bit for bit, NaN, zero sums and all."""

from __future__ import annotations

import numpy as np

from skywatch.cube.indices import normalized_difference_array


def test_equals_the_expression_including_nan_and_zero_sums() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random((2, 50, 40), dtype=np.float32)
    a[0, :3] = [np.nan, 0.0, 0.2]
    b[0, :3] = [0.1, 0.0, -0.2]  # NaN input, 0/0, x/0
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = (a - b) / (a + b)
    got = normalized_difference_array(a, b)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    assert np.isnan(got[0, 0]) and np.isnan(got[0, 1]) and np.isinf(got[0, 2])
