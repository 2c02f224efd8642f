"""Settings for a developer machine: the embedded defaults with DEBUG on."""

from ecrf.settings.base import *  # noqa: F403
from ecrf.settings.env import env_bool

DEBUG = env_bool("DEBUG", True)
