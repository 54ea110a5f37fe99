"""Yardsticks: the least a server can do for the same job, measured in the same run as the gateway."""
