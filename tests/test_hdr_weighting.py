"""Weighting functions of expokit.hdr: values by hand, names, errors."""

from __future__ import annotations

import numpy as np
import pytest

from expokit import InputError
from expokit.hdr import (
    WEIGHTINGS,
    get_weighting,
    weighting_gaussian,
    weighting_tent_clipped,
    weighting_triangle,
    weighting_uniform,
)
from expokit.hdr.weighting import weight_table


def test_table_names_match_functions():
    assert WEIGHTINGS == {
        "triangle": weighting_triangle,
        "gaussian": weighting_gaussian,
        "uniform": weighting_uniform,
        "tent_clipped": weighting_tent_clipped,
    }


@pytest.mark.parametrize("name", sorted(WEIGHTINGS))
def test_range_shape_and_clipped_ends(name):
    z = np.linspace(0.0, 1.0, 257, dtype=np.float32).reshape(257, 1)
    w = WEIGHTINGS[name](z)
    assert w.shape == z.shape and w.dtype == np.float32
    assert (w >= 0).all() and (w <= 1).all()
    # Clipped code values (0 and 1) say "at most" / "at least": never trusted.
    assert w[0, 0] == 0 and w[-1, 0] == 0
    assert w[128, 0] == pytest.approx(1.0)
    # Symmetric about mid-grey.
    np.testing.assert_allclose(w[::-1], w, atol=1e-6)


def test_hand_values():
    # Debevec & Malik eq. 4 with Zmin=0, Zmax=255, divided by 127.5: z=63.75/255 -> 0.5.
    assert weighting_triangle(np.array([0.25]))[0] == pytest.approx(0.5)
    # Robertson: exp(-(4z-2)^2) lowered by exp(-4) and rescaled; at z=0.25: (e^-1 - e^-4)/(1-e^-4)
    e4 = np.exp(-4.0)
    assert weighting_gaussian(np.array([0.25]))[0] == pytest.approx((np.exp(-1) - e4) / (1 - e4),
                                                                     rel=1e-6)
    assert weighting_uniform(np.array([1e-3, 0.5, 0.999])).tolist() == [1.0, 1.0, 1.0]
    assert weighting_tent_clipped(np.array([0.049, 0.05, 0.95, 0.951])).tolist() == \
        pytest.approx([0.0, 0.1, 0.1, 0.0])


def test_out_of_range_values_are_clipped():
    assert weighting_triangle(np.array([-0.5, 1.5])).tolist() == [0.0, 0.0]
    assert weighting_uniform(np.array([-0.5, 1.5])).tolist() == [0.0, 0.0]


def test_unknown_name_lists_valid_names():
    with pytest.raises(InputError, match=r"weighting 'hat' is unknown: use one of \['gaussian'"):
        get_weighting("hat")


def test_callable_passes_through_and_is_checked():
    def mine(z):
        return np.ones_like(z)

    assert get_weighting(mine) is mine
    assert weight_table(mine, 4).tolist() == [1.0, 1.0, 1.0, 1.0]
    with pytest.raises(InputError, match="finite weights >= 0"):
        weight_table(lambda z: -z, 4)
    with pytest.raises(InputError, match="weight 0 to every code"):
        weight_table(lambda z: np.zeros_like(z), 4)
