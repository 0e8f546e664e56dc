"""Where pixels come from. Each source is one adapter behind :class:`skywatch.sources.base.Source`."""
