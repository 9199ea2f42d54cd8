"""The sockpuppet Lambda function: Powertools HTTP API resolver, Pydantic models, S3 payload storage."""
