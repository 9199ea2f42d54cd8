"""Python client for the deployed sockpuppet API: SigV4 signing, automatic S3 uploads, result URLs."""
