"""Learned models, one file per network, and the zoo of weights shipped with the package.

Importing a model needs PyTorch (``pip install "expokit[torch]"``).
"""
