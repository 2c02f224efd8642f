"""The settings the benchmarks run with (`ecrf.settings.local`, from the environment), with
the URLconf that adds the floor of an audited save (bench.floor_urls) after the site's routes."""

from ecrf.settings.local import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
