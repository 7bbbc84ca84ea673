"""Kubernetes pod-watch peer discovery for groupcache."""
