"""The dense model's plumbing, in one room: provisioning it offline (``install``, ``onnx_export``), running
the checkpoint (``encoder`` on transformers, ``onnx_encoder`` on ONNX Runtime, both with the compact
``tokenizer``) and the ``Embedder`` the rest of the project asks for vectors (``embedding``)."""
