"""Where the platform's folders are in this checkout, defined once for `buildify dev`, the deploy
generator and the CLI's defaults."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"  # one folder per service: core and every module (manifest.json)
DEPLOY = ROOT / "deploy"  # compose, Traefik and Kubernetes files
