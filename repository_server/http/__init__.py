"""The HTTP surfaces (Starlette): inference, management and metrics, one module each."""
