"""The downstream systems of the written policy: three data systems per environment and the models."""

from __future__ import annotations

from typing import Any

ENVIRONMENTS = ("prod", "staging", "dev")
MODELS = "bedrock-models"
MODEL_ARN = "arn:aws:bedrock:*::foundation-model/*"
# system suffix -> classification
DATA_SYSTEMS = {"support-tickets": "confidential", "customer-data": "restricted", "finance-reports": "restricted"}


def system(env: str, suffix: str) -> str:
    return f"{env}-{suffix}"


def bucket(env: str, suffix: str) -> str:
    return f"arn:aws:s3:::acme-{env}-{suffix}"


def objects(env: str, suffix: str) -> str:
    return bucket(env, suffix) + "/*"


def other_nonprod(env: str) -> str:
    """A non-production environment other than `env` (environment crossings that are not into prod)."""
    return "staging" if env != "staging" else "dev"


def policy_systems() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {
        MODELS: {"kind": "ai-model", "description": "Bedrock foundation models", "resources": [MODEL_ARN]},
    }
    for env in ENVIRONMENTS:
        for suffix, classification in DATA_SYSTEMS.items():
            out[system(env, suffix)] = {
                "kind": "data", "environment": env, "classification": classification,
                "resources": [bucket(env, suffix) + "*"],
            }
    return out
