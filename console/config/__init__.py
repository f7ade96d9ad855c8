"""Configuration: `config.toml` in, a validated, typed `Config` out."""

from console.config.load import EX_CONFIG, ConfigError, find_config, load_config
from console.config.model import Config

__all__ = ["EX_CONFIG", "Config", "ConfigError", "find_config", "load_config"]
