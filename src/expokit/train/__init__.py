"""Training machinery: simulated brackets, frozen configs, the training loop, checkpoints.

The simulator (:mod:`expokit.train.simulate`) needs only NumPy and OpenCV; the loop
(:mod:`expokit.train.loop`) needs PyTorch.
"""
