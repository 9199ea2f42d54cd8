"""Checks of the AWS SAM template (static, plus `sam validate --lint` and `sam build` from .venv-sam)."""
