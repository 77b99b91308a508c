"""plantheme: tag sentences of Chinese local-government plans with their policy theme."""

__version__ = "0.1.0"
