"""The example repository the Quick start serves, and the script that makes its models."""
