"""Every engine method, declared once as a typed parameter struct (see base.py).

Import `engine.api` to get all declarations; `DECLARED` maps method names to them.
Add a module to FAMILIES when you add a method family.
"""

from engine.api import (audio, batch, drums, gansynth, library, melody, mix, models,  # noqa: F401
                        nsynth, soundfont, system, timeline, train, trio)
from engine.api.base import (DECLARED, Declaration, Params, declare, method_of,  # noqa: F401
                             method_of_class, validate)

FAMILIES = (system, audio, drums, melody, trio, gansynth, soundfont, library, nsynth, mix,
            timeline, batch, train, models)
