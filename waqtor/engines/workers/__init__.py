"""Engines that run in worker processes the gateway starts, watches and stops (see pool.py)."""
