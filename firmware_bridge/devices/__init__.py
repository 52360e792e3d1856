"""Device drivers: one module per device, listed in firmware_bridge.registry."""
