"""MLServer custom runtime for the comparison: an onnxruntime session behind the V2 protocol.

model-settings.json names it as `mlserver_runtime.OnnxRuntimeModel` with `parameters.uri` the
model file. Inputs and outputs go through MLServer's own NumpyCodec, as a user would write it.
"""

from __future__ import annotations

import onnxruntime
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse
from mlserver.utils import get_model_uri


class OnnxRuntimeModel(MLModel):
    async def load(self) -> bool:
        path = await get_model_uri(self._settings)
        self.session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        self.output_names = [node.name for node in self.session.get_outputs()]
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        feed = {
            request_input.name: NumpyCodec.decode_input(request_input)
            for request_input in payload.inputs
        }
        results = self.session.run(self.output_names, feed)
        return InferenceResponse(
            model_name=self.name,
            id=payload.id,
            outputs=[
                NumpyCodec.encode_output(name, value)
                for name, value in zip(self.output_names, results, strict=True)
            ],
        )
