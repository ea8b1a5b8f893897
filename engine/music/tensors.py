"""What a converter returns: model input/output tensors, one pair per extracted window."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.errors import BadInput


@dataclass
class ConverterTensors:
    """`inputs[i]` feeds the encoder, `outputs[i]` is the decoder's target for window i.
    Each is [steps, depth]."""

    inputs: list[np.ndarray] = field(default_factory=list)
    outputs: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.inputs)

    def extend(self, other: "ConverterTensors") -> None:
        self.inputs.extend(other.inputs)
        self.outputs.extend(other.outputs)

    def limit(self, n: int | None) -> "ConverterTensors":
        return self if n is None else ConverterTensors(self.inputs[:n], self.outputs[:n])

    def single(self, what: str, needs: str) -> tuple[np.ndarray, np.ndarray]:
        """The one window an encoder call needs (magenta's TrainedModel.encode rule).

        `what` names the input (a file name or "pattern"), `needs` says what is
        expected, e.g. "exactly 2 bars of 4/4 drums"."""
        if len(self) == 1:
            return self.inputs[0], self.outputs[0]
        if not len(self):
            raise BadInput(f"{what}: nothing the model can use; it needs {needs}",
                           windows=0)
        raise BadInput(f"{what}: {len(self)} different windows found; it needs {needs} "
                       f"(trim it first)", windows=len(self))


def onehot(indices: np.ndarray | list[int], depth: int) -> np.ndarray:
    idx = np.asarray(indices, dtype=np.int64)
    out = np.zeros((len(idx), depth), dtype=bool)
    out[np.arange(len(idx)), idx] = True
    return out
