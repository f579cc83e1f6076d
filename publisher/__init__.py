"""Pure core of publish.py: plans and uploads a generated template set to S3 (client injected)."""
