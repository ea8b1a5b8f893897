"""Every engine method, declared once as a typed parameter struct (see base.py).

Import `engine.api` to get all declarations; `DECLARED` maps method names to them.
Add a module to FAMILIES when you add a method family.
"""

from engine.api import (audio, drums, gansynth, library, melody, mix, models, nsynth,  # noqa: F401
                        system, timeline)
from engine.api.base import (DECLARED, Declaration, Params, declare, method_of,  # noqa: F401
                             method_of_class, validate)

FAMILIES = (system, audio, drums, melody, gansynth, library, nsynth, mix, timeline, models)
