"""A city as one project: the city file, reading its inputs, the data audit, the run.

``city.toml`` (:func:`load_city_file`) → :func:`read_inputs` → :func:`audit_city` →
:func:`run_city` (access, circles, grades, KPIs) → :meth:`CityRun.write`.  The CLI, the batch
runner and the web platform are thin callers of these.
"""

from lifecircle.project.audit import AUDIT_COLUMNS, Audit, audit_city
from lifecircle.project.inputs import CityInputs, read_inputs
from lifecircle.project.run import CityRun, run_city
from lifecircle.project.spec import CitySpec, LayerSpec, load_city_file

__all__ = [
    "AUDIT_COLUMNS",
    "Audit",
    "CityInputs",
    "CityRun",
    "CitySpec",
    "LayerSpec",
    "audit_city",
    "load_city_file",
    "read_inputs",
    "run_city",
]
