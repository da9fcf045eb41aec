"""Simulated photographs with known ground truth: synthetic scenes, cameras and brackets.

* :mod:`expokit.simulate.scenes`: :func:`render_scene` (a synthetic HDR scene with exactly
  known radiance) and :func:`photograph` (an ideal sRGB camera: a list of noise-free shots).
* :mod:`expokit.simulate.camera`: the simulated :class:`Camera` (responses, ISO-dependent
  Poisson-Gaussian noise, JPEG), :func:`render_shot`, :func:`load_radiance`,
  :func:`auto_exposure_time`.
* :mod:`expokit.simulate.bracket`: :func:`simulate_bracket` (a :class:`SimulatedBracket` with
  camera shake, moving objects, their masks and the ground truth) and
  :func:`simulate_exposures`.

Used by the demo, the tests, the benchmarks and the training recipes; NumPy and OpenCV only.

>>> shots = photograph(render_scene(32, 48), [0.25, 1.0])
>>> [s.dtype.name for s in shots], shots[0].shape
(['uint8', 'uint8'], (32, 48, 3))
"""

from __future__ import annotations

from .bracket import SimulatedBracket, simulate_bracket, simulate_exposures
from .camera import (
    RESPONSES,
    Camera,
    Response,
    add_sensor_noise,
    apply_response,
    auto_exposure_time,
    curve_from_response,
    inverse_response,
    load_radiance,
    noise_model,
    random_camera,
    render_shot,
)
from .scenes import camera_response_srgb, photograph, render_scene

__all__ = [
    "RESPONSES",
    "Camera",
    "Response",
    "SimulatedBracket",
    "add_sensor_noise",
    "apply_response",
    "auto_exposure_time",
    "camera_response_srgb",
    "curve_from_response",
    "inverse_response",
    "load_radiance",
    "noise_model",
    "photograph",
    "random_camera",
    "render_scene",
    "render_shot",
    "simulate_bracket",
    "simulate_exposures",
]
