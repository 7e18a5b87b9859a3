"""The learner's page (FastAPI, local only): wallet/service/app.py."""
