"""Static screens served by the app: the control-room dashboard."""
