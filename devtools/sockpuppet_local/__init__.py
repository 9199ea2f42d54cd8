"""Local stack without Docker: Lambda RIE pool + HTTP front on 127.0.0.1 + moto S3 (development only)."""
