"""Gateway integration: Traefik's HTTP provider reads module routes from core's registry."""
