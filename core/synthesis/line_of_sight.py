"""Projection of 3-D ground motion onto a Sentinel-1 line of sight (section III-B).

Sentinel-1 looks to the right of its track. Over the UK the ascending track
heads about 12 degrees west of north and the descending track about 12
degrees west of south; incidence runs from about 30 to 46 degrees across
the interferometric-wide swath, 39 degrees at mid-swath.
"""
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Geometry:
    """Acquisition geometry: heading (degrees clockwise from north) and incidence (degrees from vertical)."""

    heading_deg: float
    incidence_deg: float

    def unit_vector(self):
        """(east, north, up) unit vector from the ground towards the satellite."""
        look_azimuth = np.radians(self.heading_deg + 90.0)  # right-looking radar
        incidence = np.radians(self.incidence_deg)
        return np.array([-np.sin(incidence) * np.sin(look_azimuth),
                         -np.sin(incidence) * np.cos(look_azimuth),
                         np.cos(incidence)])


ASCENDING = Geometry(heading_deg=-12.0, incidence_deg=39.0)  # Sentinel-1 over the UK, mid-swath
DESCENDING = Geometry(heading_deg=192.0, incidence_deg=39.0)


def to_line_of_sight(east, north, up, geometry):
    """LOS velocity (same units as the inputs), positive towards the satellite.

    ``east``, ``north``, ``up`` are broadcastable displacement components;
    uplift is positive in LOS, as in the velocity maps the paper uses.
    """
    unit_east, unit_north, unit_up = geometry.unit_vector()
    return unit_east * np.asarray(east) + unit_north * np.asarray(north) + unit_up * np.asarray(up)
